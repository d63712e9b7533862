// A tar archive written into FILE.part and renamed into place only when complete: a failed
// or interrupted write never leaves what looks like a finished archive.
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

export async function writeTarFile(
  out: string,
  options: { readonly mode: number; readonly gzip?: boolean },
  fill: (pack: tar.Pack) => Promise<void> | void,
): Promise<void> {
  const part = `${out}.part`;
  rmSync(part, { force: true });
  const pack = tar.pack();
  // The mode from the start, not after: a secret-bearing archive is never readable by others.
  const file = createWriteStream(part, { mode: options.mode });
  const written = options.gzip ? pipeline(pack, createGzip(), file) : pipeline(pack, file);
  try {
    await fill(pack);
    pack.finalize();
    await written;
    renameSync(part, out);
  } catch (error) {
    pack.destroy();
    await written.catch(() => undefined);
    rmSync(part, { force: true });
    throw error;
  }
}
