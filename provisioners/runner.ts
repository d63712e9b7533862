// Runs phases in order; inside a phase, hosts in parallel under a concurrency limit.
// Each host: check (read-only) → run, or "unchanged". A failure lets in-flight hosts
// finish, starts no more, skips later phases and cleans up the phases that ran, in
// reverse. A dropped connection re-runs that host's check and run (phases are
// re-runnable). Progress goes through listr2: a live tree on a TTY, timestamped lines
// otherwise, nothing but JSON events with --json.
import { Listr, PRESET_TIMESTAMP, type ListrTask } from 'listr2';
import { ConnectError, ConnectionLostError } from '../ssh/errors.js';
import type { RunEvent } from './events.js';
import { jsonLine } from './events.js';
import { HostStep, type Change } from './host-step.js';
import type { Phase, PhaseHost } from './phase.js';

export type OutputMode = 'tty' | 'plain' | 'json' | 'silent';

export interface RunOptions {
  readonly concurrency?: number;
  readonly dryRun?: boolean;
  readonly output?: OutputMode;
  readonly signal?: AbortSignal;
  /** How often a host's phase is re-run after its connection drops. */
  readonly reconnectRetries?: number;
  readonly out?: NodeJS.WritableStream;
  readonly onEvent?: (event: RunEvent) => void;
}

export interface HostOutcome {
  readonly host: string;
  readonly status: 'changed' | 'unchanged' | 'failed' | 'skipped';
  readonly changes: readonly Change[];
  readonly error?: Error;
}

export interface PhaseOutcome {
  readonly title: string;
  readonly hosts: readonly HostOutcome[];
  /** A failure of the phase as a whole (its after() hook). */
  error?: Error;
}

export interface RunResult {
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly phases: readonly PhaseOutcome[];
}

export function defaultOutputMode(json: boolean): OutputMode {
  if (json) return 'json';
  return process.stdout.isTTY && !process.env.CI ? 'tty' : 'plain';
}

export async function runPhases<H extends PhaseHost>(phases: readonly Phase<H>[], all: readonly H[], options: RunOptions = {}): Promise<RunResult> {
  const mode = options.output ?? 'silent';
  const out = options.out ?? process.stdout;
  const emit = (event: RunEvent) => {
    options.onEvent?.(event);
    if (mode === 'json') out.write(jsonLine(event));
  };
  const concurrency = options.concurrency ?? 10;
  const outcomes: PhaseOutcome[] = [];
  const phaseErrors: { title: string; error: Error }[] = [];
  const ran: Phase<H>[] = [];
  let failed = false;
  const interrupted = () => options.signal?.aborted ?? false;

  const hostTask = (phase: Phase<H>, host: H, results: HostOutcome[]): ListrTask => ({
    title: host.name,
    task: async (_ctx, task) => {
      if (failed || interrupted()) {
        results.push({ host: host.name, status: 'skipped', changes: [] });
        emit({ type: 'host', phase: phase.title, host: host.name, status: 'skipped', detail: interrupted() ? 'interrupted' : 'an earlier host failed' });
        task.skip(`${host.name}: not started (${interrupted() ? 'interrupted' : 'an earlier host failed'})`);
        return;
      }
      emit({ type: 'host', phase: phase.title, host: host.name, status: 'started' });
      const retries = options.reconnectRetries ?? 2;
      // Changes made by an attempt whose connection dropped still happened (or may have).
      const earlier: Change[] = [];
      for (let attempt = 0; ; attempt++) {
        const step = new HostStep(host, options.dryRun ?? false, (line) => {
          task.output = `[${host.name}] ${line}`;
          emit({ type: 'output', phase: phase.title, host: host.name, line });
        });
        try {
          const needed = (await phase.check?.(step)) ?? true;
          if (needed) await phase.run(step);
          // Phases change hosts only through the step, so its record is the truth.
          const changes = [...earlier, ...step.changes];
          const status = changes.length > 0 ? 'changed' : 'unchanged';
          results.push({ host: host.name, status, changes });
          emit({ type: 'host', phase: phase.title, host: host.name, status });
          task.title = `${host.name}: ${status}${options.dryRun && step.changes.length ? ` (${step.changes.length} change(s) would be made)` : ''}`;
          return;
        } catch (error) {
          const lost = error instanceof ConnectionLostError || (error instanceof ConnectError && error.failure === 'network');
          if (interrupted()) {
            results.push({ host: host.name, status: 'skipped', changes: step.changes });
            emit({ type: 'host', phase: phase.title, host: host.name, status: 'skipped', detail: 'interrupted' });
            throw new Error('interrupted');
          }
          if (lost && attempt < retries) {
            earlier.push(...step.changes);
            emit({ type: 'host', phase: phase.title, host: host.name, status: 'retrying', detail: (error as Error).message });
            task.output = `connection lost; re-running (${attempt + 1} of ${retries})`;
            continue;
          }
          failed = true;
          results.push({ host: host.name, status: 'failed', changes: step.changes, error: error as Error });
          emit({ type: 'host', phase: phase.title, host: host.name, status: 'failed', detail: (error as Error).message });
          throw error;
        }
      }
    },
  });

  const tasks: ListrTask[] = phases.map((phase) => ({
    title: phase.title,
    task: (_ctx, task) => {
      if (failed || interrupted()) return task.skip(`${phase.title}: not run (${interrupted() ? 'interrupted' : 'an earlier phase failed'})`);
      const hosts = phase.hosts?.(all) ?? all;
      const results: HostOutcome[] = [];
      outcomes.push({ title: phase.title, hosts: results });
      ran.push(phase);
      emit({ type: 'phase', phase: phase.title, hosts: hosts.map((h) => h.name) });
      // Returned, not run here, so that the renderer shows every host under its phase.
      // The last (untitled) task settles the phase once every host has finished.
      return task.newListr(
        [
          {
            task: (_c, hostsTask) =>
              hostsTask.newListr(hosts.map((host) => hostTask(phase, host, results)), {
                concurrent: Math.max(1, Math.min(concurrency, phase.concurrency ?? concurrency)),
                exitOnError: false,
                rendererOptions: { collapseSubtasks: false },
              }),
          },
          { task: () => settle() },
        ],
        { concurrent: false, exitOnError: true, rendererOptions: { collapseSubtasks: false } },
      );

      async function settle(): Promise<void> {
        // Report hosts in the spec's order, not the order they finished in.
        results.sort((a, b) => hosts.findIndex((h) => h.name === a.host) - hosts.findIndex((h) => h.name === b.host));
        const failures = results.filter((r) => r.status === 'failed').map((r) => r.host);
        if (failures.length) throw new Error(`failed on ${failures.join(', ')}`);
        if (phase.after && !interrupted()) {
          try {
            await phase.after(hosts);
          } catch (error) {
            failed = true;
            phaseErrors.push({ title: phase.title, error: error as Error });
            // The tree gets a one-liner; the summary after the run has the whole story.
            throw new Error('see the summary below');
          }
        }
      }
    },
  }));

  const renderer = mode === 'tty' ? 'default' : mode === 'plain' ? 'simple' : 'silent';
  const list = new Listr(tasks, {
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
    collectErrors: false,
    renderer,
    fallbackRenderer: 'simple',
    rendererOptions: { timestamp: PRESET_TIMESTAMP, collapseSubtasks: false, showErrorMessage: false },
    fallbackRendererOptions: { timestamp: PRESET_TIMESTAMP },
  } as never);
  try {
    await list.run();
  } catch {
    // Failures are in the outcomes; the summary below reports them.
  }
  const hostFailed = outcomes.some((p) => p.hosts.some((h) => h.status === 'failed')) || phaseErrors.length > 0;
  if ((hostFailed || interrupted()) && ran.length) {
    for (const phase of [...ran].reverse()) {
      const hosts = phase.hosts?.(all) ?? all;
      await phase.cleanup?.(hosts).catch(() => undefined);
    }
  }
  for (const { title, error } of phaseErrors) {
    const outcome = outcomes.find((o) => o.title === title);
    if (outcome) outcome.error = error;
  }
  const result: RunResult = { ok: !hostFailed && !interrupted(), interrupted: interrupted(), phases: outcomes };
  emit({ type: 'done', ok: result.ok, interrupted: result.interrupted });
  return result;
}

/** The end-of-run report of what failed where, with each error's own detail. */
export function failureSummary(result: RunResult, logPath?: (host: string) => string | undefined): string {
  const lines: string[] = [];
  for (const phase of result.phases) {
    if (phase.error) lines.push(`✖ ${phase.title} failed: ${phase.error.message}`);
    for (const host of phase.hosts) {
      if (host.status !== 'failed') continue;
      // SSH errors already start with the host's name.
      const message = (host.error?.message ?? 'unknown error').replace(new RegExp(`^${host.host}: `), '');
      lines.push(`✖ ${phase.title} failed on ${host.host}: ${message}`);
      const log = logPath?.(host.host);
      if (log) lines.push(`  full log: ${log}`);
    }
  }
  if (result.interrupted) lines.push('Interrupted. Nothing is half-written (files are replaced atomically); run the same command again to resume — finished work is detected and skipped.');
  return lines.join('\n');
}

/** What --dry-run prints: per phase and host, each command and file diff. */
export function dryRunReport(result: RunResult): string {
  const lines: string[] = [];
  for (const phase of result.phases) {
    for (const host of phase.hosts) {
      if (host.changes.length === 0) continue;
      lines.push(`# ${phase.title} — ${host.host}`);
      for (const change of host.changes) {
        if (change.kind === 'command') lines.push(`$ ${change.command}`);
        else lines.push(change.diff.trimEnd());
      }
    }
  }
  return lines.length ? lines.join('\n') : 'no changes';
}
