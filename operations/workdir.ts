// Where a cluster's local state lives: .kubestrap/<cluster>/ in the directory the
// user runs kubestrap from — rendered files, the cluster's known_hosts, host logs.
import { join, resolve } from 'node:path';

export function workDir(cluster: string): string {
  return resolve(join('.kubestrap', cluster));
}

export function knownHostsPath(cluster: string): string {
  return join(workDir(cluster), 'known_hosts');
}

export function logDir(cluster: string): string {
  return join(workDir(cluster), 'logs');
}
