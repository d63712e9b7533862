// The phase runner on real hosts: fan-out, re-runs, dry-run, failures, dropped
// connections and interrupted runs.
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dryRunReport, failureSummary, runPhases } from '../engine/index.js';
import type { Phase, PhaseHost } from '../engine/phase.js';
import type { HostStep } from '../engine/host-step.js';
import { SshPool } from '../ssh/pool.js';
import { jsonView } from '../cli/views/json.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';

const unavailable = harnessUnavailable();

/** A phase that puts one file on every host: the smallest real phase. */
function fileWriter(path: string, content: (host: PhaseHost) => string, extra: Partial<Phase> = {}): Phase {
  return {
    title: `write ${path}`,
    async check(step: HostStep) {
      const have = await step.probe(`cat ${path} 2>/dev/null || true`);
      return have.stdout !== content(step.host);
    },
    async run(step: HostStep) {
      await step.putFile(path, content(step.host), { mode: 0o644 });
    },
    ...extra,
  };
}

describe.skipIf(unavailable)(`phase runner on real hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness;
  let pool: SshPool;
  let hosts: PhaseHost[];
  let work: string;

  beforeAll(async () => {
    harness = await Harness.start(20);
    work = mkdtempSync(join(tmpdir(), 'runner-test-'));
    pool = new SshPool({
      knownHostsPath: join(work, 'known_hosts'),
      logDir: join(work, 'logs'),
      connectBackoffMs: 200,
      connectAttempts: 8,
    });
    const key = readFileSync(harness.clientKeyPath);
    hosts = harness.hosts.map((h) => ({
      name: h.name,
      ssh: pool.host({ name: h.name, address: h.ip, port: 22, user: 'kube', privateKey: key }),
    }));
  }, 900_000);

  afterAll(async () => {
    await pool?.close();
    await harness?.stop();
  });

  const fileOn = (name: string, path: string) => {
    const file = join(harness.host(name).root, path);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  };

  it('runs a phase on 20 hosts at once, and a second run changes nothing', async () => {
    const phase = fileWriter('/etc/kubestrap-fanout', (h) => `hello ${h.name}\n`);
    const first = await runPhases([phase], hosts, { concurrency: 20 });
    expect(first.ok).toBe(true);
    expect(first.phases[0]!.hosts.map((h) => h.status)).toEqual(Array(20).fill('changed'));
    for (const h of harness.hosts) expect(fileOn(h.name, 'etc/kubestrap-fanout')).toBe(`hello ${h.name}\n`);
    const second = await runPhases([phase], hosts, { concurrency: 20 });
    expect(second.phases[0]!.hosts.map((h) => h.status)).toEqual(Array(20).fill('unchanged'));
  });

  it('keeps to the concurrency limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const phase: Phase = {
      title: 'count',
      async run(step) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await step.probe('sleep 0.3');
        inFlight--;
      },
    };
    await runPhases([phase], hosts.slice(0, 9), { concurrency: 3 });
    expect(peak).toBe(3);
  });

  it('--dry-run goes through the same code, reports diffs and commands, and changes nothing', async () => {
    const phases = [
      fileWriter('/etc/kubestrap-dry', () => 'new\n'),
      {
        title: 'restart',
        run: async (step: HostStep) => void (await step.change('restart the thing', 'touch /etc/kubestrap-restarted')),
      },
    ];
    const result = await runPhases(phases, hosts.slice(0, 2), { dryRun: true });
    expect(result.ok).toBe(true);
    const report = dryRunReport(result);
    expect(report).toContain('# write /etc/kubestrap-dry — h1');
    expect(report).toContain('+++ /etc/kubestrap-dry');
    expect(report).toContain('+new');
    expect(report).toContain('$ touch /etc/kubestrap-restarted');
    expect(fileOn('h1', 'etc/kubestrap-dry')).toBeUndefined();
    expect(fileOn('h1', 'etc/kubestrap-restarted')).toBeUndefined();
  });

  it(
    'on failure: in-flight hosts finish, no later phase runs, ran phases clean up in reverse, ' +
      'the summary says what failed',
    async () => {
      const cleaned: string[] = [];
      const first = fileWriter('/etc/kubestrap-before', () => 'ok\n', {
        cleanup: async () => void cleaned.push('first'),
      });
      const failing: Phase = {
        title: 'install things',
        async run(step) {
          if (step.host.name === 'h3')
            await step.change('install', 'echo "E: Unable to locate package kubeadm" >&2; exit 100');
          else await step.change('install', 'sleep 0.5; touch /etc/kubestrap-installed');
        },
        cleanup: async () => void cleaned.push('failing'),
      };
      const never = fileWriter('/etc/kubestrap-never', () => 'x\n');
      const result = await runPhases([first, failing, never], hosts.slice(0, 4), { concurrency: 4 });
      expect(result.ok).toBe(false);
      expect(result.phases.map((p) => p.title)).toEqual(['write /etc/kubestrap-before', 'install things']);
      const statuses = Object.fromEntries(result.phases[1]!.hosts.map((h) => [h.host, h.status]));
      expect(statuses).toEqual({ h1: 'changed', h2: 'changed', h3: 'failed', h4: 'changed' });
      expect(fileOn('h2', 'etc/kubestrap-installed')).toBe('');
      expect(fileOn('h1', 'etc/kubestrap-never')).toBeUndefined();
      expect(cleaned).toEqual(['failing', 'first']);
      const summary = failureSummary(result, (h) => pool.logPath(h));
      expect(summary).toContain(
        '✖ install things failed on h3: `echo "E: Unable to locate package kubeadm" >&2; exit 100` exited 100',
      );
      expect(summary).toContain('E: Unable to locate package kubeadm');
      expect(summary).toContain(`full log: ${join(work, 'logs', 'h3.log')}`);
    },
  );

  it('a connection dropped mid-phase (sshd killed and restarted): the host is re-run and ends right', async () => {
    const target = harness.host('h5');
    const phase: Phase = {
      title: 'slow write',
      async check(step) {
        return (await step.probe('cat /etc/kubestrap-slow 2>/dev/null || true')).stdout !== 'done\n';
      },
      async run(step) {
        await step.change('write slowly', 'sleep 1.5; echo done > /etc/kubestrap-slow');
      },
    };
    const events: string[] = [];
    const running = runPhases([phase], [hosts[4]!], { onEvent: (e) => e.type === 'host' && events.push(e.status) });
    await new Promise((resolve) => setTimeout(resolve, 700));
    harness.sshdDown(target);
    setTimeout(() => void harness.sshdUp(target), 1000);
    const result = await running;
    expect(result.ok).toBe(true);
    expect(events).toEqual(['started', 'retrying', 'changed']);
    expect(fileOn('h5', 'etc/kubestrap-slow')).toBe('done\n');
  });

  it('an interrupted run stops cleanly and a re-run completes it', async () => {
    const phase: Phase = {
      title: 'slow per host',
      async check(step) {
        return (await step.probe('cat /etc/kubestrap-resume 2>/dev/null || true')).stdout !== 'yes\n';
      },
      async run(step) {
        await step.probe('sleep 0.6');
        await step.putFile('/etc/kubestrap-resume', 'yes\n', { mode: 0o644 });
      },
    };
    const some = hosts.slice(10, 16);
    const controller = new AbortController();
    // Ctrl-C as the first host finishes: the other one in flight stops at its next step.
    const first = await runPhases([phase], some, {
      concurrency: 2,
      signal: controller.signal,
      onEvent: (e) => e.type === 'host' && e.status === 'changed' && controller.abort(),
    });
    expect(first.interrupted).toBe(true);
    expect(first.ok).toBe(false);
    const done = first.phases[0]!.hosts.filter((h) => h.status === 'changed').map((h) => h.host);
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(6);
    expect(failureSummary(first)).toContain('run the same command again to resume');
    const second = await runPhases([phase], some, { concurrency: 2 });
    expect(second.ok).toBe(true);
    for (const h of second.phases[0]!.hosts) expect(h.status).toBe(done.includes(h.host) ? 'unchanged' : 'changed');
    for (const h of some) expect(fileOn(h.name, 'etc/kubestrap-resume')).toBe('yes\n');
  });

  it('--json streams one event object per line', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await runPhases([fileWriter('/etc/kubestrap-json', () => 'j\n')], hosts.slice(0, 2), { sink: jsonView(out) });
    const events = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; status?: string });
    expect(events[0]).toMatchObject({ type: 'phase', phase: 'write /etc/kubestrap-json', hosts: ['h1', 'h2'] });
    expect(events.filter((e) => e.type === 'host' && e.status === 'changed')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: 'done', ok: true, interrupted: false });
  });
});
