// The Vagrant driver's first pieces: reading --machine-readable output, and telling a
// user exactly what to install before anything is done.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMachineReadable } from '../vagrant/machine-readable.js';
import { missingRequirements } from '../vagrant/requirements.js';
import { missingTools } from './support/tools.js';

describe('vagrant --machine-readable output', () => {
  it('splits fields and unescapes commas and newlines', () => {
    const lines = parseMachineReadable(
      '1795322460,,ui,info,vagrant-libvirt (0.11.2%!(VAGRANT_COMMA) system)\n1795322460,,plugin-name,vagrant-libvirt\n1795322461,cp,state-human-long,The VM is running.\\nTo stop it%!(VAGRANT_COMMA) run halt.\nnot a record\n',
    );
    expect(lines).toEqual([
      { timestamp: 1795322460, target: '', type: 'ui', data: ['info', 'vagrant-libvirt (0.11.2, system)'] },
      { timestamp: 1795322460, target: '', type: 'plugin-name', data: ['vagrant-libvirt'] },
      { timestamp: 1795322461, target: 'cp', type: 'state-human-long', data: ['The VM is running.\nTo stop it, run halt.'] },
    ]);
  });
});

const noVagrant = missingTools('vagrant');

describe('provider requirements', () => {
  const empty = mkdtempSync(join(tmpdir(), 'empty-path-'));

  it('on a machine with nothing, names Vagrant and VirtualBox with what to install', async () => {
    expect(await missingRequirements('virtualbox', { ...process.env, PATH: empty })).toEqual([
      'Vagrant is not installed: install Vagrant 2.3 or later (Debian/Ubuntu: apt install vagrant; elsewhere: the package from HashiCorp)',
      'VirtualBox is not installed (no VBoxManage on PATH): install VirtualBox 7.0 — or use libvirt: spec.machines.provider: libvirt',
    ]);
    expect(await missingRequirements('libvirt', { ...process.env, PATH: empty })).toEqual([
      'Vagrant is not installed: install Vagrant 2.3 or later (Debian/Ubuntu: apt install vagrant; elsewhere: the package from HashiCorp)',
      'libvirt is not installed (no virsh on PATH): apt install libvirt-daemon-system libvirt-clients qemu-system-x86',
    ]);
  });

  it.skipIf(noVagrant)(`with the real Vagrant and a VBoxManage present, nothing is missing for VirtualBox${noVagrant ? ` (skipped: ${noVagrant})` : ''}`, async () => {
    const doubles = fileURLToPath(new URL('./doubles/', import.meta.url));
    expect(await missingRequirements('virtualbox', { ...process.env, PATH: `${doubles}:${process.env.PATH}` })).toEqual([]);
  });

  it.skipIf(noVagrant)(`finds the real vagrant-libvirt plugin through vagrant plugin list${noVagrant ? ` (skipped: ${noVagrant})` : ''}`, async () => {
    const missing = await missingRequirements('libvirt');
    expect(missing.filter((m) => m.includes('vagrant-libvirt plugin'))).toEqual([]);
  });
});
