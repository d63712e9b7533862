// Every golden set checked by the real tool that will consume it: kubeadm's API types,
// Ruby and Vagrant (VirtualBox and libvirt settings), systemd, containerd, Rook's CRD
// schemas and Kubernetes' core schemas. Each checker is also shown to fail on a
// broken file, so a pass means something.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  FIXTURES,
  filesMatching,
  renderFixture,
  SHARED_REFERENCE,
  sharedReferenceMissing,
  type RenderedFixture,
} from './support/fixtures.js';
import { rookErrors } from './support/rook-schema.js';
import { missingTools, run } from './support/tools.js';

const KUBEADM_VALIDATOR = join(SHARED_REFERENCE, 'schemas', 'kubeadm', 'validate.mjs');
const DOUBLES = fileURLToPath(new URL('./doubles/', import.meta.url));
const VAGRANT_FIXTURES = FIXTURES.filter((name) => name !== 'existing');
const noReference = sharedReferenceMissing();

function kubeadm(files: string[]) {
  return run(process.execPath, [KUBEADM_VALIDATOR, ...files]);
}

describe.skipIf(noReference)(
  `kubeadm configs against the upstream API types${noReference ? ` (skipped: ${noReference})` : ''}`,
  () => {
    it.each(FIXTURES)('%s: every kubeadm.conf is valid', async (name) => {
      const fixture = await renderFixture(name);
      const paths = filesMatching(fixture, /\/kubeadm\.conf$/).map((f) => join(fixture.dir, f.path));
      expect(paths.length).toBe(fixture.loaded.model.nodes.length);
      const result = kubeadm(paths);
      expect(result.stdout + result.stderr).not.toMatch(/error/);
      expect(result.status).toBe(0);
      expect(result.stdout.match(/: OK$/gm)?.length).toBeGreaterThanOrEqual(paths.length);
    });

    it('the validator rejects a misspelt field (the check can fail)', async () => {
      const fixture = await renderFixture('ha');
      const path = join(fixture.dir, 'nodes/cp1/etc/kubernetes/kubeadm.conf');
      writeFileSync(path, readFileSync(path, 'utf8').replace('advertiseAddress:', 'advertiseAdress:'));
      const result = kubeadm([path]);
      expect(result.status).toBe(1);
      expect(result.stdout).toMatch(/advertiseAdress/);
    });
  },
);

const vagrantMissing = missingTools('ruby', 'vagrant');

describe.skipIf(vagrantMissing)(
  `Vagrantfile with ruby and vagrant${vagrantMissing ? ` (skipped: ${vagrantMissing})` : ''}`,
  () => {
    function validate(fixture: RenderedFixture, provider: 'virtualbox' | 'libvirt') {
      const env = {
        ...process.env,
        VAGRANT_HOME: mkdtempSync(join(tmpdir(), 'vagrant-home-')),
        VAGRANT_DEFAULT_PROVIDER: provider,
        VAGRANT_CHECKPOINT_DISABLE: '1',
        // VirtualBox cannot be installed here; its provider only needs VBoxManage --version to validate.
        PATH: `${DOUBLES}:${process.env.PATH}`,
      };
      return run('vagrant', ['validate'], { cwd: fixture.dir, env });
    }

    it.each(VAGRANT_FIXTURES)('%s: ruby -c accepts the Vagrantfile', async (name) => {
      const fixture = await renderFixture(name);
      const result = run('ruby', ['-c', join(fixture.dir, 'Vagrantfile')]);
      expect(result.stdout).toContain('Syntax OK');
    });

    it.each(
      VAGRANT_FIXTURES.flatMap(
        (name) =>
          [
            [name, 'virtualbox'],
            [name, 'libvirt'],
          ] as const,
      ),
    )('%s: vagrant validate passes with the %s provider settings checked', async (name, provider) => {
      const fixture = await renderFixture(name);
      const result = validate(fixture, provider);
      expect(result.stdout + result.stderr).toContain('Vagrantfile validated successfully.');
      expect(result.status).toBe(0);
    });

    it.each(['virtualbox', 'libvirt'] as const)(
      'vagrant validate rejects a misspelt %s setting (the check can fail)',
      async (provider) => {
        const fixture = await renderFixture('source-lab');
        const path = join(fixture.dir, 'Vagrantfile');
        const prefix = provider === 'virtualbox' ? 'vb' : 'lv';
        writeFileSync(path, readFileSync(path, 'utf8').replace(`${prefix}.memory =`, `${prefix}.memmory =`));
        const result = validate(fixture, provider);
        expect(result.status).toBe(1);
        expect(result.stdout + result.stderr).toContain("The following settings shouldn't exist: memmory");
      },
    );

    it('loads every node, address, size and disk from vagrant_config.yml', async () => {
      const fixture = await renderFixture('source-lab');
      // Evaluate the real Vagrantfile with a recording stand-in for Vagrant's DSL to see
      // exactly what it would configure, VirtualBox disk commands included.
      const probe = join(fixture.dir, 'probe.rb');
      writeFileSync(probe, RECORDING_VAGRANT);
      const result = run('ruby', [probe, join(fixture.dir, 'Vagrantfile')]);
      expect(result.stderr).toBe('');
      const calls = JSON.parse(result.stdout) as Record<string, unknown[]>;
      expect(Object.keys(calls)).toEqual(['master', 'minion1', 'minion2', 'minion3']);
      expect(calls.master).toContainEqual(['hostname', 'k8s.master.dev']);
      expect(calls.minion2).toContainEqual([
        'network',
        'private_network',
        { ip: '192.168.200.102', netmask: '255.255.255.0' },
      ]);
      expect(calls.minion3).toContainEqual(['vb.memory', 4096]);
      expect(calls.minion3).toContainEqual(['lv.storage', 'file', { size: '10G', type: 'qcow2' }]);
      const attach = calls.minion1!.find(
        (c) => Array.isArray(c) && c[0] === 'vb.customize' && (c[1] as string[])[0] === 'storageattach',
      ) as [string, unknown[]];
      expect(attach[1]).toEqual([
        'storageattach',
        ':id',
        '--storagectl',
        'SATA Controller',
        '--port',
        1,
        '--device',
        0,
        '--type',
        'hdd',
        '--medium',
        expect.stringMatching(/\.vagrant\/disks\/minion1-disk1\.vdi$/),
      ]);
      expect(calls.minion1).toContainEqual(['vb.customize', ['modifyvm', ':id', '--nicpromisc2', 'allow-all']]);
      expect(
        calls.master!.some(
          (c) => Array.isArray(c) && c[0] === 'vb.customize' && (c[1] as string[])[0] === 'storageattach',
        ),
      ).toBe(false);
    });
  },
);

const RECORDING_VAGRANT = String.raw`
require 'json'
$calls = {}
class Recorder
  def initialize(log, prefix = nil)
    @log = log
    @prefix = prefix
  end
  def method_missing(name, *args, **kw, &block)
    key = name.to_s.chomp('=')
    args = args.map { |a| a.is_a?(Symbol) ? a.to_s : a }
    args << kw.transform_keys(&:to_s) unless kw.empty?
    if %w[vm].include?(key)
      return Recorder.new(@log, @prefix)
    elsif key == 'provider'
      block.call(Recorder.new(@log, args[0] == 'virtualbox' ? 'vb' : 'lv'))
    elsif key == 'define'
      log = ($calls[args[0]] = [])
      block.call(Recorder.new(log))
    elsif key == 'customize'
      @log << ["#{@prefix}.customize", args[0].map { |a| a.is_a?(Symbol) ? ":#{a}" : a }] if @log
    elsif @log
      @log << [@prefix ? "#{@prefix}.#{key}" : key, *args]
    end
    self
  end
  def respond_to_missing?(*) = true
end
module Vagrant
  def self.configure(_version)
    yield Recorder.new(nil)
  end
end
load ARGV[0]
puts JSON.generate($calls)
`;

const systemdMissing = missingTools('systemd-analyze');

describe.skipIf(systemdMissing)(
  `systemd units with systemd-analyze verify${systemdMissing ? ` (skipped: ${systemdMissing})` : ''}`,
  () => {
    // A scratch root with the distribution's unit directory and the binary ExecStart names;
    // systemd-analyze exits 0 even for unknown keys, so its output must be empty.
    function verify(fixture: RenderedFixture, node: string): string {
      const root = mkdtempSync(join(tmpdir(), 'systemd-root-'));
      mkdirSync(join(root, 'usr/bin'), { recursive: true });
      mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
      cpSync('/lib/systemd/system', join(root, 'usr/lib/systemd/system'), {
        recursive: true,
        dereference: false,
        verbatimSymlinks: true,
      });
      writeFileSync(join(root, 'usr/bin/kubelet'), '#!/bin/sh\n');
      chmodSync(join(root, 'usr/bin/kubelet'), 0o755);
      cpSync(join(fixture.dir, 'nodes', node, 'etc'), join(root, 'etc'), { recursive: true });
      const result = run('systemd-analyze', ['verify', `--root=${root}`, 'kubelet.service']);
      return `${result.status}\n${result.stdout}${result.stderr}`;
    }

    it.each(FIXTURES)('%s: kubelet.service and its drop-in verify clean', async (name) => {
      const fixture = await renderFixture(name);
      for (const node of fixture.loaded.model.nodes) {
        expect(verify(fixture, node.name)).toBe('0\n');
      }
    });

    it('reports an unknown key (the check can fail)', async () => {
      const fixture = await renderFixture('appliance');
      const path = join(fixture.dir, 'nodes/appliance/etc/systemd/system/kubelet.service');
      writeFileSync(path, readFileSync(path, 'utf8').replace('RestartSec=', 'RestartSecs='));
      expect(verify(fixture, 'appliance')).toContain("Unknown key 'RestartSecs'");
    });
  },
);

const containerdMissing = missingTools('containerd');

describe('containerd config.toml', () => {
  it.each(FIXTURES)('%s: parses as TOML with the systemd cgroup driver and the right sandbox image', async (name) => {
    const fixture = await renderFixture(name);
    for (const file of filesMatching(fixture, /config\.toml$/)) {
      const config = parseToml(file.content) as Record<string, unknown>;
      const text = JSON.stringify(config);
      expect(text).toContain('"SystemdCgroup":true');
      expect(text).toContain(JSON.stringify(fixture.loaded.model.runtime.sandboxImage));
      expect(config.version).toBe(fixture.loaded.model.runtime.containerdConfigVersion);
    }
  });

  it.skipIf(containerdMissing)(
    'is accepted by the real containerd 1.x for every version-2 config' +
      (containerdMissing ? ` (skipped: ${containerdMissing})` : ''),
    async () => {
      let checked = 0;
      for (const name of FIXTURES) {
        const fixture = await renderFixture(name);
        if (fixture.loaded.model.runtime.containerdConfigVersion !== 2) continue;
        const path = join(fixture.dir, filesMatching(fixture, /config\.toml$/)[0]!.path);
        const result = run('containerd', ['--config', path, 'config', 'dump']);
        expect(result.stderr).not.toMatch(/level=(error|fatal)/);
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(/SystemdCgroup = true/);
        expect(result.stdout).toContain(`sandbox_image = "${fixture.loaded.model.runtime.sandboxImage}"`);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    },
  );

  it.skipIf(containerdMissing)(
    'the real containerd rejects a broken config (the check can fail)' +
      (containerdMissing ? ` (skipped: ${containerdMissing})` : ''),
    async () => {
      const fixture = await renderFixture('appliance');
      const path = join(fixture.dir, 'nodes/appliance/etc/containerd/config.toml');
      writeFileSync(path, readFileSync(path, 'utf8').replace('SystemdCgroup = true', 'SystemdCgroup = tru'));
      expect(run('containerd', ['--config', path, 'config', 'dump']).status).not.toBe(0);
    },
  );
});

describe.skipIf(noReference)(
  `Rook resources against the Rook v1.20.6 CRD schemas${noReference ? ` (skipped: ${noReference})` : ''}`,
  () => {
    it.each(FIXTURES.filter((name) => name !== 'existing'))(
      '%s: CephCluster and CephBlockPools are valid',
      async (name) => {
        const fixture = await renderFixture(name);
        const docs = parseAllDocuments(filesMatching(fixture, /rook-cluster\.yaml$/)[0]!.content).map(
          (d) => d.toJS() as { kind: string },
        );
        const custom = docs.filter((d) => d.kind.startsWith('Ceph'));
        expect(custom.map((d) => d.kind)).toContain('CephCluster');
        for (const object of custom) expect(rookErrors(object)).toEqual([]);
      },
    );

    it('rejects an unknown field and a wrong type (the check can fail)', () => {
      const errors = rookErrors({ kind: 'CephCluster', spec: { mon: { count: 'three' }, storagee: {} } } as {
        kind: string;
      });
      expect(errors.join('\n')).toMatch(/\/spec\/mon\/count must be integer/);
      expect(errors.join('\n')).toMatch(/"additionalProperty":"storagee"/);
    });
  },
);

describe('core objects against Kubernetes schemas (kubernetes-models)', () => {
  async function models(apiVersion: string, kind: string): Promise<new (o: object) => { validate(): void }> {
    const group = apiVersion === 'v1' ? 'v1' : apiVersion;
    const module = (await import(/* @vite-ignore */ `kubernetes-models/${group}/${kind}`)) as Record<
      string,
      new (o: object) => { validate(): void }
    >;
    return module[kind]!;
  }
  async function validate(object: { apiVersion: string; kind: string }): Promise<void> {
    const Model = await models(object.apiVersion, object.kind);
    new Model(object).validate();
  }

  it.each(FIXTURES)('%s: every item of the Weave list and the StorageClass validate', async (name) => {
    const fixture = await renderFixture(name);
    const weave = parseAllDocuments(filesMatching(fixture, /weave-net\.yaml$/)[0]!.content)[0]!.toJS() as {
      kind: string;
      items: { apiVersion: string; kind: string }[];
    };
    expect(weave.kind).toBe('List');
    expect(weave.items.map((i) => i.kind)).toEqual([
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'DaemonSet',
    ]);
    for (const item of weave.items) await validate(item);
    for (const file of filesMatching(fixture, /rook-cluster\.yaml$/)) {
      const storageClass = parseAllDocuments(file.content)
        .map((d) => d.toJS() as { apiVersion: string; kind: string })
        .find((d) => d.kind === 'StorageClass')!;
      await validate(storageClass);
    }
  });

  it('the Weave password Secret validates and the DaemonSet only references it', async () => {
    const { weavePasswordSecret, WEAVE_PASSWORD_SECRET } = await import('../templates/weave.js');
    const secret = weavePasswordSecret('correct horse battery staple') as {
      apiVersion: string;
      kind: string;
      data: Record<string, string>;
    };
    await validate(secret);
    expect(Buffer.from(Object.values(secret.data)[0]!, 'base64').toString()).toBe('correct horse battery staple');
    const fixture = await renderFixture('ha');
    const manifest = filesMatching(fixture, /weave-net\.yaml$/)[0]!.content;
    expect(manifest).toContain(`name: ${WEAVE_PASSWORD_SECRET}`);
    expect(manifest).not.toContain('correct horse');
  });

  it('rejects a wrong type (the check can fail)', async () => {
    await expect(
      validate({
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'x' },
        provisioner: 5,
      } as never),
    ).rejects.toThrow(/provisioner/);
  });
});
