import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { distroDebs } from './apt-mirror.js';
import type { Harness, TestHost } from './hosts.js';

const FOLLOW_CONF = '/root/kubestrap-test-chrony.conf';
const DEBS_IN_HOST = '/root/kubestrap-test-chrony-debs';

/**
 * A local NTP server on the hosts' bridge (Debian's chronyd, unpacked from the package the
 * hosts get, so this machine's own time daemon is left alone), and chrony on hosts that
 * follow it. Every chronyd here runs with -x: it measures the clock against its source
 * and reports, but never sets, the one clock this machine and its namespace hosts share
 * (systemd-nspawn's seccomp filter refuses adjtimex inside the hosts anyway, which is
 * why timedatectl there never says synchronised).
 */
export class TimeServer {
  private readonly output: string[] = [];

  private constructor(
    private readonly harness: Harness,
    private readonly dir: string,
    private readonly debs: string,
    private readonly server: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      this.output.splice(0, Math.max(0, this.output.length - 20));
    };
    server.stdout?.on('data', keep);
    server.stderr?.on('data', keep);
  }

  static async start(harness: Harness): Promise<TimeServer> {
    const debs = await distroDebs(['chrony']);
    const dir = mkdtempSync('/tmp/kubestrap-time-');
    const chrony = readdirSync(debs).find((f) => /^chrony_.*\.deb$/.test(f));
    if (!chrony) throw new Error(`no chrony package in ${debs}`);
    execFileSync('dpkg-deb', ['-x', join(debs, chrony), join(dir, 'pkg')]);
    // cmdport 0 and a socket in our own 0700 directory: no clash with a chronyd this
    // machine runs, or with another test file's server on another bridge.
    writeFileSync(
      join(dir, 'server.conf'),
      [
        `bindaddress ${harness.gateway}`,
        `allow ${harness.gateway.replace(/\.1$/, '.0')}/24`,
        'local stratum 8',
        'cmdport 0',
        `bindcmdaddress ${dir}/chronyd.sock`,
        `pidfile ${dir}/chronyd.pid`,
        '',
      ].join('\n'),
    );
    const server = spawn(
      join(dir, 'pkg/usr/sbin/chronyd'),
      ['-d', '-x', '-u', 'root', '-f', join(dir, 'server.conf')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const time = new TimeServer(harness, dir, debs, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('exit', (code) => reject(new Error(`chronyd exited (${code}): ${time.output.join('\n')}`)));
      server.once('spawn', () => resolve());
    });
    return time;
  }

  /** Installs chrony on the host and starts it following this server; resolves once chronyc says it is synchronised. */
  async follow(host: TestHost): Promise<void> {
    const inHost = join(host.root, DEBS_IN_HOST.slice(1));
    mkdirSync(inHost, { recursive: true });
    for (const deb of readdirSync(this.debs)) copyFileSync(join(this.debs, deb), join(inHost, deb));
    await this.harness.insideAsync(host, `dpkg -i ${DEBS_IN_HOST}/*.deb >/dev/null && rm -rf ${DEBS_IN_HOST}`);
    // The packaged unit needs CAP_SYS_TIME, which the host lacks: it never runs. Ours does.
    writeFileSync(
      join(host.root, FOLLOW_CONF.slice(1)),
      `server ${this.harness.gateway} iburst minpoll -2 maxpoll -2\npidfile /run/chrony/chronyd.pid\n`,
    );
    await this.harness.insideAsync(host, `mkdir -p /run/chrony && chronyd -x -u root -f ${FOLLOW_CONF}`);
    let seen = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
      seen = await this.harness
        .insideAsync(host, 'chronyc -n tracking; chronyc -n sources')
        .catch((e: Error) => e.message);
      if (/^Leap status\s*:\s*Normal$/m.test(seen)) return;
    }
    throw new Error(
      `${host.name} did not synchronise to ${this.harness.gateway} within 60 s; chronyc said:\n${seen}\n` +
        `the server said:\n${this.output.join('\n')}`,
    );
  }

  /** Stops the host's chronyd and purges chrony, so the host is as kubestrap left it. */
  async leave(host: TestHost): Promise<void> {
    await this.harness.insideAsync(host, `pkill -x chronyd; rm -f ${FOLLOW_CONF}; dpkg --purge chrony >/dev/null`);
  }

  async stop(): Promise<void> {
    if (this.server.exitCode === null) {
      const exited = new Promise((resolve) => this.server.once('exit', resolve));
      this.server.kill();
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
