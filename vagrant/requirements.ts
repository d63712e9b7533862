// Before anything is done with Vagrant: is it there, new enough, and is the chosen
// provider usable? Each problem says exactly what to install.
import { execa } from 'execa';
import { parseMachineReadable } from './machine-readable.js';

export type Provider = 'virtualbox' | 'libvirt';

export const MIN_VAGRANT = [2, 3] as const;

async function output(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    const result = await execa(command, args, { env, timeout: 60_000, reject: false });
    return result.exitCode === 0 ? `${result.stdout}` : undefined;
  } catch {
    return undefined;
  }
}

/** Every missing piece for `provider`, as instructions; empty when all is there. */
export async function missingRequirements(provider: Provider, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const missing: string[] = [];
  const quiet = { ...env, VAGRANT_CHECKPOINT_DISABLE: '1' };
  const version = /Vagrant (\d+)\.(\d+)\.(\d+)/.exec((await output('vagrant', ['--version'], quiet)) ?? '');
  if (!version) {
    missing.push(
      'Vagrant is not installed: install Vagrant 2.3 or later ' +
        '(Debian/Ubuntu: apt install vagrant; elsewhere: the package from HashiCorp)',
    );
  } else if (
    Number(version[1]) < MIN_VAGRANT[0] ||
    (Number(version[1]) === MIN_VAGRANT[0] && Number(version[2]) < MIN_VAGRANT[1])
  ) {
    missing.push(`Vagrant ${version[1]}.${version[2]}.${version[3]} is too old: install Vagrant 2.3 or later`);
  }
  if (provider === 'virtualbox') {
    if ((await output('VBoxManage', ['--version'], env)) === undefined) {
      missing.push(
        'VirtualBox is not installed (no VBoxManage on PATH): install VirtualBox 7.0 ' +
          '— or use libvirt: spec.machines.provider: libvirt',
      );
    }
  } else {
    if (version) {
      const plugins = parseMachineReadable(
        (await output('vagrant', ['plugin', 'list', '--machine-readable'], quiet)) ?? '',
      );
      if (!plugins.some((line) => line.type === 'plugin-name' && line.data[0] === 'vagrant-libvirt')) {
        missing.push(
          'the vagrant-libvirt plugin is missing: apt install vagrant-libvirt ' +
            '(or: vagrant plugin install vagrant-libvirt)',
        );
      }
    }
    if ((await output('virsh', ['--version'], env)) === undefined) {
      missing.push(
        'libvirt is not installed (no virsh on PATH): ' +
          'apt install libvirt-daemon-system libvirt-clients qemu-system-x86',
      );
    }
  }
  return missing;
}

/**
 * The provider for a spec that names none: VirtualBox when it is installed, else libvirt
 * when it is usable; undefined when neither is (the caller lists what to install).
 */
export async function detectProvider(env: NodeJS.ProcessEnv = process.env): Promise<Provider | undefined> {
  if ((await output('VBoxManage', ['--version'], env)) !== undefined) return 'virtualbox';
  return (await missingRequirements('libvirt', env)).length === 0 ? 'libvirt' : undefined;
}
