// After `vagrant destroy`: what the provider itself still holds for the cluster, so that
// destroy can say "nothing left" from the provider's word, not only Vagrant's. Names
// follow the Vagrantfile: libvirt domains and volumes start with "<cluster>-"
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

export async function providerLeftovers(
  provider: Provider,
  cluster: string,
  pool: string,
  workDir: string,
): Promise<string[]> {
  const prefix = `${cluster}-`;
  if (provider === 'libvirt') {
    const uri = ['-c', 'qemu:///system'];
    const domains = (await lines('virsh', [...uri, 'list', '--all', '--name'])) ?? [];
    const volumes = ((await lines('virsh', [...uri, 'vol-list', pool])) ?? []).slice(2).map((l) => l.split(/\s+/)[0]!);
    return [
      ...domains.filter((d) => d.startsWith(prefix)).map((d) => `libvirt domain ${d}`),
      ...volumes.filter((v) => v.startsWith(prefix)).map((v) => `libvirt volume ${v} (pool ${pool})`),
    ];
  }
  if (provider === 'virtualbox') {
    const vms = ((await lines('VBoxManage', ['list', 'vms'])) ?? [])
      .map((l) => /^"(.*)" \{/.exec(l)?.[1] ?? '')
      .filter((n) => n.startsWith(prefix));
    const disks = ((await lines('VBoxManage', ['list', 'hdds'])) ?? [])
      .filter((l) => l.startsWith('Location:') && l.includes(workDir))
      .map((l) => l.replace(/^Location:\s*/, ''));
    return [...vms.map((v) => `VirtualBox VM ${v}`), ...disks.map((d) => `VirtualBox disk ${d}`)];
  }
  return [];
}
