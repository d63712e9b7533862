// Upstream files kubestrap applies as they are (Rook's CRDs, common RBAC, CSI operator,
// operator), fetched on this machine from the pinned release (or a mirror), cached in
// the cluster's working directory. Rook publishes no checksums, so the first fetch
// records each file's sha256 in upstream.lock.json and every later fetch must match
// it: a release tag that changed under us, or a mirror serving something else, stops
// the run instead of being applied.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rookManifestPath } from '../bundle/coverage.js';
import { readMembers } from '../bundle/read.js';
import type { VerifiedBundle } from '../provisioners/bundle.js';
import type { ManifestFile } from '../provisioners/rook.js';
import type { ClusterModel } from '../spec/model.js';
import { ROOK_FILES } from '../spec/versions.js';
import { writeAtomic } from '../base/atomic-write.js';
import { sha256 } from '../base/digest.js';
import { fetchBytes, RetriesExhaustedError } from '../base/download.js';

export interface UpstreamFile {
  readonly name: string;
  readonly url: string;
  readonly content: string;
  readonly sha256: string;
}

export class UpstreamError extends Error {
  readonly exitCode = 1;
}

type Lock = Record<string, { url: string; sha256: string }>;

async function download(url: string, attempts = 3): Promise<string> {
  try {
    return (await fetchBytes(url, { attempts, timeoutMs: 60_000 })).toString('utf8');
  } catch (error) {
    const tried = error instanceof RetriesExhaustedError ? error.attempts : 1;
    const reason = error instanceof RetriesExhaustedError ? error.reason : (error as Error).message;
    throw new UpstreamError(
      `cannot fetch ${url} (attempt ${tried} of ${attempts}, the last): ${reason} ` +
        `— check the network, or set spec.storage.rook.manifestBase to a mirror`,
    );
  }
}

/** Rook's image list for the release (deploy/examples/images.txt), for bundles. */
export const ROOK_IMAGE_LIST = 'images.txt';

export async function rookManifests(
  model: ClusterModel,
  workDir: string,
  names: readonly string[] = ROOK_FILES,
): Promise<UpstreamFile[]> {
  const dir = join(workDir, 'upstream', `rook-${model.rook.version}`);
  mkdirSync(dir, { recursive: true });
  const lockPath = join(workDir, 'upstream.lock.json');
  const lock: Lock = existsSync(lockPath) ? (JSON.parse(readFileSync(lockPath, 'utf8')) as Lock) : {};
  const files: UpstreamFile[] = [];
  for (const name of names) {
    const key = `rook-${model.rook.version}/${name}`;
    const url = `${model.rook.manifestBase}/${name}`;
    const cached = join(dir, name);
    const recorded = lock[key];
    let content = existsSync(cached) ? readFileSync(cached, 'utf8') : undefined;
    if (content === undefined || !recorded || sha256(content) !== recorded.sha256) content = await download(url);
    const digest = sha256(content);
    if (recorded && recorded.sha256 !== digest) {
      throw new UpstreamError(
        `${url} has sha256 ${digest}, but ${lockPath} recorded ${recorded.sha256} from ${recorded.url}. ` +
          `The file changed upstream or the mirror serves another file; ` +
          `compare them, then delete its entry from the lock file to accept the new one`,
      );
    }
    await writeAtomic(cached, content, 0o644);
    lock[key] = { url, sha256: digest };
    files.push({ name, url, content, sha256: digest });
  }
  await writeAtomic(lockPath, `${JSON.stringify(lock, null, 2)}\n`, 0o644);
  return files;
}

/**
 * The Rook manifests an up applies: from the bundle on an offline install (checked with
 * it), else fetched through the lock above.
 */
export async function rookManifestsFor(
  model: ClusterModel,
  workDir: string,
  bundle: VerifiedBundle | undefined,
): Promise<ManifestFile[]> {
  if (!model.rook.enabled) return [];
  if (!bundle) return rookManifests(model, workDir);
  const members = await readMembers(bundle.localPath, (name) =>
    ROOK_FILES.some((n) => rookManifestPath(model, n) === name),
  );
  return ROOK_FILES.map((name) => ({ name, content: members.get(rookManifestPath(model, name))!.toString('utf8') }));
}
