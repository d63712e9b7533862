// destroy's own check that nothing of a cluster is left in libvirt, against a real
// libvirtd: it must name a domain and a volume of the cluster while they exist, leave
// other clusters' things alone, and report nothing once they are gone.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerLeftovers } from '../vagrant/leftovers.js';
import { Libvirt, libvirtUnavailable } from './harness/libvirt.js';
import { REPO_ROOT } from './support/fixtures.js';
import { runAsync } from './support/tools.js';

const unavailable = libvirtUnavailable();
const virsh = (...args: string[]) =>
  execFileSync('virsh', ['-c', 'qemu:///system', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe.skipIf(unavailable)(
  `libvirt leftovers after destroy${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let libvirt: Libvirt;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync('/tmp/kubestrap-leftovers-');
      chmodSync(dir, 0o755);
      libvirt = await Libvirt.start(join(dir, 'libvirt'), 'kubestrap-leftovers');
    }, 120_000);

    afterAll(async () => {
      for (const domain of ['lab-cp', 'other-cp', 'lab-2-cp', 'gone-cp']) {
        try {
          virsh('undefine', domain);
        } catch {
          // not defined (the test removed it)
        }
      }
      await libvirt?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const define = (name: string) => {
      const xml = join(dir, `${name}.xml`);
      writeFileSync(
        xml,
        `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory>` +
          "<os><type arch='x86_64'>hvm</type></os>" +
          '<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>',
      );
      virsh('define', xml);
    };

    it(
      'names the cluster’s domain and volumes, not another cluster’s, and nothing once they are gone',
      { timeout: 120_000 },
      async () => {
        define('lab-cp');
        define('other-cp');
        define('lab-2-cp'); // cluster lab-2, not lab
        virsh('vol-create-as', libvirt.pool, 'lab-cp.img', '1M', '--format', 'qcow2');
        virsh('vol-create-as', libvirt.pool, 'lab-cp-vdb.qcow2', '1M', '--format', 'qcow2');
        virsh('vol-create-as', libvirt.pool, 'other-cp.img', '1M', '--format', 'qcow2');
        virsh('vol-create-as', libvirt.pool, 'lab-2-cp.img', '1M', '--format', 'qcow2');
        expect((await providerLeftovers('libvirt', 'lab', ['cp'], libvirt.pool, dir)).sort()).toEqual([
          'libvirt domain lab-cp',
          `libvirt volume lab-cp-vdb.qcow2 (pool ${libvirt.pool})`,
          `libvirt volume lab-cp.img (pool ${libvirt.pool})`,
        ]);
        virsh('undefine', 'lab-cp');
        virsh('vol-delete', '--pool', libvirt.pool, 'lab-cp.img');
        virsh('vol-delete', '--pool', libvirt.pool, 'lab-cp-vdb.qcow2');
        expect(await providerLeftovers('libvirt', 'lab', ['cp'], libvirt.pool, dir)).toEqual([]);
      },
    );

    it(
      "destroy forgets the machines' host keys even when the provider still holds something of the cluster",
      { timeout: 120_000 },
      async () => {
        const cwd = mkdtempSync(join(dir, 'destroy-'));
        writeFileSync(
          join(cwd, 'cluster.yaml'),
          `apiVersion: kubestrap.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: gone\nspec:\n  machines:\n` +
            `    provider: libvirt\n    libvirt:\n      storagePool: ${libvirt.pool}\n` +
            `    nodes:\n      - name: cp\n        role: control-plane\n        ip: 192.168.56.10\n` +
            `  storage:\n    rook:\n      enabled: false\n`,
        );
        const state = join(cwd, '.kubestrap/gone');
        mkdirSync(state, { recursive: true });
        writeFileSync(
          join(state, 'known_hosts'),
          '192.168.121.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 kubestrap-node=cp\n',
        );
        define('gone-cp'); // vagrant destroy finished, but libvirt still holds the domain
        const result = await runAsync(
          process.execPath,
          [join(REPO_ROOT, 'dist/cli/main.js'), 'destroy', '-f', 'cluster.yaml', '--yes'],
          { cwd, env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 60_000 },
        );
        expect(result.status).toBe(1);
        expect(result.stderr).toContain('libvirt domain gone-cp');
        expect(result.stderr).toContain(
          `the working directory ${state} was kept, without the machines' 1 host key(s): the machines are gone.`,
        );
        expect(existsSync(join(state, 'known_hosts'))).toBe(false);
        expect(existsSync(join(cwd, 'cluster.yaml'))).toBe(true);
      },
    );
  },
);
