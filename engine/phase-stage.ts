// A phase over hosts as an engine stage: per host, the read-only check, then the run
// (or "unchanged"), through a HostStep that records every change and, under --dry-run,
// makes none. A dropped connection is retryable: phases are re-runnable.
import { ConnectError, ConnectionLostError, HostUnreachableError } from '../ssh/errors.js';
import type { EventSink } from './events.js';
import { HostStep } from './host-step.js';
import type { Phase, PhaseHost } from './phase.js';
import { execute, type ExecuteOptions, type RunResult } from './run.js';
import type { Stage } from './stage.js';

/** A connection that dropped (and could not be made again): worth a re-run. A host that never answered is not. */
function connectionLost(error: unknown): boolean {
  if (error instanceof HostUnreachableError) return false;
  return error instanceof ConnectionLostError || (error instanceof ConnectError && error.failure === 'network');
}

/**
 * `hosts` is asked when the stage starts: a Vagrant machine's address is only known
 * once it runs.
 */
export function phaseStage<H extends PhaseHost>(phase: Phase<H>, hosts: () => Promise<readonly H[]>): Stage {
  let mine: readonly H[] = [];
  return {
    title: phase.title,
    ...(phase.concurrency ? { concurrency: phase.concurrency } : {}),
    async items() {
      const all = await hosts();
      mine = phase.hosts?.(all) ?? all;
      return mine.map((h) => h.name);
    },
    async runItem(name, context) {
      const host = mine.find((h) => h.name === name)!;
      const step = new HostStep(host, context.dryRun, (line) => context.output(line), context.changes, context.signal);
      if ((await phase.check?.(step)) ?? true) await phase.run(step);
    },
    ...(phase.after ? { after: () => phase.after!(mine) } : {}),
    ...(phase.cleanup ? { cleanup: () => phase.cleanup!(mine) } : {}),
    retryable: connectionLost,
  };
}

export interface RunPhasesOptions extends Omit<ExecuteOptions, 'sink'> {
  readonly sink?: EventSink;
  /** Shorthand for a sink that only listens: `{ event: onEvent }`. */
  readonly onEvent?: EventSink['event'];
}

/** Phases in order over the same hosts: the engine with one stage per phase. */
export function runPhases<H extends PhaseHost>(
  phases: readonly Phase<H>[],
  hosts: readonly H[],
  options: RunPhasesOptions = {},
): Promise<RunResult> {
  const { onEvent, sink, ...rest } = options;
  const listen = sink ?? (onEvent ? { event: onEvent } : undefined);
  const all = async () => hosts;
  return execute(
    phases.map((p) => phaseStage(p, all)),
    { ...rest, ...(listen ? { sink: listen } : {}) },
  );
}
