// Pure edits of system files host prep owns a part of: /etc/hosts and /etc/fstab.
import { HOSTS_BEGIN, HOSTS_END } from '../../templates/host-files.js';

/**
 * Replaces kubestrap's block in /etc/hosts with `block`, and drops lines that map the
 * node's own names to a loopback address (Vagrant's Debian boxes add
 * `127.0.1.1 <hostname>`), which would make the kubelet and etcd bind to loopback.
 */
export function mergeHosts(current: string, block: string, ownNames: readonly string[]): string {
  const lines = current.split('\n');
  const kept: string[] = [];
  let inBlock = false;
  for (const line of lines) {
    if (line.startsWith(HOSTS_BEGIN)) inBlock = true;
    else if (line.startsWith(HOSTS_END)) inBlock = false;
    else if (!inBlock && !mapsOwnNameToLoopback(line, ownNames)) kept.push(line);
  }
  while (kept.length && kept.at(-1)!.trim() === '') kept.pop();
  return `${kept.join('\n')}\n${block}`;
}

function mapsOwnNameToLoopback(line: string, ownNames: readonly string[]): boolean {
  const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
  if (!address || !/^127\./.test(address) || names.length === 0) return false;
  return names.some((name) => ownNames.includes(name)) && !names.includes('localhost');
}

/** Comments out swap entries so swap stays off after a reboot. */
export function disableSwapInFstab(fstab: string): string {
  return fstab
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      return !line.trim().startsWith('#') && fields[2] === 'swap'
        ? `# disabled by kubestrap (kubelet needs swap off): ${line}`
        : line;
    })
    .join('\n');
}
