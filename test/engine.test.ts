// The execution engine with plain in-memory stages: no root, no hosts, no network.
// The same engine drives real hosts in runner.test.ts; here its rules are pinned down:
// order, caps, failure, interruption, resume, retries, and what it tells the views.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { plainView } from '../cli/views/plain.js';
import { treeView } from '../cli/views/tree.js';
import { jsonView } from '../cli/views/json.js';
import { viewKind } from '../cli/views/index.js';
import {
  dryRunReport,
  execute,
  failureSummary,
  runPhases,
  SkipItem,
  type ItemContext,
  type RunEvent,
  type Stage,
} from '../engine/index.js';
import type { Phase, PhaseHost } from '../engine/phase.js';
import type { SshHost } from '../ssh/host.js';
import { machinesStage, prepareWith } from '../operations/machines.js';
import type { VagrantDriver } from '../vagrant/driver.js';
import { waitFor } from '../provisioners/wait.js';
import type { ClusterModel } from '../spec/model.js';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

/** A stage over named items whose work is `work(item)`; it records what ran. */
function stage(
  title: string,
  items: string[],
  work: (item: string, context: ItemContext) => Promise<void> = async () => {},
  extra: Partial<Stage> = {},
): Stage & { ran: string[] } {
  const ran: string[] = [];
  return {
    title,
    ran,
    items: async () => items,
    async runItem(item, context) {
      ran.push(item);
      await work(item, context);
    },
    ...extra,
  };
}

const changed = (item: string, context: ItemContext): void =>
  void context.changes.push({ kind: 'command', description: `touch ${item}`, command: `touch ${item}` });

function recorder(): { events: RunEvent[]; sink: { event: (e: RunEvent) => void } } {
  const events: RunEvent[] = [];
  return { events, sink: { event: (e) => void events.push(e) } };
}

describe('engine', () => {
  it('runs stages in order and reports items in the stage order, whatever order they finish in', async () => {
    const { events, sink } = recorder();
    const slowFirst = stage('one', ['a', 'b', 'c'], async (item, c) => {
      await tick(item === 'a' ? 30 : 1);
      changed(item, c);
    });
    const second = stage('two', ['a', 'b']);
    const result = await execute([slowFirst, second], { sink });
    expect(result.ok).toBe(true);
    expect(result.phases.map((p) => p.title)).toEqual(['one', 'two']);
    expect(result.phases[0]!.hosts.map((h) => `${h.host}:${h.status}`)).toEqual([
      'a:changed',
      'b:changed',
      'c:changed',
    ]);
    expect(result.phases[1]!.hosts.map((h) => h.status)).toEqual(['unchanged', 'unchanged']);
    const finished = events
      .filter((e) => e.type === 'host' && e.status === 'changed')
      .map((e) => (e.type === 'host' ? e.host : ''));
    expect(finished[0]).not.toBe('a');
    expect(events[0]).toEqual({ type: 'phase', phase: 'one', hosts: ['a', 'b', 'c'] });
    expect(events.at(-1)).toEqual({ type: 'done', ok: true, interrupted: false });
    // Stage two starts only when stage one is over.
    expect(events.findIndex((e) => e.type === 'phase' && e.phase === 'two')).toBeGreaterThan(
      events.findLastIndex((e) => e.type === 'host' && e.phase === 'one'),
    );
  });

  it.each([
    [3, undefined, 3],
    [10, 2, 2],
    [1, 5, 1],
  ])('keeps to the run cap %i and the stage cap %s (peak %i)', async (cap, stageCap, peak) => {
    let inFlight = 0;
    let seen = 0;
    const counting = stage(
      'count',
      Array.from({ length: 9 }, (_, i) => `h${i}`),
      async () => {
        seen = Math.max(seen, ++inFlight);
        await tick(10);
        inFlight--;
      },
      stageCap ? { concurrency: stageCap } : {},
    );
    await execute([counting], { concurrency: cap });
    expect(seen).toBe(peak);
  });

  it(
    'on failure: in-flight items finish, no new item starts, later stages do not run, ' +
      'ran stages clean up in reverse',
    async () => {
      const cleaned: string[] = [];
      const first = stage('first', ['a', 'b'], async (i, c) => changed(i, c), {
        cleanup: async () => void cleaned.push('first'),
      });
      const finished: string[] = [];
      const failing = stage(
        'install',
        ['a', 'b', 'c', 'd'],
        async (item) => {
          if (item === 'a')
            throw new Error('a: `apt-get install kubeadm` exited 100\nE: Unable to locate package kubeadm');
          await tick(20);
          finished.push(item);
        },
        { cleanup: async () => void cleaned.push('install') },
      );
      const never = stage('never', ['a']);
      const result = await execute([first, failing, never], { concurrency: 2 });
      expect(result.ok).toBe(false);
      expect(result.interrupted).toBe(false);
      expect(failing.ran).toEqual(['a', 'b']);
      expect(finished).toEqual(['b']);
      expect(Object.fromEntries(result.phases[1]!.hosts.map((h) => [h.host, h.status]))).toEqual({
        a: 'failed',
        b: 'unchanged',
        c: 'skipped',
        d: 'skipped',
      });
      expect(never.ran).toEqual([]);
      expect(result.phases.map((p) => p.title)).toEqual(['first', 'install']);
      expect(cleaned).toEqual(['install', 'first']);
      const summary = failureSummary(result, (h) => `/logs/${h}.log`);
      expect(summary).toBe(
        '✖ install failed on a: `apt-get install kubeadm` exited 100\n' +
          'E: Unable to locate package kubeadm\n  full log: /logs/a.log',
      );
    },
  );

  it('fails a stage whose after() verdict fails, and says so to the views', async () => {
    const { events, sink } = recorder();
    const verdict = stage('preflight', ['a'], async () => {}, {
      after: async () => {
        throw new Error('1 check(s) failed');
      },
    });
    const next = stage('next', ['a']);
    const result = await execute([verdict, next], { sink });
    expect(result.ok).toBe(false);
    expect(next.ran).toEqual([]);
    expect(events).toContainEqual({ type: 'phase-failed', phase: 'preflight', detail: '1 check(s) failed' });
    expect(failureSummary(result)).toBe('✖ preflight failed: 1 check(s) failed');
  });

  it(
    'Ctrl-C: items not yet started are skipped as interrupted, the run says how to resume, ' +
      'and a re-run does only what is left',
    async () => {
      const done = new Set<string>();
      const items = ['a', 'b', 'c', 'd', 'e', 'f'];
      const idempotent = (): Stage => ({
        title: 'slow',
        items: async () => items,
        async runItem(item, context) {
          if (done.has(item)) return;
          await tick(20);
          done.add(item);
          changed(item, context);
        },
      });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 30);
      const first = await execute([idempotent()], { concurrency: 2, signal: controller.signal });
      expect(first.interrupted).toBe(true);
      expect(first.ok).toBe(false);
      const statuses = first.phases[0]!.hosts.map((h) => h.status);
      expect(statuses.filter((s) => s === 'changed').length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 'skipped').length).toBeGreaterThan(0);
      expect(failureSummary(first)).toContain('run the same command again to resume');
      const second = await execute([idempotent()], { concurrency: 2 });
      expect(second.ok).toBe(true);
      for (const h of second.phases[0]!.hosts)
        expect(h.status).toBe(statuses[items.indexOf(h.host)] === 'changed' ? 'unchanged' : 'changed');
    },
  );

  it(
    're-runs an item after a retryable failure, keeping what the first attempt changed; ' +
      'gives up after the retries',
    async () => {
      const { events, sink } = recorder();
      let attempts = 0;
      const flaky = stage(
        'flaky',
        ['a'],
        async (item, c) => {
          changed(`${item}${++attempts}`, c);
          if (attempts < 3) throw new Error('connection lost');
        },
        { retryable: (e) => (e as Error).message === 'connection lost' },
      );
      const result = await execute([flaky], { sink, retries: 2 });
      expect(result.ok).toBe(true);
      expect(result.phases[0]!.hosts[0]!.changes.map((c) => c.description)).toEqual([
        'touch a1',
        'touch a2',
        'touch a3',
      ]);
      expect(events.filter((e) => e.type === 'host').map((e) => (e.type === 'host' ? e.status : ''))).toEqual([
        'started',
        'retrying',
        'retrying',
        'changed',
      ]);
      attempts = -10;
      const hopeless = await execute([flaky], { retries: 2 });
      expect(hopeless.phases[0]!.hosts[0]!.status).toBe('failed');
    },
  );

  it('an item that finds the run stopping is skipped, not failed', async () => {
    const skipping = stage('s', ['a'], async () => {
      throw new SkipItem('an earlier machine failed');
    });
    const result = await execute([skipping]);
    expect(result.phases[0]!.hosts[0]).toMatchObject({ status: 'skipped' });
    expect(result.ok).toBe(true);
  });

  it('a nested run stamps its events and sends no done of its own', async () => {
    const { events, sink } = recorder();
    await execute([stage('inner', ['a'])], { sink, nested: 'cp' });
    expect(events.every((e) => e.type !== 'done' && 'nested' in e && e.nested === 'cp')).toBe(true);
  });
});

describe('phases as stages', () => {
  const host = (name: string): PhaseHost => ({ name, ssh: {} as SshHost });
  const state = new Map<string, string>();
  const writer: Phase = {
    title: 'write the thing',
    check: async (step) => state.get(step.host.name) !== 'v2',
    async run(step) {
      await step.local(`set ${step.host.name} to v2`, async (dryRun) => {
        if (!dryRun) state.set(step.host.name, 'v2');
        return true;
      });
    },
  };

  it('checks first and runs only where needed; --dry-run records and changes nothing', async () => {
    state.set('h2', 'v2');
    const dry = await runPhases([writer], [host('h1'), host('h2')], { dryRun: true });
    expect(dry.phases[0]!.hosts.map((h) => h.status)).toEqual(['changed', 'unchanged']);
    expect(state.get('h1')).toBeUndefined();
    expect(dryRunReport(dry)).toBe('# write the thing — h1\n$ (on this machine) set h1 to v2');
    const wet = await runPhases([writer], [host('h1'), host('h2')]);
    expect(wet.phases[0]!.hosts.map((h) => h.status)).toEqual(['changed', 'unchanged']);
    expect(state.get('h1')).toBe('v2');
    expect(dryRunReport(await runPhases([writer], [host('h1')], { dryRun: true }))).toBe('no changes');
  });

  it("lists a join's commands on the control plane under the control plane's heading", async () => {
    const cp = host('cp');
    const joiner: Phase = {
      title: 'join',
      hosts: (all) => all.filter((h) => h.name !== 'cp'),
      check: async () => true,
      async run(step) {
        await step.elsewhere(cp).change('token', `kubeadm token create (for ${step.host.name})`);
        await step.change('join', 'kubeadm join');
      },
    };
    const dry = await runPhases([joiner], [cp, host('w1')], { dryRun: true });
    expect(dryRunReport(dry)).toBe(
      '# join — cp (for w1)\n$ kubeadm token create (for w1)\n# join — w1\n$ kubeadm join',
    );
  });

  it('picks its hosts and caps its own concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const oneAtATime: Phase = {
      title: 'join',
      concurrency: 1,
      hosts: (all) => all.filter((h) => h.name !== 'h1'),
      async run() {
        peak = Math.max(peak, ++inFlight);
        await tick(5);
        inFlight--;
      },
    };
    const result = await runPhases([oneAtATime], ['h1', 'h2', 'h3', 'h4'].map(host), { concurrency: 10 });
    expect(result.phases[0]!.hosts.map((h) => h.host)).toEqual(['h2', 'h3', 'h4']);
    expect(peak).toBe(1);
  });

  it('Ctrl-C during a wait ends it at once: no probe, command or upload follows the signal', async () => {
    const controller = new AbortController();
    const sent: string[] = [];
    let sentBeforeAbort = -1;
    let abortedAt = 0;
    const ssh = {
      name: 'h1',
      async exec(command: string) {
        sent.push(command);
        // Ctrl-C 50 ms into the pause (0.5 s) that follows the second probe.
        if (sent.length === 2)
          setTimeout(() => {
            sentBeforeAbort = sent.length;
            abortedAt = Date.now();
            controller.abort();
          }, 50);
        return { command, code: 1, stdout: '', stderr: 'not yet', durationMs: 1 };
      },
      upload: async () => ({ changed: true, sha256: '' }),
      redact: () => undefined,
    };
    const waiter: Phase = {
      title: 'wait for the daemon',
      async run(step) {
        await waitFor(step, {
          what: 'the daemon',
          probe: 'daemon-ready',
          until: (r) => r.code === 0,
          timeoutMs: 60_000,
        });
        await step.change('after the wait', 'touch /after');
      },
    };
    const result = await runPhases([waiter], [{ name: 'h1', ssh }], { signal: controller.signal });
    expect(Date.now() - abortedAt).toBeLessThan(100);
    expect(result.interrupted).toBe(true);
    expect(result.phases[0]!.hosts[0]!.status).toBe('skipped');
    expect(sentBeforeAbort).toBe(2);
    expect(sent).toEqual(['daemon-ready', 'daemon-ready']);
  });
});

describe('machines stage', () => {
  const model = { nodes: [{ name: 'cp' }, { name: 'w1' }, { name: 'w2' }] } as unknown as ClusterModel;

  /** A Vagrant double that only records when machines start and end booting. */
  function driver(log: string[], fail?: string): VagrantDriver {
    return {
      async up(
        machines: readonly string[],
        _provider: string,
        parallel: boolean,
        onEvent: (e: { machine: string; stage: string; message: string }) => void,
      ) {
        log.push(`boot ${machines.join('+')}${parallel ? ' --parallel' : ''}`);
        for (const m of machines) onEvent({ machine: m, stage: 'booting', message: 'Starting domain.' });
        await tick(15);
        if (fail && machines.includes(fail)) throw new Error(`vagrant up ${fail} failed: no such box`);
        log.push(`up ${machines.join('+')}`);
      },
    } as unknown as VagrantDriver;
  }

  it('one after another: each boot awaits the one before, each machine is prepared while the next boots', async () => {
    const log: string[] = [];
    const { events, sink } = recorder();
    const prepare = async (machine: string) => {
      log.push(`prepare ${machine}`);
      await tick(25);
      log.push(`prepared ${machine}`);
    };
    const result = await execute(
      [
        machinesStage(model, {
          provider: 'virtualbox',
          driver: driver(log),
          parallel: false,
          prepare: (m) => prepare(m),
        }),
      ],
      { sink },
    );
    expect(result.ok).toBe(true);
    expect(log.indexOf('boot w1')).toBeGreaterThan(log.indexOf('up cp'));
    expect(log.indexOf('boot w1')).toBeLessThan(log.indexOf('prepared cp'));
    expect(log.indexOf('boot w2')).toBeGreaterThan(log.indexOf('up w1'));
    const titles = events.flatMap((e) => (e.type === 'host' && e.title ? [e.title] : []));
    expect(titles).toEqual(['cp: ready, host prepared', 'w1: ready, host prepared', 'w2: ready, host prepared']);
    expect(events).toContainEqual({ type: 'machine', machine: 'w1', stage: 'booting', message: 'Starting domain.' });
  });

  it('one after another: a failed boot stops the machines after it', async () => {
    const log: string[] = [];
    const result = await execute([
      machinesStage(model, { provider: 'virtualbox', driver: driver(log, 'w1'), parallel: false }),
    ]);
    expect(result.phases[0]!.hosts.map((h) => `${h.host}:${h.status}`)).toEqual([
      'cp:changed',
      'w1:failed',
      'w2:skipped',
    ]);
    expect(log).not.toContain('boot w2');
    expect(failureSummary(result)).toContain('vagrant up w1 failed: no such box');
  });

  it('in parallel: one vagrant up for every machine; a failure is told once', async () => {
    const log: string[] = [];
    const result = await execute([
      machinesStage(model, { provider: 'libvirt', driver: driver(log, 'w2'), parallel: true }),
    ]);
    expect(log).toEqual(['boot cp+w1+w2 --parallel']);
    const summary = failureSummary(result);
    expect(summary.match(/no such box/g)).toHaveLength(1);
    expect(summary).toContain('vagrant up failed (see cp)');
  });

  it("preparation is a nested run whose failure fails the machine, with the nested run's summary", async () => {
    const failing = stage('Preflight checks', ['w1'], async () => {
      throw new Error('w1: 1 check(s) failed');
    });
    const { events, sink } = recorder();
    const prepare = prepareWith(
      (m) => (m === 'w1' ? [failing] : []),
      () => undefined,
    );
    const result = await execute(
      [machinesStage(model, { provider: 'virtualbox', driver: driver([]), parallel: false, prepare })],
      { sink },
    );
    expect(failureSummary(result)).toContain('✖ Preflight checks failed on w1: 1 check(s) failed');
    expect(events).toContainEqual({
      type: 'output',
      phase: 'Machines (vagrant up, virtualbox, one after another, each prepared as soon as it is up)',
      host: 'w1',
      line: 'preparing: Preflight checks',
    });
    expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
  });
});

describe('views', () => {
  const events: RunEvent[] = [
    { type: 'phase', phase: 'Host prep', hosts: ['h1', 'h2'] },
    { type: 'host', phase: 'Host prep', host: 'h1', status: 'started' },
    { type: 'output', phase: 'Host prep', host: 'h1', line: 'write /etc/sysctl.d/k8s.conf' },
    { type: 'host', phase: 'Host prep', host: 'h1', status: 'changed', title: 'h1: changed' },
    { type: 'host', phase: 'Host prep', host: 'h2', status: 'failed', detail: 'h2: exited 1\nmore' },
    { type: 'phase', phase: 'Nested', hosts: ['cp'], nested: 'cp' },
    { type: 'done', ok: false, interrupted: false },
  ];
  const capture = () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    return { out, text: () => text };
  };

  it('plain: one timestamped line per thing that happened; nested runs and starts stay quiet', () => {
    const { out, text } = capture();
    const view = plainView(out);
    for (const e of events) view.event(e);
    view.note?.('Adding box kubestrap-test/debian12 (libvirt) from /tmp/x.box');
    const lines = text()
      .trimEnd()
      .split('\n')
      .map((l) => l.replace(/^\[\d\d:\d\d:\d\d\] /, ''));
    expect(lines).toEqual([
      'Host prep (h1, h2)',
      '[h1] write /etc/sysctl.d/k8s.conf',
      '✔ h1: changed',
      '✖ h2: failed (h2: exited 1)',
      'Adding box kubestrap-test/debian12 (libvirt) from /tmp/x.box',
    ]);
  });

  it('json: one object per line, every event', () => {
    const { out, text } = capture();
    const view = jsonView(out);
    for (const e of events) view.event(e);
    const lines = text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as RunEvent & { time: string });
    expect(lines.map(({ time: _t, ...e }) => e)).toEqual(events);
  });

  it('a terminal that reports 0 or no columns (script(1)) gets plain lines, not a tree wrapped at width 0', () => {
    expect(viewKind(false, { isTTY: true, columns: 120 }, {})).toBe('tree');
    expect(viewKind(false, { isTTY: true, columns: 0 }, {})).toBe('plain');
    expect(viewKind(false, { isTTY: true }, {})).toBe('plain');
    expect(viewKind(false, { isTTY: true, columns: 120 }, { CI: '1' })).toBe('plain');
    expect(viewKind(true, { isTTY: true, columns: 120 }, {})).toBe('json');
  });

  it('tree: settles every row and ends, even for stages that never started', async () => {
    const view = treeView();
    view.start!(['Host prep', 'Never started']);
    for (const e of events) view.event(e);
    const ended = await Promise.race([view.end!().then(() => 'ended'), tick(2000).then(() => 'hung')]);
    expect(ended).toBe('ended');
  });
});
