// The SSH transport at its limits, on real sshd hosts: Ctrl-C in the middle of a large
// upload, a command that prints 600 MiB, and a host that never answers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhases } from '../engine/index.js';
import type { Phase } from '../engine/phase.js';
import { sha256File } from '../base/digest.js';
import { CommandFailedError, ConnectionLostError, InterruptedError } from '../ssh/errors.js';
import { SshPool } from '../ssh/pool.js';
import { resumableUpload } from '../ssh/resumable-upload.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { auditCommands, seenCommands, seenLogins } from './support/host-audit.js';
import { harnessSpec } from './support/cluster.js';
import { REPO_ROOT } from './support/fixtures.js';
import { missingTools, runAsync } from './support/tools.js';

const unavailable = harnessUnavailable() ?? missingTools('tc');
const MiB = 1024 * 1024;

describe.skipIf(unavailable)(`ssh at its limits${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness;
  let work: string;
  let key: Buffer;
  const pools: SshPool[] = [];

  beforeAll(async () => {
    harness = await Harness.start(2);
    work = mkdtempSync(join(tmpdir(), 'ssh-limits-'));
    key = readFileSync(harness.clientKeyPath);
  }, 900_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await harness?.stop();
  });

  function pool(signal?: AbortSignal): SshPool {
    const made = new SshPool({
      knownHostsPath: join(work, `known_hosts-${pools.length}`),
      logDir: join(work, `logs-${pools.length}`),
      connectBackoffMs: 200,
      ...(signal ? { signal } : {}),
    });
    pools.push(made);
    return made;
  }

  it(
    'Ctrl-C in the middle of a large upload: it stops within 2 s, and nothing more reaches the host',
    { timeout: 120_000 },
    async () => {
      const host = harness.host('h1');
      await auditCommands(harness, host);
      const file = join(work, 'big.bin');
      execFileSync('sh', ['-c', `head -c ${64 * MiB} /dev/urandom > ${file}`]);
      const sha256 = await sha256File(file);
      // 16 Mbit/s towards the host: the 64 MiB take half a minute, so Ctrl-C lands mid-stream.
      execFileSync('tc', [
        'qdisc',
        'add',
        'dev',
        host.netns,
        'root',
        'tbf',
        'rate',
        '16mbit',
        'burst',
        '32kb',
        'latency',
        '400ms',
      ]);
      try {
        const controller = new AbortController();
        const ssh = pool(controller.signal).host({
          name: 'h1',
          address: host.ip,
          port: 22,
          user: 'kube',
          privateKey: key,
        });
        let sent = 0;
        const upload = resumableUpload(ssh, file, '/var/tmp/big.bin', {
          size: 64 * MiB,
          sha256,
          onProgress: (bytes) => (sent = bytes),
        });
        const settled = upload.then(
          () => undefined,
          (error: unknown) => error,
        );
        // Under way: 4 MiB pulled, and the host has logged the upload's command (on a busy
        // machine its log line can trail the first megabytes, and would count as "after").
        const uploading = () => seenCommands(host).some((seen) => seen.command.includes('cat >>'));
        const deadline = Date.now() + 30_000;
        while ((sent < 4 * MiB || !uploading()) && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(sent, 'the upload got under way').toBeGreaterThanOrEqual(4 * MiB);
        expect(uploading(), 'the host runs the upload').toBe(true);
        const commandsBefore = seenCommands(host).length;
        const loginsBefore = seenLogins(harness, host).length;
        const abortedAt = Date.now();
        controller.abort();
        const error = await settled;
        const took = Date.now() - abortedAt;
        expect(error).toBeInstanceOf(InterruptedError);
        expect(took).toBeLessThan(2_000);
        // Whatever was still on its way has arrived by now.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(seenCommands(host).slice(commandsBefore), 'commands after Ctrl-C').toEqual([]);
        expect(seenLogins(harness, host).length - loginsBefore, 'logins after Ctrl-C').toBe(0);
        // The file was never put in place; what arrived waits in .part for a resume.
        expect(harness.inside(host, 'ls /var/tmp/').split('\n')).not.toContain('big.bin');
        const part = Number(harness.inside(host, 'stat -c %s /var/tmp/big.bin.part').trim());
        expect(part).toBeGreaterThan(0);
        expect(part).toBeLessThan(64 * MiB);
        console.log(`upload interrupted after ${sent} bytes read; stopped ${took} ms after Ctrl-C; ${part} on host`);
      } finally {
        execFileSync('tc', ['qdisc', 'del', 'dev', host.netns, 'root']);
      }
    },
  );

  it(
    'a command printing 600 MiB finishes in bounded memory; its log keeps the head, a marker and the tail',
    { timeout: 300_000 },
    async () => {
      const host = harness.host('h2');
      const made = pool();
      const ssh = made.host({ name: 'h2', address: host.ip, port: 22, user: 'kube', privateKey: key });
      let result: { stdout: string } | undefined;
      const phase: Phase = {
        title: 'print a lot',
        async run(step) {
          result = await step.probe(`head -c 600M /dev/zero | tr '\\0' x; echo; echo END`, { sudo: false });
        },
      };
      const events: string[] = [];
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const started = Date.now();
      const run = await runPhases([phase], [{ name: 'h2', ssh }], {
        onEvent: (e) => e.type === 'host' && events.push(e.status),
      });
      clearInterval(sampler);
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `600 MiB in ${seconds.toFixed(1)} s; RSS ${Math.round(baseline / MiB)} MiB before, ` +
          `${Math.round(peak / MiB)} MiB at the peak (+${Math.round((peak - baseline) / MiB)} MiB)`,
      );
      expect(run.phases[0]!.hosts[0]!.error?.message).toBeUndefined();
      // Finished at the first attempt: never mistaken for a lost connection and re-run.
      expect(events).toEqual(['started', 'unchanged']);
      const total = 600 * MiB + 1 + 4;
      const marker = `[... ${total - 64 * 1024 - 256 * 1024} bytes elided ...]`;
      expect(result!.stdout.length).toBeLessThan(400 * 1024);
      expect(result!.stdout.startsWith('x'.repeat(64 * 1024))).toBe(true);
      expect(result!.stdout).toContain(marker);
      expect(result!.stdout.endsWith(`${'x'.repeat(1000)}\nEND\n`)).toBe(true);
      expect(peak - baseline).toBeLessThan(120 * MiB);
      await made.close();
      const log = readFileSync(made.logPath('h2')!, 'utf8');
      expect(statSync(made.logPath('h2')!).size).toBeLessThan(1 * MiB);
      const lines = log.split('\n');
      const at = lines.findIndex((l) => l.endsWith(`| ${marker}`));
      expect(at, 'the marker is logged').toBeGreaterThan(0);
      const text = (part: string[]) => part.map((l) => l.replace(/^\S+ \| /, '')).join('');
      const beforeMarker = lines.slice(0, at).filter((l) => /^\S+ \| /.test(l));
      const afterMarker = lines.slice(at + 1).filter((l) => /^\S+ \| /.test(l));
      expect(text(beforeMarker)).toBe('x'.repeat(64 * 1024));
      expect(text(afterMarker)).toBe(`${'x'.repeat(256 * 1024 - 5)}END`);
    },
  );

  it(
    'a failing command after 600 MiB of output is a failed command, not a lost connection',
    { timeout: 300_000 },
    async () => {
      const host = harness.host('h2');
      const ssh = pool().host({ name: 'h2', address: host.ip, port: 22, user: 'kube', privateKey: key });
      const error = await ssh
        .exec(`head -c 600M /dev/zero | tr '\\0' x; echo; echo 'why it failed'; exit 3`, { sudo: false })
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toBeInstanceOf(CommandFailedError);
      expect(error).not.toBeInstanceOf(ConnectionLostError);
      const failed = error as CommandFailedError;
      expect(failed.outcome.code).toBe(3);
      expect(failed.outcome.stdout).toContain('bytes elided ...]');
      expect(failed.message).toContain('why it failed');
      // The error shows the end of the output, not a quarter of a megabyte of it.
      expect(failed.message.length).toBeLessThan(8 * 1024);
    },
  );

  it(
    'a host that never answers is reported unreachable (name, address, port, the dial error), not re-run',
    { timeout: 180_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'unreachable-'));
      // h1 is a real host; h9 has an address on the hosts' network where nothing answers.
      const hosts = [harness.host('h1'), { name: 'h9', ip: `10.213.${harness.id}.99` }];
      const spec = harnessSpec({ id: harness.id, clientKeyPath: harness.clientKeyPath, hosts } as Harness);
      writeFileSync(join(dir, 'cluster.yaml'), spec);
      const started = Date.now();
      const result = await runAsync(
        process.execPath,
        [join(REPO_ROOT, 'dist/cli/main.js'), 'preflight', '-f', 'cluster.yaml'],
        {
          cwd: dir,
          env: { ...process.env, HOME: dir, SSH_AUTH_SOCK: '', CI: 'true', NO_COLOR: '1' },
          timeoutMs: 170_000,
        },
      );
      const seconds = (Date.now() - started) / 1000;
      const output = `${result.stdout}${result.stderr}`;
      console.log(`unreachable host reported after ${seconds.toFixed(1)} s:\n${result.stderr}`);
      expect(result.status).toBe(1);
      expect(output).toMatch(
        new RegExp(
          `h9: unreachable at 10\\.213\\.${harness.id}\\.99 port 22: ` +
            `connect EHOSTUNREACH \\S+ \\(attempt 5 of 5, the last`,
        ),
      );
      expect(output).not.toMatch(/re-running|connection lost|retrying/i);
    },
  );
});
