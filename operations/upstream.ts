// Upstream files kubestrap applies as they are (Rook's CRDs, common RBAC, CSI operator,
// operator), fetched on this machine from the pinned release (or a mirror), cached in
// the cluster's working directory. Rook publishes no checksums, so the first fetch
// records each file's sha256 in upstream.lock.json and every later fetch must match
// it: a release tag that changed under us, or a mirror serving something else, stops
// the run instead of being applied.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterModel } from '../spec/model.js';
import { ROOK_FILES } from '../spec/versions.js';


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
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      if (!response.ok) throw new UpstreamError(`GET ${url}: HTTP ${response.status}`);
      return await response.text();
    } catch (error) {
      if (error instanceof UpstreamError || attempt >= attempts) {
        throw new UpstreamError(`cannot fetch ${url} (attempt ${attempt} of ${attempts}, the last): ${(error as Error).message} — check the network, or set spec.storage.rook.manifestBase to a mirror`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

function writeAtomic(path: string, content: string): void {
  writeFileSync(`${path}.part`, content, { mode: 0o644 });
  renameSync(`${path}.part`, path);
}

/** Rook's image list for the release (deploy/examples/images.txt), for bundles. */
export const ROOK_IMAGE_LIST = 'images.txt';

export async function rookManifests(model: ClusterModel, workDir: string, names: readonly string[] = ROOK_FILES): Promise<UpstreamFile[]> {
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
    const digest = (text: string) => createHash('sha256').update(text).digest('hex');
    if (content === undefined || !recorded || digest(content) !== recorded.sha256) content = await download(url);
    const sha256 = digest(content);
    if (recorded && recorded.sha256 !== sha256) {
      throw new UpstreamError(
        `${url} has sha256 ${sha256}, but ${lockPath} recorded ${recorded.sha256} from ${recorded.url}. The file changed upstream or the mirror serves another file; compare them, then delete its entry from the lock file to accept the new one`,
      );
    }
    writeAtomic(cached, content);
    lock[key] = { url, sha256 };
    files.push({ name, url, content, sha256 });
  }
  writeAtomic(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
  return files;
}
