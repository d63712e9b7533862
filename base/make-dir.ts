// Directories with the mode asked for, whatever the umask: mkdir's mode is narrowed by
// the umask (and under umask 000 the default is 0777), so each directory this call
// creates is chmodded afterwards. Directories that already existed are left as they are.
import { chmodSync, mkdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** From `first` (the outermost directory mkdir created) down to `path`. */
function created(first: string | undefined, path: string): string[] {
  if (first === undefined) return [];
  const chain: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === resolve(first) || dir === dirname(dir)) return chain;
  }
}

export async function makeDir(path: string, mode: number): Promise<void> {
  for (const dir of created(await mkdir(path, { recursive: true, mode }), path)) await chmod(dir, mode);
}

export function makeDirSync(path: string, mode: number): void {
  for (const dir of created(mkdirSync(path, { recursive: true, mode }), path)) chmodSync(dir, mode);
}
