// `vagrant ssh-config` → one SSH target per machine for the ssh2 transport (kubestrap
// never shells out to ssh). Vagrant's StrictHostKeyChecking=no is not carried over:
// the cluster's own known_hosts trusts each machine on first use.
import SSHConfig from 'ssh-config';

export interface VagrantSshSettings {
  readonly machine: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly keyPath: string;
}

export function parseSshConfig(output: string): VagrantSshSettings[] {
  const settings: VagrantSshSettings[] = [];
  for (const section of SSHConfig.parse(output)) {
    if (!('param' in section) || section.param !== 'Host' || !('config' in section)) continue;
    const value = (name: string): string | undefined => {
      const entry = section.config.find((c) => 'param' in c && c.param.toLowerCase() === name.toLowerCase());
      if (!entry || !('value' in entry)) return undefined;
      const raw = entry.value;
      return (Array.isArray(raw) ? raw.map((v) => (typeof v === 'string' ? v : v.val)).join(' ') : String(raw)).replace(
        /^"|"$/g,
        '',
      );
    };
    const machine = String(section.value);
    const address = value('HostName');
    const keyPath = value('IdentityFile');
    if (!address || !keyPath)
      throw new Error(`vagrant ssh-config gave no HostName/IdentityFile for ${machine}:\n${output}`);
    settings.push({ machine, address, port: Number(value('Port') ?? 22), user: value('User') ?? 'vagrant', keyPath });
  }
  return settings;
}
