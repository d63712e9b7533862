// Small line-oriented files every node gets. Their values are validated names and
// addresses (spec/rules.ts), so plain joining is safe here.
import type { ClusterModel } from '../spec/model.js';

export const KERNEL_MODULES = ['overlay', 'br_netfilter'];

export const SYSCTLS: [string, string][] = [
  ['net.bridge.bridge-nf-call-iptables', '1'],
  ['net.bridge.bridge-nf-call-ip6tables', '1'],
  ['net.ipv4.ip_forward', '1'],
];

export const HOSTS_BEGIN = '# BEGIN kubestrap cluster';
export const HOSTS_END = '# END kubestrap cluster';

export function modulesLoad(): string {
  return `# Rendered by kubestrap: modules containerd and bridged pod traffic need.\n${KERNEL_MODULES.join('\n')}\n`;
}

export function sysctlConf(): string {
  return (
    `# Rendered by kubestrap: bridged pod traffic must pass iptables; nodes route pod traffic.\n` +
    `${SYSCTLS.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`
  );
}

/** The managed block hostprep keeps in /etc/hosts, between the BEGIN and END markers. */
export function hostsBlock(model: ClusterModel): string {
  const lines = model.nodes.map((n) =>
    n.hostname === n.name ? `${n.ip}\t${n.hostname}` : `${n.ip}\t${n.hostname}\t${n.name}`,
  );
  return `${HOSTS_BEGIN} ${model.name}\n${lines.join('\n')}\n${HOSTS_END} ${model.name}\n`;
}
