// Reading the tests' tar archives (bundles) directly, to check and to damage them.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';

export async function tarMembers(path: string): Promise<{ name: string; data: Buffer }[]> {
  const out: { name: string; data: Buffer }[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({ name: header.name, data: Buffer.concat(chunks) });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(readFileSync(path));
  await done;
  return out;
}

/** Byte offset of a member's data in a tar: 512-byte headers, sizes in octal. */
export function tarDataOffset(archive: Buffer, name: string): number {
  for (let at = 0; at + 512 <= archive.length;) {
    const header = archive.subarray(at, at + 512);
    const entry = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    if (entry === name) return at + 512;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} not in the archive`);
}

/** The archive at `path` rewritten without the members `drop` picks. */
export async function tarWithout(path: string, drop: (member: string) => boolean): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of await tarMembers(path)) if (!drop(m.name)) pack.entry({ name: m.name, mtime: new Date(0) }, m.data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** One member of a hand-made archive: the header fields a test sets, over kubestrap's own defaults. */
export interface TarEntry {
  readonly name: string;
  readonly data: Buffer | string;
  readonly header?: Partial<tar.Header>;
}

/** A tar of exactly these members, in this order (to make archives kubestrap would never write). */
export async function tarOf(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries)
    pack.entry({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), ...e.header, name: e.name }, e.data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A support bundle's members by path below its top folder, as text. */
export async function supportMembers(path: string): Promise<Map<string, string>> {
  const plain = `${path}.tar`;
  const { writeFileSync, rmSync } = await import('node:fs');
  writeFileSync(plain, gunzipSync(readFileSync(path)));
  try {
    const members = await tarMembers(plain);
    return new Map(members.map((m) => [m.name.slice(m.name.indexOf('/') + 1), m.data.toString('utf8')]));
  } finally {
    rmSync(plain, { force: true });
  }
}
