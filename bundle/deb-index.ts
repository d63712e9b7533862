// A Debian repository's package index, read the way apt reads it: the signed InRelease
// (checked with gpgv against the repository's key), the SHA256 of the Packages file
// it lists, then the Packages stanzas. Flat repositories (`deb URL ./`, as pkgs.k8s.io
// is) and dists/SUITE/COMPONENT ones both. The signed files are kept as published, with
// their paths in the repository, so a bundle can carry them and the hosts' apt check
// the packages against the repository's key itself.
import { gunzipSync } from 'node:zlib';
import { fetchBytes } from '../base/download.js';
import { RepositoryError, verifyClearsigned } from './signature.js';
import { sha256 } from '../base/digest.js';

export interface DebRepository {
  readonly url: string;
  /** `./` or `/` for a flat repository; otherwise a suite such as bookworm. */
  readonly dist: string;
  readonly components: readonly string[];
  /** The repository's signing key (ASCII-armoured or binary OpenPGP), as bytes. */
  readonly key: Buffer;
}

export interface DebPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly priority: string;
  readonly depends: string;
  readonly preDepends: string;
  readonly provides: string;
  /** Absolute URL of the .deb. */
  readonly url: string;
  /** Where the .deb is relative to the repository's base URL (as the index names it). */
  readonly repositoryPath: string;
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
  /** The stanza as the repository wrote it, for the bundle's own Packages index. */
  readonly stanza: string;
}

export const isFlat = (repo: DebRepository) => repo.dist === './' || repo.dist === '/' || repo.dist.endsWith('/');
const base = (url: string) => url.replace(/\/+$/, '');

function releaseUrl(repo: DebRepository): string {
  return isFlat(repo)
    ? `${base(repo.url)}/${repo.dist.replace(/^\.?\/$/, '')}`
    : `${base(repo.url)}/dists/${repo.dist}/`;
}

function releaseHashes(release: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  let inSha = false;
  for (const line of release.split('\n')) {
    if (/^\S/.test(line)) inSha = line.startsWith('SHA256:');
    else if (inSha) {
      const [sha256, size, path] = line.trim().split(/\s+/);
      if (sha256 && size && path) out.set(path.replace(/^\.\//, ''), { sha256, size: Number(size) });
    }
  }
  return out;
}

export function parseStanzas(text: string): Map<string, string>[] {
  return text
    .split(/\n\s*\n/)
    .filter((s) => s.trim())
    .map((stanza) => {
      const fields = new Map<string, string>();
      let last = '';
      for (const line of stanza.split('\n')) {
        if (/^\s/.test(line) && last) fields.set(last, `${fields.get(last)}\n${line}`);
        else {
          const colon = line.indexOf(':');
          if (colon < 0) continue;
          last = line.slice(0, colon);
          fields.set(last, line.slice(colon + 1).trim());
        }
      }
      fields.set('__stanza', stanza.trim());
      return fields;
    });
}

/** A file of the repository's signed index, byte for byte, and its path under the repository's base URL. */
export interface SignedIndexFile {
  readonly path: string;
  readonly bytes: Buffer;
}

export interface DebIndex {
  readonly packages: DebPackage[];
  /** InRelease, then each Packages file it names that was read (checked by its SHA256 there). */
  readonly signedFiles: SignedIndexFile[];
}

/** The index directory's path under the repository's base: `DIST/` for a flat one, `dists/SUITE/` otherwise. */
function releaseDir(repo: DebRepository): string {
  return isFlat(repo) ? repo.dist.replace(/^\.?\/$/, '') : `dists/${repo.dist}/`;
}

export async function readIndex(repo: DebRepository, architecture: string): Promise<DebIndex> {
  const where = `repository ${repo.url} ${repo.dist}`;
  const releaseBase = releaseUrl(repo);
  const inRelease = await fetchBytes(`${releaseBase}InRelease`);
  const release = await verifyClearsigned(repo.key, inRelease, 'InRelease', where);
  const signedFiles: SignedIndexFile[] = [{ path: `${releaseDir(repo)}InRelease`, bytes: inRelease }];
  const hashes = releaseHashes(release);
  const indexPaths = isFlat(repo) ? [''] : repo.components.map((c) => `${c}/binary-${architecture}/`);
  const packages: DebPackage[] = [];
  for (const dir of indexPaths) {
    const plain = hashes.get(`${dir}Packages`);
    const gz = hashes.get(`${dir}Packages.gz`);
    const pick = plain ? { path: `${dir}Packages`, ...plain } : gz ? { path: `${dir}Packages.gz`, ...gz } : undefined;
    if (!pick)
      throw new RepositoryError(
        `${where}: its Release lists no ${dir}Packages or ${dir}Packages.gz (SHA256) ` +
          `— is ${architecture} published there?`,
      );
    const bytes = await fetchBytes(`${releaseBase}${pick.path}`);
    const have = sha256(bytes);
    if (have !== pick.sha256)
      throw new RepositoryError(`${where}: ${pick.path} has sha256 ${have}, its signed Release says ${pick.sha256}`);
    signedFiles.push({ path: `${releaseDir(repo)}${pick.path}`, bytes });
    const text = (pick.path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    for (const fields of parseStanzas(text)) {
      const arch = fields.get('Architecture') ?? '';
      if (arch !== architecture && arch !== 'all') continue;
      const filename = fields.get('Filename') ?? '';
      const sha256 = fields.get('SHA256') ?? '';
      if (!filename || !/^[0-9a-f]{64}$/.test(sha256)) continue;
      packages.push({
        name: fields.get('Package') ?? '',
        version: fields.get('Version') ?? '',
        architecture: arch,
        priority: fields.get('Priority') ?? 'optional',
        depends: fields.get('Depends') ?? '',
        preDepends: fields.get('Pre-Depends') ?? '',
        provides: fields.get('Provides') ?? '',
        // The Filename is a path, not a URL: apt quotes it (an epoch's "%3a" in a flat
        // repository's file names must reach the server as "%253a", a "+" as "%2B").
        url:
          `${base(repo.url)}/${isFlat(repo) ? `${repo.dist.replace(/^\.?\/$/, '')}` : ''}` +
          filename.replace(/^\.\//, '').split('/').map(encodeURIComponent).join('/'),
        repositoryPath: `${isFlat(repo) ? releaseDir(repo) : ''}${filename.replace(/^\.\//, '')}`,
        filename: filename.replace(/^.*\//, ''),
        size: Number(fields.get('Size') ?? 0),
        sha256,
        stanza: fields.get('__stanza')!,
      });
    }
  }
  return { packages, signedFiles };
}
