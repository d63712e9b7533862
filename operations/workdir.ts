// Where a cluster's local state lives: .kubestrap/<cluster>/ in the directory the
// user runs kubestrap from — rendered files, the cluster's known_hosts, host logs, the
// admin kubeconfig. Private (0700, whatever the umask), and ignored by git: a user who
// runs kubestrap inside a repository must not commit the admin kubeconfig by accident.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeAtomicSync } from '../base/atomic-write.js';
import { makeDirSync } from '../base/make-dir.js';

const STATE_ROOT = '.kubestrap';

export function workDir(cluster: string): string {
  return resolve(join(STATE_ROOT, cluster));
}

export function knownHostsPath(cluster: string): string {
  return join(workDir(cluster), 'known_hosts');
}

export function logDir(cluster: string): string {
  return join(workDir(cluster), 'logs');
}

/** Makes the cluster's working directory (and .kubestrap/ with its .gitignore) if missing; returns it. */
export function ensureWorkDir(cluster: string): string {
  const root = resolve(STATE_ROOT);
  makeDirSync(root, 0o700);
  const ignore = join(root, '.gitignore');
  if (!existsSync(ignore))
    writeAtomicSync(ignore, '# kubestrap state: keys, kubeconfigs, logs; never commit it.\n*\n', 0o644);
  const dir = workDir(cluster);
  makeDirSync(dir, 0o700);
  return dir;
}
