// Writing a file so a reader (or a crash) sees the old bytes or the new, never half:
// a temp file in the same directory (a rename across filesystems is not atomic),
// fsynced, given its mode, renamed over the target. Missing directories are made 0755
// (whatever the umask); a directory that must be private is made so by its owner first.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDir, makeDirSync } from './make-dir.js';

export async function writeAtomic(path: string, content: string | Buffer, mode: number): Promise<void> {
  await makeDir(dirname(path), 0o755);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, mode); // the umask may have narrowed the mode given to open()
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The same, blocking: for callers that cannot wait (ssh2's host-key check is synchronous). */
export function writeAtomicSync(path: string, content: string | Buffer, mode: number): void {
  makeDirSync(dirname(path), 0o755);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, mode);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
