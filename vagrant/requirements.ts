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

/**
 * The oldest Vagrant whose VirtualBox provider accepts each VirtualBox minor (its
 * plugins/providers/virtualbox/plugin.rb driver map: 7.0 since 2.3.2, 7.1 since 2.4.2
 * (hashicorp/vagrant#13513), 7.2 since 2.4.9 (#13709)); an older Vagrant refuses the
 * provider as "not usable on this system".
 */
export const VAGRANT_FOR_VIRTUALBOX: Readonly<Record<string, readonly [number, number, number]>> = {
  '7.0': [2, 3, 2],
  '7.1': [2, 4, 2],
  '7.2': [2, 4, 9],
};

const newer = (a: readonly number[], b: readonly number[]) => {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return false;
};

export interface PairingProblem {
  /** `refuse`: Vagrant will not use this VirtualBox; `doubt`: a VirtualBox newer than kubestrap knows. */
  readonly kind: 'refuse' | 'doubt';
  readonly text: string;
}

/**
 * What is wrong with this Vagrant and VirtualBox together, or undefined when they pair:
 * `vagrant --version` and `VBoxManage --version` output ("Vagrant 2.4.1", "7.1.4r165100").
 */
export function virtualBoxPairing(vagrantOutput: string, vboxOutput: string): PairingProblem | undefined {
  const vagrant = /Vagrant (\d+)\.(\d+)\.(\d+)/.exec(vagrantOutput)?.slice(1).map(Number);
  const vbox = /^(\d+)\.(\d+)\.(\d+)/.exec(vboxOutput.trim())?.slice(1).map(Number);
  if (!vagrant || !vbox) return undefined;
  const minor = `${vbox[0]}.${vbox[1]}`;
  const needs = VAGRANT_FOR_VIRTUALBOX[minor];
  const newest = Object.keys(VAGRANT_FOR_VIRTUALBOX).at(-1)!;
  if (!needs) {
    return newer(vbox, newest.split('.').map(Number))
      ? {
          kind: 'doubt',
          text:
            `VirtualBox ${vbox.join('.')} is newer than any Vagrant release kubestrap knows supports (VirtualBox ` +
            `${newest} and older): check that Vagrant ${vagrant.join('.')} lists ${minor} among its supported versions`,
        }
      : { kind: 'refuse', text: `VirtualBox ${vbox.join('.')} is older than 7.0: install VirtualBox 7.0 or later` };
  }
  return newer(needs, vagrant)
    ? {
        kind: 'refuse',
        text:
          `Vagrant ${vagrant.join('.')} does not support VirtualBox ${minor}: ` +
          `install Vagrant ${needs.join('.')} or later`,
      }
    : undefined;
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
    const vbox = await output('VBoxManage', ['--version'], env);
    if (vbox === undefined) {
      missing.push(
        'VirtualBox is not installed (no VBoxManage on PATH): install VirtualBox 7.0 ' +
          '— or use libvirt: spec.machines.provider: libvirt',
      );
    } else if (version) {
      const pairing = virtualBoxPairing(version[0], vbox);
      if (pairing?.kind === 'refuse') missing.push(pairing.text);
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
