// Writes a bundle: bundle.json, its signature when a key is given, then every member in
// the manifest's order (streamed from disk), then the seal; into FILE.part, renamed into
// place only when complete.
import { createReadStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { KeyObject } from 'node:crypto';
import { BundleManifestSchema, MANIFEST_NAME, SEAL_NAME, SIGNATURE_NAME, type BundleManifest } from './format.js';
import { signatureText, signManifest } from './signing.js';
import { sha256 } from '../base/digest.js';
import { writeTarFile } from '../base/tar-file.js';

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
  signingKey?: KeyObject,
): Promise<void> {
  // A bundle `bundle verify` would refuse is not written at all.
  const checked = BundleManifestSchema.safeParse(manifest);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new Error(`bundle: ${MANIFEST_NAME} at ${issue.path.join('.')}: ${issue.message}`);
  }
  await writeTarFile(out, { mode: 0o644 }, async (pack) => {
    const text = manifestText(manifest);
    pack.entry({ ...HEADER, name: MANIFEST_NAME }, text);
    if (signingKey)
      pack.entry({ ...HEADER, name: SIGNATURE_NAME }, signatureText(signManifest(Buffer.from(text), signingKey)));
    for (const file of manifest.files) {
      const source = sources.get(file.path);
      if (!source) throw new Error(`bundle: no local copy of ${file.path}`);
      if (statSync(source).size !== file.size) throw new Error(`bundle: ${source} changed size since it was hashed`);
      const entry = pack.entry({ ...HEADER, name: file.path, size: file.size });
      await pipeline(createReadStream(source), entry);
    }
    pack.entry({ ...HEADER, name: SEAL_NAME }, `${sha256(text)}  ${MANIFEST_NAME}\n`);
  });
}
