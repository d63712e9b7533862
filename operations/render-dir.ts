// Writes a render into a directory: each file atomically (temp file, fsync, rename)
// with its mode, and files that an earlier render of this cluster made but this one
// does not are removed. The old manifest is read from a directory anyone may have
// written to (render -o DIR), so it only narrows what is removed, never widens it: a
// file goes only if the manifest is this cluster's, its path is a plain relative path
// inside the directory reached through no symlink, and its bytes are still exactly
// what the manifest says we wrote.
import { lstat, readFile, rm, chmod } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { writeAtomic } from '../base/atomic-write.js';
import { sha256 } from '../base/digest.js';
import { makeDir } from '../base/make-dir.js';
import { MANIFEST_PATH, type RenderedFile, type RenderManifest } from '../templates/render.js';
import { InvalidInputError } from './errors.js';

export interface WriteSummary {
  readonly directory: string;
  readonly written: string[];
  readonly unchanged: string[];
  readonly removed: string[];
}

export async function currentHash(path: string): Promise<string | undefined> {
  try {
    return sha256(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

async function previousManifest(directory: string): Promise<RenderManifest | undefined> {
  try {
    if (!(await lstat(join(directory, MANIFEST_PATH))).isFile()) return undefined;
    const manifest = JSON.parse(await readFile(join(directory, MANIFEST_PATH), 'utf8')) as RenderManifest;
    return manifest.kind === 'RenderManifest' && Array.isArray(manifest.files) ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** `a/b/c`: no absolute path, no `.` or `..` or empty segment, no backslash. */
function plainRelative(path: unknown): path is string {
  if (typeof path !== 'string' || !path || isAbsolute(path) || path.includes('\\') || path.includes('\0')) return false;
  return (
    path.split('/').every((part) => part !== '' && part !== '.' && part !== '..') && posix.normalize(path) === path
  );
}

/** The first component of `path` under `directory` that is a symlink, if any (missing ones are fine). */
async function symlinkOnPath(directory: string, path: string): Promise<string | undefined> {
  let at = directory;
  for (const part of path.split('/')) {
    at = join(at, part);
    try {
      if ((await lstat(at)).isSymbolicLink()) return at;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export async function writeRender(
  directory: string,
  files: readonly RenderedFile[],
  cluster: string,
): Promise<WriteSummary> {
  const summary: WriteSummary = { directory, written: [], unchanged: [], removed: [] };
  await makeDir(directory, 0o755);
  const previous = await previousManifest(directory);
  for (const file of files) {
    const link = await symlinkOnPath(directory, file.path);
    if (link) {
      throw new InvalidInputError(
        `${link} is a symbolic link; kubestrap writes ${file.path} only as a plain file inside ${directory} ` +
          '— remove the link or render into another directory',
      );
    }
    const path = join(directory, file.path);
    if ((await currentHash(path)) === sha256(file.content)) {
      await chmod(path, file.mode);
      summary.unchanged.push(file.path);
    } else {
      await writeAtomic(path, file.content, file.mode);
      summary.written.push(file.path);
    }
  }
  if (previous?.cluster !== cluster) return summary;
  const current = new Set(files.map((f) => f.path));
  for (const entry of previous.files) {
    if (!plainRelative(entry.path) || current.has(entry.path) || entry.path === MANIFEST_PATH) continue;
    if (await symlinkOnPath(directory, entry.path)) continue;
    const path = join(directory, entry.path);
    const stat = await lstat(path).catch(() => undefined);
    if (!stat?.isFile() || (await currentHash(path)) !== entry.sha256) continue;
    await rm(path, { force: true });
    summary.removed.push(entry.path);
  }
  return summary;
}
