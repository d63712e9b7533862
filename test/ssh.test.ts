// The SSH transport against real OpenSSH servers on the harness hosts.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CommandFailedError,
  CommandTimeoutError,
  ConnectError,
  ConnectionLostError,
  HostKeyMismatchError,
  HostKeyRevokedError,
  SudoPasswordError,
} from '../ssh/errors.js';
import type { SshTarget } from '../ssh/host.js';
import { fingerprint } from '../ssh/known-hosts.js';
import { SshPool, type SshPoolOptions } from '../ssh/pool.js';
import { Harness, harnessUnavailable, type TestHost } from './harness/hosts.js';
import { harnessSpec } from './support/cluster.js';
import { REPO_ROOT } from './support/fixtures.js';
import { runAsync } from './support/tools.js';

const unavailable = harnessUnavailable();

describe.skipIf(unavailable)(`ssh transport on real sshd${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness;
  let key: Buffer;
  let work: string;
  const pools: SshPool[] = [];

  beforeAll(async () => {
    harness = await Harness.start(7);
    key = readFileSync(harness.clientKeyPath);
    work = mkdtempSync(join(tmpdir(), 'ssh-test-'));
  }, 900_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await harness?.stop();
  });

  function pool(options: Partial<SshPoolOptions> = {}): SshPool {
    const p = new SshPool({
      knownHostsPath: join(work, `known_hosts-${pools.length}`),
      logDir: join(work, `logs-${pools.length}`),
      connectBackoffMs: 200,
      ...options,
    });
    pools.push(p);
    return p;
  }

  function target(host: TestHost, user = 'root', extra: Partial<SshTarget> = {}): SshTarget {
    return { name: host.name, address: host.ip, port: 22, user, privateKey: key, ...extra };
  }

  const h = (name: string) => harness.host(name);

  describe('exec', () => {
    it('returns stdout, stderr and the exit code', async () => {
      const host = pool().host(target(h('h1')));
      const result = await host.exec('echo out; echo err >&2; exit 0');
      expect(result).toMatchObject({ code: 0, stdout: 'out\n', stderr: 'err\n' });
    });

    it('throws CommandFailedError naming the host, command, exit code and last output', async () => {
      const host = pool().host(target(h('h1')));
      const error = await host.exec('echo about to fail; exit 7').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommandFailedError);
      expect((error as Error).message).toBe(
        'h1: `echo about to fail; exit 7` exited 7\n--- last output ---\nabout to fail',
      );
      expect((await host.exec('exit 3', { check: false })).code).toBe(3);
    });

    it('reports a command killed by a signal', async () => {
      const host = pool().host(target(h('h1')));
      const result = await host.exec('kill -KILL $$', { check: false });
      expect(result.signal ?? `code ${result.code}`).toMatch(/KILL|code 137/);
    });

    it('runs commands as root through sudo -n for a non-root user, or as the user when asked', async () => {
      const host = pool().host(target(h('h1'), 'kube'));
      expect((await host.exec('id -u')).stdout.trim()).toBe('0');
      expect((await host.exec('id -un', { sudo: false })).stdout.trim()).toBe('kube');
    });

    it('says clearly when sudo wants a password, instead of hanging', async () => {
      const host = pool().host(target(h('h1'), 'pw'));
      const error = await host.exec('id -u', { timeoutMs: 20_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SudoPasswordError);
      expect((error as Error).message).toContain(
        'h1: sudo asks pw for a password; kubestrap runs sudo -n. Give pw passwordless sudo',
      );
    });

    it('times out, says what it saw, and the remote command does not outlive its limit', async () => {
      const host = pool().host(target(h('h1')));
      const started = Date.now();
      const error = await host.exec('echo started; sleep 600', { timeoutMs: 1500 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommandTimeoutError);
      expect(Date.now() - started).toBeLessThan(5000);
      expect((error as Error).message).toBe(
        'h1: `echo started; sleep 600` did not finish within 2 s\n--- last output ---\nstarted',
      );
      // The remote `timeout` wrapper ends it too (1.5 s → 2 s, plus 5 s grace at most).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(harness.inside(h('h1'), 'pgrep -fx "sleep 600" || true').trim()).toBe('');
    });

    it('runs more commands at once than sshd allows channels (MaxSessions 10) by queueing', async () => {
      const host = pool().host(target(h('h2')));
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => host.exec(`sleep 0.2; echo ${i}`)));
      expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    });

    it('uses one connection for every command', async () => {
      const host = pool().host(target(h('h2')));
      const ports = new Set<string>();
      for (let i = 0; i < 5; i++) ports.add((await host.exec('echo $SSH_CLIENT')).stdout.split(' ')[1]!);
      expect(ports.size).toBe(1);
    });
  });

  describe('exchange (a TCP request the host makes)', () => {
    it('reads the answer of a service only the host reaches, bounded in bytes and in time', async () => {
      const host = pool().host(target(h('h1')));
      // sshd's own banner on the host's loopback: an answer that arrives unasked.
      const line = (b: Buffer) => b.includes('\n');
      const banner = await host.exchange('127.0.0.1', 22, Buffer.alloc(0), {
        timeoutMs: 5000,
        maxBytes: 1024,
        complete: line,
      });
      expect(banner.toString()).toMatch(/^SSH-2\.0-OpenSSH/);
      const cut = await host.exchange('127.0.0.1', 22, Buffer.alloc(0), {
        timeoutMs: 5000,
        maxBytes: 4,
        complete: () => false,
      });
      expect(cut.toString()).toBe('SSH-');
      const started = Date.now();
      await expect(
        host.exchange('127.0.0.1', 22, Buffer.alloc(0), { timeoutMs: 700, maxBytes: 1024, complete: () => false }),
      ).rejects.toThrow('h1: no whole answer from 127.0.0.1:22 within 700 ms');
      expect(Date.now() - started).toBeLessThan(3000);
      await expect(
        host.exchange('127.0.0.1', 1, Buffer.alloc(0), { timeoutMs: 5000, maxBytes: 1024, complete: line }),
      ).rejects.toThrow(/^h1: cannot connect to 127\.0\.0\.1:1 from the host: /);
      // The connection still serves commands afterwards.
      expect((await host.exec('echo still')).stdout).toBe('still\n');
    });
  });

  describe('secrets', () => {
    it('never shows a secret handed over stdin in output, errors, logs or the remote process list', async () => {
      const p = pool();
      const host = p.host(target(h('h1'), 'kube'));
      const token = `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}`;
      const result = await host.exec('read -r t; echo "token is $t"; ps -eo args', {
        stdin: `${token}\n`,
        secrets: [token],
      });
      expect(result.stdout).toContain('token is [redacted]');
      expect(result.stdout).not.toContain(token);
      const error = await host
        .exec('read -r t; echo "bad $t" >&2; exit 1', { stdin: `${token}\n`, secrets: [token] })
        .catch((e: Error) => e);
      expect((error as Error).message).toContain('bad [redacted]');
      expect((error as Error).message).not.toContain(token);
      await p.close();
      const log = p.logPath('h1')!;
      expect(statSync(log).mode & 0o777).toBe(0o600);
      const text = readFileSync(log, 'utf8');
      expect(text).toContain('token is [redacted]');
      expect(text).not.toContain(token);
    });
  });

  describe('host keys', () => {
    it('trusts a new host on first use into a 0600 known_hosts, then checks it', async () => {
      const p = pool();
      await p.host(target(h('h3'))).exec('true');
      const known = readFileSync(p.knownHosts.path, 'utf8');
      const offered = readFileSync(`${h('h3').root}/etc/ssh/ssh_host_ed25519_key.pub`, 'utf8').split(' ')[1];
      // The node is recorded with its key, so that forget-host finds it whatever address was dialled.
      expect(known).toBe(`${h('h3').ip} ssh-ed25519 ${offered} kubestrap-node=h3\n`);
      expect(statSync(p.knownHosts.path).mode & 0o777).toBe(0o600);
      const again = new SshPool({ knownHostsPath: p.knownHosts.path });
      pools.push(again);
      await again.host(target(h('h3'))).exec('true');
      expect(readFileSync(p.knownHosts.path, 'utf8')).toBe(known);
    });

    const hostKey = (host: TestHost, type: string) =>
      Buffer.from(readFileSync(`${host.root}/etc/ssh/ssh_host_${type}_key.pub`, 'utf8').split(' ')[1]!, 'base64');

    it('refuses a changed key, names both fingerprints and how to forget, and connects after forget', async () => {
      const knownHostsPath = join(work, 'known_hosts-changed');
      const first = pool({ knownHostsPath });
      await first.host(target(h('h4'))).exec('true');
      const oldKey = hostKey(h('h4'), 'ed25519');
      await harness.newHostKey(h('h4'));
      const newKey = hostKey(h('h4'), 'ed25519');
      const second = pool({ knownHostsPath, forgetCommand: (t) => `kubestrap forget-host ${t.name} -f lab.yaml` });
      const error = await second
        .host(target(h('h4')))
        .exec('true')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyMismatchError);
      expect((error as Error).message).toBe(
        `h4: host key changed for ${h('h4').ip}: it offered ssh-ed25519 ${fingerprint(newKey)}, but the recorded ` +
          `key(s) are ssh-ed25519 ${fingerprint(oldKey)} (${knownHostsPath}:1). This is either a recreated machine ` +
          '(Vagrant reuses IPs) or someone in the middle. If you recreated it, forget the old key with: ' +
          'kubestrap forget-host h4 -f lab.yaml',
      );
      expect(second.knownHosts.forget('h4', []).map((k) => k.pattern)).toEqual([h('h4').ip]);
      const third = pool({ knownHostsPath });
      await third.host(target(h('h4'))).exec('true');
    });

    it('refuses a host known by its ed25519 key that now offers only ssh-rsa, and records nothing', async () => {
      const host = h('h6');
      const first = pool();
      await first.host(target(host)).exec('true');
      const recorded = readFileSync(first.knownHosts.path, 'utf8');
      const ed25519 = hostKey(host, 'ed25519');
      await harness.useHostKeys(host, ['rsa']);
      const second = pool({ knownHostsPath: first.knownHosts.path });
      const error = await second
        .host(target(host))
        .exec('echo should not run')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyMismatchError);
      expect((error as Error).message).toContain(
        `h6: host key changed for ${host.ip}: it offered ssh-rsa ${fingerprint(hostKey(host, 'rsa'))}, ` +
          `but the recorded key(s) are ssh-ed25519 ${fingerprint(ed25519)} (${first.knownHosts.path}:1).`,
      );
      expect((error as Error).message).toContain('kubestrap forget-host h6');
      expect(readFileSync(first.knownHosts.path, 'utf8')).toBe(recorded);
      await harness.useHostKeys(host, ['ed25519']);
    });

    it('offers the recorded key type first, so a host that gained a key of another type is still known', async () => {
      const host = h('h7');
      await harness.useHostKeys(host, ['rsa']);
      const first = pool();
      await first.host(target(host)).exec('true');
      expect(readFileSync(first.knownHosts.path, 'utf8')).toContain(`${host.ip} ssh-rsa `);
      await harness.useHostKeys(host, ['ed25519', 'rsa']);
      const again = pool({ knownHostsPath: first.knownHosts.path });
      expect((await again.host(target(host)).exec('echo known')).stdout).toBe('known\n');
      expect(readFileSync(first.knownHosts.path, 'utf8')).not.toContain('ssh-ed25519');
    });

    it('reports a known host that cannot present any recorded key type as changed, not as a login error', async () => {
      const host = h('h7');
      await harness.useHostKeys(host, ['ecdsa']);
      const first = pool();
      await first.host(target(host)).exec('true');
      await harness.useHostKeys(host, ['dsa']);
      try {
        const error = await pool({ knownHostsPath: first.knownHosts.path, connectAttempts: 1 })
          .host(target(host))
          .exec('true')
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HostKeyMismatchError);
        expect((error as Error).message).toContain(
          `h7: host key changed for ${host.ip}: it offered no key of the recorded types or any other type ` +
            `kubestrap can check, but the recorded key(s) are ecdsa-sha2-nistp256 ` +
            `${fingerprint(hostKey(host, 'ecdsa'))} (${first.knownHosts.path}:1).`,
        );
      } finally {
        await harness.useHostKeys(host, ['ed25519']);
      }
    });

    describe("OpenSSH's known_hosts (existing hosts)", () => {
      let home: string;
      const userFile = () => join(home, '.ssh', 'known_hosts');

      beforeAll(() => {
        home = mkdtempSync(join(tmpdir(), 'ssh-home-'));
        mkdirSync(join(home, '.ssh'), { mode: 0o700 });
      });

      /** known_hosts lines, hashed by the real ssh-keygen -H. */
      function writeHashed(lines: string): void {
        writeFileSync(userFile(), lines, { mode: 0o600 });
        execFileSync('ssh-keygen', ['-q', '-H', '-f', userFile()], { stdio: 'ignore' });
        expect(readFileSync(userFile(), 'utf8')).toMatch(/^\|1\|/m);
        expect(readFileSync(userFile(), 'utf8')).not.toContain('10.213.');
      }

      const other = () => {
        const path = join(work, `other-${randomBytes(4).toString('hex')}`);
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
        return readFileSync(`${path}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
      };

      it('trusts a host that a hashed ~/.ssh/known_hosts line knows, without recording it again', async () => {
        writeHashed(`${h('h1').ip} ssh-ed25519 ${hostKey(h('h1'), 'ed25519').toString('base64')}\n`);
        const p = pool({ openSshKnownHosts: [userFile()] });
        expect((await p.host(target(h('h1'))).exec('echo ok')).stdout).toBe('ok\n');
        expect(existsSync(p.knownHosts.path)).toBe(false);
      });

      it('refuses on first use a host whose key conflicts with ~/.ssh/known_hosts, and says the fix', async () => {
        const wrong = other();
        const offered = fingerprint(hostKey(h('h2'), 'ed25519'));
        writeHashed(`# kept\n${h('h2').ip} ${wrong}\n`);
        const p = pool({ openSshKnownHosts: [userFile()] });
        const error = await p
          .host(target(h('h2')))
          .exec('true')
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HostKeyMismatchError);
        expect((error as Error).message).toContain(
          `h2: host key changed for ${h('h2').ip}: it offered ssh-ed25519 ${offered}, ` +
            `but the recorded key(s) are ssh-ed25519 ${fingerprint(Buffer.from(wrong.split(' ')[1]!, 'base64'))} ` +
            `(${userFile()}:2).`,
        );
        expect((error as Error).message).toContain(`ssh-keygen -f '${userFile()}' -R '${h('h2').ip}'`);
        expect(existsSync(p.knownHosts.path)).toBe(false);
      });

      it('refuses a host key marked @revoked', async () => {
        writeFileSync(
          userFile(),
          `@revoked * ssh-ed25519 ${hostKey(h('h1'), 'ed25519').toString('base64')}\n` +
            `${h('h1').ip} ssh-ed25519 ${hostKey(h('h1'), 'ed25519').toString('base64')}\n`,
        );
        const error = await pool({ openSshKnownHosts: [userFile()] })
          .host(target(h('h1')))
          .exec('true')
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HostKeyRevokedError);
        expect((error as Error).message).toContain(`is marked @revoked in ${userFile()}:1; kubestrap will not connect`);
      });

      it('kubestrap ssh reads $HOME/.ssh/known_hosts for existing hosts', async () => {
        writeHashed(`${h('h5').ip} ${other()}\n`);
        const dir = mkdtempSync(join(tmpdir(), 'ssh-cli-'));
        writeFileSync(join(dir, 'cluster.yaml'), harnessSpec(harness));
        const cli = (...args: string[]) =>
          runAsync(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), ...args], {
            cwd: dir,
            env: { ...process.env, HOME: home, SSH_AUTH_SOCK: '' },
            timeoutMs: 60_000,
          });
        const refused = await cli('ssh', 'h5', '-f', 'cluster.yaml', '--', 'echo should not run');
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toContain(`h5: host key changed for ${h('h5').ip}`);
        expect(refused.stderr).toContain(`(${userFile()}:1)`);
        expect(refused.status).not.toBe(0);
        rmSync(userFile());
        const ran = await cli('ssh', 'h5', '-f', 'cluster.yaml', '--', 'echo ran');
        expect(ran.stdout).toBe('ran\n');
        expect(readFileSync(join(dir, '.kubestrap/harness/known_hosts'), 'utf8')).toContain(
          `${h('h5').ip} ssh-ed25519 ${hostKey(h('h5'), 'ed25519').toString('base64')} kubestrap-node=h5\n`,
        );
        const forgot = await cli('forget-host', 'h5', '-f', 'cluster.yaml');
        expect(forgot.stdout).toBe(
          `forgot 1 host key(s) of h5 in ${join(dir, '.kubestrap/harness/known_hosts')}:\n` +
            `  ${h('h5').ip} ssh-ed25519 ${fingerprint(hostKey(h('h5'), 'ed25519'))}\n`,
        );
      });
    });
  });

  it('kubestrap warns about a private key others may read, naming it and chmod 600, and connects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssh-key-mode-'));
    const keyPath = join(dir, 'id_ed25519');
    writeFileSync(keyPath, key, { mode: 0o644 });
    chmodSync(keyPath, 0o644);
    writeFileSync(
      join(dir, 'cluster.yaml'),
      harnessSpec(harness).replace(`keyPath: ${harness.clientKeyPath}`, `keyPath: ${keyPath}`),
    );
    const ran = await runAsync(
      process.execPath,
      [join(REPO_ROOT, 'dist/cli/main.js'), 'ssh', 'h1', '-f', 'cluster.yaml', '--', 'echo ran'],
      { cwd: dir, env: { ...process.env, HOME: dir, SSH_AUTH_SOCK: '' }, timeoutMs: 60_000 },
    );
    expect(ran.stdout).toBe('ran\n');
    expect(ran.stderr).toBe(
      `kubestrap: warning: private key ${keyPath} is accessible by others (mode 0644); OpenSSH refuses such a key ` +
        `("UNPROTECTED PRIVATE KEY FILE!"). Fix: chmod 600 ${keyPath}\n`,
    );
  });

  describe('connecting', () => {
    it('retries on network errors and connects once sshd is back', async () => {
      const host = h('h5');
      harness.sshdDown(host);
      const connecting = pool({ connectAttempts: 8 }).host(target(host)).exec('echo up');
      setTimeout(() => void harness.sshdUp(host), 1500);
      expect((await connecting).stdout).toBe('up\n');
    });

    it('gives up after the last attempt and says it was the last', async () => {
      const host = h('h5');
      harness.sshdDown(host);
      try {
        const error = await pool({ connectAttempts: 3, connectBackoffMs: 100 })
          .host(target(host))
          .exec('true')
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConnectError);
        // It never answered in this pool's life: unreachable, with where and why.
        expect((error as Error).message).toMatch(
          new RegExp(
            /^h5: unreachable at 10\.213\.\d+\.15 port 22: connect ECONNREFUSED \S+ /.source +
              /\(attempt 3 of 3, the last, after \d+ s; it never answered\)\. /.source +
              /Check that the host is up, the address and port in the spec are right, and sshd listens there$/.source,
          ),
        );
      } finally {
        await harness.sshdUp(host);
      }
    });

    it('does not retry a refused login', async () => {
      const wrong = execFileSync('sh', ['-c', `ssh-keygen -q -t ed25519 -N '' -f ${work}/wrong && cat ${work}/wrong`]);
      const started = Date.now();
      const error = await pool({ connectAttempts: 5, connectBackoffMs: 2000 })
        .host(target(h('h1'), 'root', { privateKey: wrong }))
        .exec('true')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as Error).message).toContain('h1: cannot log in to root@');
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('logs in with a passphrase-protected key', async () => {
      const path = join(work, 'with-passphrase');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-f', path]);
      appendFileSync(`${h('h2').root}/home/kube/.ssh/authorized_keys`, readFileSync(`${path}.pub`));
      const host = pool().host(target(h('h2'), 'kube', { privateKey: readFileSync(path), passphrase: 'open sesame' }));
      expect((await host.exec('whoami', { sudo: false })).stdout).toBe('kube\n');
    });

    it('logs in through an SSH agent', async () => {
      const socket = join(work, 'agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      try {
        for (let i = 0; i < 50 && !existsSync(socket); i++) await new Promise((resolve) => setTimeout(resolve, 50));
        execFileSync('ssh-add', [harness.clientKeyPath], {
          env: { ...process.env, SSH_AUTH_SOCK: socket },
          stdio: 'ignore',
        });
        const host = pool().host({ name: 'h2', address: h('h2').ip, port: 22, user: 'kube', agent: socket });
        expect((await host.exec('whoami', { sudo: false })).stdout).toBe('kube\n');
      } finally {
        agent.kill();
      }
    });

    it('reaches a host through a bastion, checking both host keys', async () => {
      const p = pool();
      const bastion = { address: h('h1').ip, port: 22, user: 'root', privateKey: key };
      const host = p.host(target(h('h3'), 'kube', { bastion }));
      const result = await host.exec('echo $SSH_CLIENT; hostname', { sudo: false });
      expect(result.stdout.split(' ')[0]).toBe(h('h1').ip); // the connection came from the bastion
      expect(result.stdout.trim().endsWith('h3')).toBe(true);
      const known = readFileSync(p.knownHosts.path, 'utf8');
      expect(known).toContain(`${h('h1').ip} ssh-ed25519`);
      expect(known).toContain(`${h('h3').ip} ssh-ed25519`);
    });

    it('connects with a target resolved from the spec and ~/.ssh/config', async () => {
      const { resolveTarget } = await import('../ssh/targets.js');
      const sshConfig = `Host ${h('h2').ip}\n  User kube\n  IdentityFile ${harness.clientKeyPath}\n`;
      const resolved = resolveTarget(
        'h2',
        { address: h('h2').ip },
        { sshConfig, home: '/nonexistent', readKey: (p) => readFileSync(p), keyExists: (p) => existsSync(p) },
      );
      expect((await pool().host(resolved).exec('whoami', { sudo: false })).stdout).toBe('kube\n');
    });

    it('fails a command whose connection drops, then reconnects for the next one', async () => {
      const host = pool().host(target(h('h5')));
      await host.exec('true');
      const running = host.exec('sleep 30', { timeoutMs: 60_000 }).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 500));
      harness.sshdDown(h('h5'));
      const error = await running;
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect((error as Error).message).toContain('h5: connection lost while a command was running');
      await harness.sshdUp(h('h5'));
      expect((await host.exec('echo back')).stdout).toBe('back\n');
    });
  });

  describe('upload', () => {
    const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

    it('writes a file with mode and owner, verified by sha256, and skips it when unchanged', async () => {
      const host = pool().host(target(h('h2'), 'kube'));
      const content = 'KUBELET_EXTRA_ARGS=--node-ip=10.0.0.1\n';
      expect(await host.upload({ content }, '/etc/default/kubelet', { mode: 0o640 })).toEqual({
        changed: true,
        sha256: sha(content),
      });
      const stat = statSync(`${h('h2').root}/etc/default/kubelet`);
      expect(stat.mode & 0o777).toBe(0o640);
      expect(stat.uid).toBe(0);
      expect(readFileSync(`${h('h2').root}/etc/default/kubelet`, 'utf8')).toBe(content);
      expect((await host.upload({ content }, '/etc/default/kubelet', { mode: 0o640 })).changed).toBe(false);
      // Same bytes, other mode: not re-uploaded, but the mode is put right.
      expect((await host.upload({ content }, '/etc/default/kubelet', { mode: 0o600 })).changed).toBe(false);
      expect(statSync(`${h('h2').root}/etc/default/kubelet`).mode & 0o777).toBe(0o600);
      expect(harness.inside(h('h2'), 'ls -a /etc/default | grep kubestrap-upload || true').trim()).toBe('');
    });

    it('rejects data that arrives damaged and keeps the old file', async () => {
      const { atomicWriteScript } = await import('../ssh/remote-command.js');
      const host = pool().host(target(h('h2')));
      await host.upload({ content: 'original\n' }, '/etc/damaged.conf', { mode: 0o644 });
      const sent = 'tampered\n';
      const claimed = sha('something else\n');
      const error = await host
        .exec(atomicWriteScript('/etc/damaged.conf', Buffer.byteLength(sent), 0o644), { stdin: `${sent}${claimed}\n` })
        .catch((e: Error) => e);
      expect((error as Error).message).toContain('arrived damaged');
      expect(readFileSync(`${h('h2').root}/etc/damaged.conf`, 'utf8')).toBe('original\n');
      expect(harness.inside(h('h2'), 'ls -a /etc | grep kubestrap-upload || true').trim()).toBe('');
    });

    it('streams a large file with bounded memory', async () => {
      const path = join(work, 'big.bin');
      const chunk = randomBytes(1024 * 1024);
      for (let i = 0; i < 256; i++) appendFileSync(path, chunk);
      const host = pool().host(target(h('h3')));
      const before = process.memoryUsage().rss;
      const result = await host.upload({ path }, '/var/tmp/big.bin', { mode: 0o644 });
      const grown = process.memoryUsage().rss - before;
      expect(result.changed).toBe(true);
      expect(harness.inside(h('h3'), 'sha256sum /var/tmp/big.bin').split(' ')[0]).toBe(result.sha256);
      expect(grown).toBeLessThan(128 * 1024 * 1024);
    });

    it('leaves the old file intact when the connection dies mid-upload', async () => {
      const host = pool().host(target(h('h4')));
      await host.upload({ content: 'old contents\n' }, '/etc/precious.conf', { mode: 0o644 });
      const path = join(work, 'new-precious.bin');
      const chunk = randomBytes(1024 * 1024);
      for (let i = 0; i < 512; i++) appendFileSync(path, chunk);
      const uploading = host.upload({ path }, '/etc/precious.conf', { mode: 0o644 }).catch((e: unknown) => e);
      // Wait until the upload is under way (its temp file exists), then kill sshd.
      for (let i = 0; i < 200; i++) {
        if (harness.inside(h('h4'), 'ls -a /etc | grep -c kubestrap-upload || true').trim() !== '0') break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      harness.sshdDown(h('h4'));
      expect(await uploading).toBeInstanceOf(Error);
      await harness.sshdUp(h('h4'));
      expect(readFileSync(`${h('h4').root}/etc/precious.conf`, 'utf8')).toBe('old contents\n');
      // The staged temp file is cleaned up by the remote script's trap.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(harness.inside(h('h4'), 'ls -a /etc | grep kubestrap-upload || true').trim()).toBe('');
    });
  });
});
