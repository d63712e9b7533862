// SHA-256 in hex, the one digest kubestrap compares anything by (render manifests,
// uploads, bundle members, upstream lock entries).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** A file's digest, streamed: bundle members and archives can be gigabytes. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
