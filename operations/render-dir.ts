// Writes a render into a directory: each file atomically (temp file, fsync, rename)
// with its mode, and files that an earlier render made but this one does not are
// removed — only those the old manifest lists, never anything else.
import { chmod, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../base/atomic-write.js';
import { sha256 } from '../base/digest.js';
import { MANIFEST_PATH, type RenderedFile, type RenderManifest } from '../templates/render.js';

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
    const manifest = JSON.parse(await readFile(join(directory, MANIFEST_PATH), 'utf8')) as RenderManifest;
    return manifest.kind === 'RenderManifest' ? manifest : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRender(directory: string, files: readonly RenderedFile[]): Promise<WriteSummary> {
  const summary: WriteSummary = { directory, written: [], unchanged: [], removed: [] };
  const previous = await previousManifest(directory);
  for (const file of files) {
    const path = join(directory, file.path);
    if ((await currentHash(path)) === sha256(file.content)) {
      await chmod(path, file.mode);
      summary.unchanged.push(file.path);
    } else {
      await writeAtomic(path, file.content, file.mode);
      summary.written.push(file.path);
    }
  }
  const current = new Set(files.map((f) => f.path));
  for (const entry of previous?.files ?? []) {
    if (current.has(entry.path) || entry.path.includes('..')) continue;
    await rm(join(directory, entry.path), { force: true });
    summary.removed.push(entry.path);
  }
  return summary;
}
