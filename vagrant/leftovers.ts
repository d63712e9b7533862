// After `vagrant destroy`: what the provider itself still holds for the cluster, so that
// destroy can say "nothing left" from the provider's word, not only Vagrant's. Names
// follow the Vagrantfile: libvirt domains are "<cluster>-<node>"
// (default_prefix), VirtualBox VMs are "<cluster>-<node>" and disks live under the
// cluster's working directory.
import { execa } from 'execa';
import type { Provider } from './requirements.js';

async function lines(command: string, args: string[]): Promise<string[] | undefined> {
  const result = await execa(command, args, { reject: false, timeout: 60_000 });
  if (result.exitCode !== 0) return undefined;
  return `${result.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export interface ProviderListing {
  readonly domains?: readonly string[];
  readonly volumes?: readonly string[];
  readonly vms?: readonly string[];
  /** VirtualBox disk locations (absolute paths). */
  readonly disks?: readonly string[];
}

/**
 * Which of the provider's things are this cluster's, by their exact names: a prefix
 * "lab-" would also claim cluster lab-2's machines, and a path containing
 * .kubestrap/lab would claim .kubestrap/lab-2's disks.
 */
export function clusterLeftovers(
  cluster: string,
  machines: readonly string[],
  pool: string,
  workDir: string,
  listing: ProviderListing,
): string[] {
  const names = new Set(machines.map((m) => `${cluster}-${m}`));
  // vagrant-libvirt: <domain>.img for the box's disk, <domain>-<device>.qcow2 for each extra disk.
  const volume = (v: string) => {
    const match = /^(.*?)(?:\.img|-vd[a-z]+\.qcow2)$/.exec(v);
    return match !== null && names.has(match[1]!);
  };
  return [
    ...(listing.domains ?? []).filter((d) => names.has(d)).map((d) => `libvirt domain ${d}`),
    ...(listing.volumes ?? []).filter(volume).map((v) => `libvirt volume ${v} (pool ${pool})`),
    ...(listing.vms ?? []).filter((n) => names.has(n)).map((v) => `VirtualBox VM ${v}`),
    ...(listing.disks ?? []).filter((d) => d.startsWith(`${workDir}/`)).map((d) => `VirtualBox disk ${d}`),
  ];
}

export async function providerLeftovers(
  provider: Provider,
  cluster: string,
  machines: readonly string[],
  pool: string,
  workDir: string,
): Promise<string[]> {
  if (provider === 'libvirt') {
    const uri = ['-c', 'qemu:///system'];
    const domains = (await lines('virsh', [...uri, 'list', '--all', '--name'])) ?? [];
    const volumes = ((await lines('virsh', [...uri, 'vol-list', pool])) ?? []).slice(2).map((l) => l.split(/\s+/)[0]!);
    return clusterLeftovers(cluster, machines, pool, workDir, { domains, volumes });
  }
  if (provider === 'virtualbox') {
    const vms = ((await lines('VBoxManage', ['list', 'vms'])) ?? []).map((l) => /^"(.*)" \{/.exec(l)?.[1] ?? '');
    const disks = ((await lines('VBoxManage', ['list', 'hdds'])) ?? [])
      .filter((l) => l.startsWith('Location:'))
      .map((l) => l.replace(/^Location:\s*/, ''));
    return clusterLeftovers(cluster, machines, pool, workDir, { vms, disks });
  }
  return [];
}
