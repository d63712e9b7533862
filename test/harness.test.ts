// The harness itself: hosts are separate machines as far as SSH is concerned, and
// stop() leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SshPool } from '../ssh/pool.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';

const unavailable = harnessUnavailable();

function processesRootedUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/root`).startsWith(dir)) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return pids;
}

describe.skipIf(unavailable)(`test hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness | undefined;
  afterAll(() => harness?.stop());

  it('starts hosts with their own IP, hostname, filesystem and host key', { timeout: 900_000 }, async () => {
    harness = await Harness.start(2);
    const [a, b] = harness.hosts as [NonNullable<Harness['hosts'][0]>, NonNullable<Harness['hosts'][0]>];
    expect(a.ip).not.toBe(b.ip);
    expect(harness.inside(a, 'hostname').trim()).toBe('h1');
    expect(harness.inside(b, 'cat /etc/hostname').trim()).toBe('h2');
    harness.inside(a, 'echo only-on-a > /etc/marker');
    expect(existsSync(`${b.root}/etc/marker`)).toBe(false);
    expect(readFileSync(`${a.root}/etc/ssh/ssh_host_ed25519_key.pub`, 'utf8')).not.toBe(
      readFileSync(`${b.root}/etc/ssh/ssh_host_ed25519_key.pub`, 'utf8'),
    );
    expect(harness.inside(a, `ip -4 -o addr show eth0`)).toContain(a.ip);
  });

  it('stop() leaves no process, mount, namespace, bridge or directory behind', async () => {
    const h = harness!;
    harness = undefined;
    const launchers = h.hosts.map((host) => host.launcher.pid!);
    await h.stop();
    expect(processesRootedUnder(h.dir)).toEqual([]);
    for (const pid of launchers) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(h.dir);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(new RegExp(`^ks${h.id}-`, 'm'));
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    expect(links).not.toContain(`${h.bridge}:`);
    expect(links).not.toContain(` ks${h.id}-h`);
    expect(existsSync(h.dir)).toBe(false);
  });

  it(
    'systemd hosts: systemd is PID 1, systemctl works over SSH, and stop() removes their cgroups too',
    { timeout: 120_000 },
    async () => {
      const h = await Harness.start(3, 'systemd');
      const pool = new SshPool({ knownHostsPath: join(h.dir, 'known_hosts') });
      try {
        const host = h.hosts[2]!;
        expect(h.inside(host, 'ps -p 1 -o comm=').trim()).toBe('systemd');
        const ssh = pool.host({
          name: host.name,
          address: host.ip,
          port: 22,
          user: 'kube',
          privateKey: readFileSync(h.clientKeyPath),
        });
        await ssh.upload(
          { content: '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n' },
          '/etc/systemd/system/kubestrap-probe.service',
          { mode: 0o644 },
        );
        await ssh.exec('systemctl daemon-reload && systemctl start kubestrap-probe.service');
        expect((await ssh.exec('systemctl is-active kubestrap-probe.service')).stdout).toBe('active\n');
        expect((await ssh.exec('hostname')).stdout).toBe('h3\n');
      } finally {
        await pool.close();
        await h.stop();
      }
      for (const hierarchy of ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']) {
        if (existsSync(hierarchy))
          expect(readdirSync(hierarchy).filter((d) => d.startsWith(`kubestrap-test-${h.id}-`))).toEqual([]);
      }
      expect(processesRootedUnder(h.dir)).toEqual([]);
      expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(h.dir);
    },
  );
});
