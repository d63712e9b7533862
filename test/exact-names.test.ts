// Versions and names matched exactly, not by prefix: a spec's containerd 1.7.2 is not
// 1.7.27, and destroy's check for cluster lab's leftovers does not claim lab-2's.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { matchesRelease } from '../base/release-match.js';
import { aptReleaseLookup } from '../provisioners/runtime.js';
import { clusterLeftovers } from '../vagrant/leftovers.js';
import { missingTools } from './support/tools.js';

describe('a package version against the release the spec names', () => {
  it.each([
    ['1.7.2', '1.7.2', true],
    ['1.7.2-1', '1.7.2', true],
    ['1:1.7.2-1', '1.7.2', true],
    ['1.7.2~ds1-1+deb12u1', '1.7.2', true],
    ['1.7.27', '1.7.2', false],
    ['1.7.27-1', '1.7.2', false],
    ['11.7.2-1', '1.7.2', false],
    ['2.1.3-1', '2.1', true],
    ['2.10.1-1', '2.1', false],
    ['1.6.20~ds1-1+deb12u1', '1.6.20', true],
  ])('%s is release %s: %s', (version, release, expected) => {
    expect(matchesRelease(version, release)).toBe(expected);
  });

  const aptMissing = missingTools('apt-cache');
  it.skipIf(aptMissing)(
    `on a host, apt's own list gives the version of that release${aptMissing ? ` (skipped: ${aptMissing})` : ''}`,
    () => {
      // libc6 is known to apt on every Debian host: its installed version, as release MAJOR.MINOR.
      const installed = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'libc6'], { encoding: 'utf8' }).stdout;
      const release = /^(?:\d+:)?(\d+\.\d+)/.exec(installed)![1]!;
      const lookup = (wanted: string) =>
        spawnSync('sh', ['-c', `${aptReleaseLookup('libc6', wanted)}; echo "$v"`], { encoding: 'utf8' });
      expect(lookup(release).stdout.trim()).toBe(installed);
      // One digit short is another release (2.3 is not 2.36), which apt's `libc6=2.3*` would take.
      const shorter = lookup(release.slice(0, -1));
      expect(shorter.status).toBe(1);
      expect(shorter.stderr).toContain(`no libc6 ${release.slice(0, -1)} in the configured repositories`);
    },
  );
});

describe("destroy's leftovers of a cluster", () => {
  it("are its machines' exact names and disks under its own directory, not another cluster's", () => {
    const found = clusterLeftovers('lab', ['cp', 'w1'], 'default', '/home/u/.kubestrap/lab', {
      domains: ['lab-cp', 'lab-2-cp', 'lab-w1x', 'other-cp'],
      volumes: ['lab-cp.img', 'lab-cp-vdb.qcow2', 'lab-2-cp.img', 'lab-2-cp-vdb.qcow2', 'lab-w10.img'],
      vms: ['lab-w1', 'lab-2-w1'],
      disks: ['/home/u/.kubestrap/lab/.vagrant/disks/w1-sdb.vdi', '/home/u/.kubestrap/lab-2/.vagrant/disks/w1-sdb.vdi'],
    });
    expect(found).toEqual([
      'libvirt domain lab-cp',
      'libvirt volume lab-cp.img (pool default)',
      'libvirt volume lab-cp-vdb.qcow2 (pool default)',
      'VirtualBox VM lab-w1',
      'VirtualBox disk /home/u/.kubestrap/lab/.vagrant/disks/w1-sdb.vdi',
    ]);
  });
});
