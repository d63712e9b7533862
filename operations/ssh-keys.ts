// The SSH private keys a command logs in with, read with a warning on stderr (once per
// file) when group or others may read them; stderr, so that --json output stays clean.
import { readPrivateKey } from '../ssh/private-key.js';

const warned = new Set<string>();

export function readKeyWarning(path: string): Buffer {
  return readPrivateKey(path, (warning) => {
    if (warned.has(path)) return;
    warned.add(path);
    process.stderr.write(`kubestrap: ${warning}\n`);
  });
}
