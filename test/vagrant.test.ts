// The Vagrant driver without VMs: argv per command, --machine-readable output (recorded
// from a real `vagrant up` on libvirt) into per-machine progress, ssh-config into SSH
// settings, errors from the real Vagrant, and what to install before anything is done.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { vagrantArgs } from '../vagrant/args.js';
import { VagrantDriver, VagrantError } from '../vagrant/driver.js';
import { parseMachineReadable } from '../vagrant/machine-readable.js';
import { machineEvent } from '../vagrant/progress.js';
import { detectProvider, missingRequirements } from '../vagrant/requirements.js';
import { parseSshConfig } from '../vagrant/ssh-config.js';
import { writeRender } from '../operations/render-dir.js';
import { loadSpecText } from '../spec/load.js';
import { renderCluster } from '../templates/render.js';
import { missingTools, run } from './support/tools.js';

const recorded = (name: string) =>
  readFileSync(fileURLToPath(new URL(`./fixtures/vagrant/${name}`, import.meta.url)), 'utf8');

describe('vagrant argv', () => {
  it.each([
    [
      'up on libvirt, in parallel',
      vagrantArgs.up(['cp', 'worker'], 'libvirt', true),
      ['up', '--provider=libvirt', '--parallel', '--no-provision', '--machine-readable', 'cp', 'worker'],
    ],
    [
      'up of one machine on VirtualBox',
      vagrantArgs.up(['cp'], 'virtualbox', false),
      ['up', '--provider=virtualbox', '--no-parallel', '--no-provision', '--machine-readable', 'cp'],
    ],
    ['status', vagrantArgs.status(), ['status', '--machine-readable']],
    ['ssh-config', vagrantArgs.sshConfig(['cp', 'worker']), ['ssh-config', 'cp', 'worker']],
    ['destroy', vagrantArgs.destroy(), ['destroy', '--force', '--machine-readable']],
    [
      'box add',
      vagrantArgs.boxAdd('lab/debian', '/srv/debian.box'),
      ['box', 'add', '--force', '--machine-readable', '--name', 'lab/debian', '/srv/debian.box'],
    ],
  ])('%s', (_name, argv, want) => {
    expect(argv).toEqual(want);
  });
});

describe('vagrant up progress (recorded from vagrant-libvirt 0.11.2, two machines in parallel)', () => {
  const events = parseMachineReadable(recorded('up-libvirt-parallel.txt'))
    .map(machineEvent)
    .filter((e) => e !== undefined);
  const stages = (machine: string) =>
    events
      .filter((e) => e.machine === machine && e.stage)
      .map((e) => e.stage)
      .filter((s, i, all) => s !== all[i - 1]);

  it('walks each machine through import, boot, SSH wait and configuration to ready', () => {
    expect(stages('cp')).toEqual(['importing', 'booting', 'waiting for SSH', 'configuring', 'ready']);
    expect(stages('worker')).toEqual(['importing', 'booting', 'waiting for SSH', 'configuring', 'ready']);
  });

  it("keeps Vagrant's words without its prefix, and drops settings listings and retries", () => {
    const cp = events.filter((e) => e.machine === 'cp' && e.message).map((e) => e.message);
    expect(cp).toContain('Creating image (snapshot of base box volume).');
    expect(cp).toContain('Machine booted and ready!');
    expect(cp.some((m) => m!.includes(' -- ') || m!.includes('Retrying'))).toBe(false);
  });
});

describe('vagrant ssh-config (recorded)', () => {
  it('gives address, port, user and key per machine', () => {
    expect(parseSshConfig(recorded('ssh-config.txt'))).toEqual([
      {
        machine: 'cp',
        address: '192.168.121.42',
        port: 22,
        user: 'vagrant',
        keyPath: '/tmp/exp/render/.vagrant/machines/cp/libvirt/private_key',
      },
      {
        machine: 'worker',
        address: '192.168.121.153',
        port: 22,
        user: 'vagrant',
        keyPath: '/tmp/exp/render/.vagrant/machines/worker/libvirt/private_key',
      },
    ]);
  });

  it('refuses an entry without an address or key', () => {
    expect(() => parseSshConfig('Host cp\n  User vagrant\n')).toThrow(/no HostName\/IdentityFile for cp/);
  });
});

describe('vagrant --machine-readable output', () => {
  it('splits fields and unescapes commas and newlines', () => {
    const lines = parseMachineReadable(
      '1795322460,,ui,info,vagrant-libvirt (0.11.2%!(VAGRANT_COMMA) system)\n' +
        '1795322460,,plugin-name,vagrant-libvirt\n' +
        '1795322461,cp,state-human-long,The VM is running.\\nTo stop it%!(VAGRANT_COMMA) run halt.\n' +
        'not a record\n',
    );
    expect(lines).toEqual([
      { timestamp: 1795322460, target: '', type: 'ui', data: ['info', 'vagrant-libvirt (0.11.2, system)'] },
      { timestamp: 1795322460, target: '', type: 'plugin-name', data: ['vagrant-libvirt'] },
      {
        timestamp: 1795322461,
        target: 'cp',
        type: 'state-human-long',
        data: ['The VM is running.\nTo stop it, run halt.'],
      },
    ]);
  });
});

const noVagrant = missingTools('vagrant');

describe('provider requirements', () => {
  const empty = mkdtempSync(join(tmpdir(), 'empty-path-'));

  it('on a machine with nothing, names Vagrant and VirtualBox with what to install', async () => {
    expect(await missingRequirements('virtualbox', { ...process.env, PATH: empty })).toEqual([
      'Vagrant is not installed: install Vagrant 2.3 or later ' +
        '(Debian/Ubuntu: apt install vagrant; elsewhere: the package from HashiCorp)',
      'VirtualBox is not installed (no VBoxManage on PATH): install VirtualBox 7.0 ' +
        '— or use libvirt: spec.machines.provider: libvirt',
    ]);
    expect(await missingRequirements('libvirt', { ...process.env, PATH: empty })).toEqual([
      'Vagrant is not installed: install Vagrant 2.3 or later ' +
        '(Debian/Ubuntu: apt install vagrant; elsewhere: the package from HashiCorp)',
      'libvirt is not installed (no virsh on PATH): apt install libvirt-daemon-system libvirt-clients qemu-system-x86',
    ]);
  });

  it.skipIf(noVagrant)(
    'with the real Vagrant and a VBoxManage present, nothing is missing for VirtualBox' +
      (noVagrant ? ` (skipped: ${noVagrant})` : ''),
    async () => {
      const doubles = fileURLToPath(new URL('./doubles/', import.meta.url));
      expect(
        await missingRequirements('virtualbox', { ...process.env, PATH: `${doubles}:${process.env.PATH}` }),
      ).toEqual([]);
    },
  );

  it('picks VirtualBox when VBoxManage answers, and nothing when neither provider is there', async () => {
    const doubles = fileURLToPath(new URL('./doubles/', import.meta.url));
    expect(await detectProvider({ ...process.env, PATH: `${doubles}:${process.env.PATH}` })).toBe('virtualbox');
    expect(await detectProvider({ ...process.env, PATH: empty })).toBeUndefined();
  });

  const noLibvirt = missingTools('vagrant', 'virsh');
  it.skipIf(noLibvirt)(
    'picks libvirt on this machine: Vagrant, vagrant-libvirt and virsh, no VBoxManage' +
      (noLibvirt ? ` (skipped: ${noLibvirt})` : ''),
    async () => {
      expect(
        await detectProvider({
          ...process.env,
          PATH: process.env
            .PATH!.split(':')
            .filter((d) => !existsSync(join(d, 'VBoxManage')))
            .join(':'),
        }),
      ).toBe('libvirt');
    },
  );

  it.skipIf(noVagrant)(
    "a failing vagrant command names itself and carries Vagrant's own error" +
      (noVagrant ? ` (skipped: ${noVagrant})` : ''),
    async () => {
      const driver = new VagrantDriver(mkdtempSync(join(tmpdir(), 'no-vagrantfile-')));
      const error = await driver.status().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VagrantError);
      expect((error as VagrantError).message).toMatch(
        new RegExp(
          /^vagrant status --machine-readable failed with exit code 1: /.source +
            /A Vagrant environment or target machine is required/.source,
        ),
      );
    },
  );

  it.skipIf(noVagrant)(
    `finds the real vagrant-libvirt plugin through vagrant plugin list${noVagrant ? ` (skipped: ${noVagrant})` : ''}`,
    async () => {
      const missing = await missingRequirements('libvirt');
      expect(missing.filter((m) => m.includes('vagrant-libvirt plugin'))).toEqual([]);
    },
  );
});

// Names and versions that YAML 1.1 (Ruby's Psych, which the Vagrantfile reads
// vagrant_config.yml with) would take for booleans and dates if written plain.
const vagrantAndRuby = missingTools('vagrant', 'ruby');
describe.skipIf(vagrantAndRuby)(
  `YAML 1.1 words in the spec reach Vagrant as strings${vagrantAndRuby ? ` (skipped: ${vagrantAndRuby})` : ''}`,
  () => {
    const SPEC = `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  machines:
    provider: libvirt
    box:
      version: 2024-01-01
    nodes:
      - name: on
        role: control-plane
        ip: 192.168.56.10
      - name: off
        ip: 192.168.56.11
        disks:
          - size: 10
`;

    it('vagrant validate passes and Psych reads the names on/off and the box version as strings', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'yaml11-'));
      const { model } = loadSpecText(SPEC, 'spec.yaml');
      await writeRender(dir, renderCluster(model), model.name);
      const validate = run('vagrant', ['validate'], {
        cwd: dir,
        env: {
          ...process.env,
          VAGRANT_HOME: mkdtempSync(join(tmpdir(), 'vagrant-home-')),
          VAGRANT_DEFAULT_PROVIDER: 'libvirt',
          VAGRANT_CHECKPOINT_DISABLE: '1',
        },
      });
      expect(validate.stdout + validate.stderr).toContain('Vagrantfile validated successfully.');
      expect(validate.status).toBe(0);
      // The same call the Vagrantfile makes, and the Ruby class of each value it gets.
      const psych = run('ruby', [
        '-ryaml',
        '-rjson',
        '-e',
        'c = YAML.safe_load(File.read(ARGV[0])); ' +
          'puts JSON.generate(c["nodes"].map { |n| [n["name"], n["name"].class.name] } + ' +
          '[[c["box"]["version"], c["box"]["version"].class.name]])',
        join(dir, 'vagrant_config.yml'),
      ]);
      expect(psych.stderr).toBe('');
      expect(JSON.parse(psych.stdout)).toEqual([
        ['on', 'String'],
        ['off', 'String'],
        ['2024-01-01', 'String'],
      ]);
    });
  },
);
