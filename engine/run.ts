// The one execution engine. Stages run in order; inside a stage, items run in parallel
// under a cap. A failure lets in-flight items finish, starts no more, skips later
// stages, and cleans up the stages that ran, in reverse. Ctrl-C (the signal) does the
// same and marks the run interrupted; in-flight items stop at their next step instead of
// finishing (HostStep refuses to send anything after it). A retryable failure (a dropped connection) re-runs
// the item: stages are re-runnable. The engine prints nothing: it reports events to a
// sink, and the caller picks the view.
import { SILENT, type EventSink, type HostStatus } from './events.js';
import type { Change } from './host-step.js';
import { SkipItem, type Stage } from './stage.js';

export interface ExecuteOptions {
  /** Items worked on at once in a stage (a stage may ask for fewer). */
  readonly concurrency?: number;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  /** How often an item is re-run after a retryable failure. */
  readonly retries?: number;
  readonly sink?: EventSink;
  /** Stamped on every event: this run is part of another's item. */
  readonly nested?: string;
}

export interface HostOutcome {
  readonly host: string;
  readonly status: Exclude<HostStatus, 'started' | 'retrying'>;
  readonly changes: readonly Change[];
  readonly error?: Error;
}

export interface PhaseOutcome {
  readonly title: string;
  readonly hosts: readonly HostOutcome[];
  /** A failure of the stage as a whole (its after() hook). */
  readonly error?: Error;
}

export interface RunResult {
  readonly ok: boolean;
  readonly interrupted: boolean;
  /** The stages that started, in order. */
  readonly phases: readonly PhaseOutcome[];
}

/** Runs `work` over `items` with at most `limit` at once, in the items' order. */
async function pooled<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function execute(stages: readonly Stage[], options: ExecuteOptions = {}): Promise<RunResult> {
  const sink = options.sink ?? SILENT;
  const nested = options.nested ? { nested: options.nested } : {};
  const signal = options.signal ?? new AbortController().signal;
  const dryRun = options.dryRun ?? false;
  const cap = options.concurrency ?? 10;
  const retries = options.retries ?? 2;
  const outcomes: PhaseOutcome[] = [];
  const ran: Stage[] = [];
  let failed = false;
  const stopping = () => failed || signal.aborted;

  sink.start?.(stages.map((s) => s.title));
  for (const stage of stages) {
    if (stopping()) break;
    const phase = stage.title;
    const items = await stage.items();
    const results: HostOutcome[] = [];
    ran.push(stage);
    sink.event({ type: 'phase', phase, hosts: items, ...nested });
    const host = (item: string, status: HostStatus, more: { detail?: string; title?: string } = {}) =>
      sink.event({ type: 'host', phase, host: item, status, ...more, ...nested });

    await pooled(items, Math.max(1, Math.min(cap, stage.concurrency ?? cap)), async (item) => {
      if (stopping()) {
        const detail = signal.aborted ? 'interrupted' : 'an earlier host failed';
        results.push({ host: item, status: 'skipped', changes: [] });
        return host(item, 'skipped', { detail });
      }
      host(item, 'started');
      const changes: Change[] = [];
      const context = {
        dryRun,
        signal,
        stopping,
        changes,
        output: (line: string) => sink.event({ type: 'output', phase, host: item, line, ...nested }),
        emit: sink.event.bind(sink),
      };
      for (let attempt = 0; ; attempt++) {
        try {
          const done = await stage.runItem(item, context);
          // Stages change items only through the context, so its record is the truth.
          const status = changes.length > 0 ? 'changed' : 'unchanged';
          results.push({ host: item, status, changes });
          const would = dryRun && changes.length ? ` (${changes.length} change(s) would be made)` : '';
          return host(item, status, { title: `${done?.title ?? `${item}: ${status}`}${would}` });
        } catch (error) {
          if (signal.aborted || error instanceof SkipItem) {
            results.push({ host: item, status: 'skipped', changes });
            return host(item, 'skipped', { detail: signal.aborted ? 'interrupted' : (error as Error).message });
          }
          if (attempt < retries && stage.retryable?.(error)) {
            host(item, 'retrying', { detail: (error as Error).message });
            context.output(`connection lost; re-running (${attempt + 1} of ${retries})`);
            continue;
          }
          failed = true;
          results.push({ host: item, status: 'failed', changes, error: error as Error });
          return host(item, 'failed', { detail: (error as Error).message });
        }
      }
    });

    // Reported in the stage's order, not the order items finished in.
    results.sort((a, b) => items.indexOf(a.host) - items.indexOf(b.host));
    let error: Error | undefined;
    if (!stopping() && stage.after) {
      try {
        await stage.after();
      } catch (caught) {
        failed = true;
        error = caught as Error;
        sink.event({ type: 'phase-failed', phase, detail: error.message, ...nested });
      }
    }
    outcomes.push({ title: phase, hosts: results, ...(error ? { error } : {}) });
  }

  if (stopping()) {
    for (const stage of [...ran].reverse()) await stage.cleanup?.().catch(() => undefined);
  }
  const result: RunResult = { ok: !stopping(), interrupted: signal.aborted, phases: outcomes };
  if (!options.nested) sink.event({ type: 'done', ok: result.ok, interrupted: result.interrupted });
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
  if (result.interrupted) {
    lines.push(
      'Interrupted. Nothing is half-written (files are replaced atomically); ' +
        'run the same command again to resume — finished work is detected and skipped.',
    );
  }
  return lines.join('\n');
}

/** What --dry-run prints: per stage and item, each command and file diff. */
export function dryRunReport(result: RunResult): string {
  const lines: string[] = [];
  for (const phase of result.phases) {
    for (const host of phase.hosts) {
      // Under the heading of the host each change is made on: a join's token and
      // certificate upload run on the control plane, not on the joining node.
      let heading = '';
      for (const change of host.changes) {
        const next = `# ${phase.title} — ${change.on ? `${change.on} (for ${host.host})` : host.host}`;
        if (next !== heading) lines.push((heading = next));
        lines.push(change.kind === 'command' ? `$ ${change.command}` : change.diff.trimEnd());
      }
    }
  }
  return lines.length ? lines.join('\n') : 'no changes';
}
