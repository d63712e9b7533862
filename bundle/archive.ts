// Writes a bundle: bundle.json, then every member in the manifest's order (streamed
// from disk), then the seal; into FILE.part, renamed into place only when complete.
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BundleManifestSchema, MANIFEST_NAME, SEAL_NAME, type BundleManifest } from './format.js';
import { sha256 } from '../base/digest.js';

/** Fixed metadata for every member: the same inputs make the same archive, byte for byte. */
const HEADER = { mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(0) } as const;

export function manifestText(manifest: BundleManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** `sources` maps each manifest path to the local file holding its bytes. */
export async function writeBundle(
  out: string,
  manifest: BundleManifest,
  sources: ReadonlyMap<string, string>,
): Promise<void> {
  // A bundle `bundle verify` would refuse is not written at all.
  const checked = BundleManifestSchema.safeParse(manifest);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new Error(`bundle: ${MANIFEST_NAME} at ${issue.path.join('.')}: ${issue.message}`);
  }
  const pack = tar.pack();
  const part = `${out}.part`;
  const written = pipeline(pack, createWriteStream(part, { mode: 0o644 }));
  try {
    const text = manifestText(manifest);
    pack.entry({ ...HEADER, name: MANIFEST_NAME }, text);
    for (const file of manifest.files) {
      const source = sources.get(file.path);
      if (!source) throw new Error(`bundle: no local copy of ${file.path}`);
      if (statSync(source).size !== file.size) throw new Error(`bundle: ${source} changed size since it was hashed`);
      const entry = pack.entry({ ...HEADER, name: file.path, size: file.size });
      await pipeline(createReadStream(source), entry);
    }
    pack.entry({ ...HEADER, name: SEAL_NAME }, `${sha256(text)}  ${MANIFEST_NAME}\n`);
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
