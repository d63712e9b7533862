// Reading an SSH private key, with OpenSSH's permission check turned into a warning.
// OpenSSH refuses a key that group or others may read ("UNPROTECTED PRIVATE KEY FILE!");
// kubestrap warns instead: keys on filesystems without Unix modes (Vagrant under WSL on
// a Windows drive shows every file as 0777, and chmod there does nothing) would
// otherwise be unusable, and the key is already as exposed as it will be.
import { readFileSync, statSync } from 'node:fs';

/** The warning for a key file that group or others may access, or undefined. */
export function unprotectedKeyWarning(path: string, mode: number): string | undefined {
  if ((mode & 0o077) === 0) return undefined;
  const shown = (mode & 0o777).toString(8).padStart(4, '0');
  return (
    `warning: private key ${path} is accessible by others (mode ${shown}); OpenSSH refuses such a key ` +
    `("UNPROTECTED PRIVATE KEY FILE!"). Fix: chmod 600 ${path}`
  );
}

/** The key's bytes; `warn` hears about a key others may read. */
export function readPrivateKey(path: string, warn: (message: string) => void): Buffer {
  const key = readFileSync(path);
  const warning = unprotectedKeyWarning(path, statSync(path).mode);
  if (warning) warn(warning);
  return key;
}
