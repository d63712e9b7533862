// What every command that runs an operation shares: the view its progress goes to,
// Ctrl-C (the first aborts the run cleanly, a second one exits at once), the spec's
// warnings on stderr, and the exit code a run ends with.
import { dryRunReport, failureSummary } from '../engine/run.js';
import type { OperationContext } from '../operations/context.js';
import { InvalidInputError } from '../operations/errors.js';
import type { ClusterRun } from '../operations/run-on-cluster.js';
import { EXIT } from './exit-codes.js';
import { printWarnings } from './report.js';
import { pickView } from './views/index.js';
import { visible } from '../base/terminal-text.js';

export async function withSession<T>(json: boolean, work: (context: OperationContext) => Promise<T>): Promise<T> {
  const sink = pickView(json);
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work({ sink, signal: controller.signal, warn: (warnings) => printWarnings(warnings, { json }) });
  } finally {
    process.off('SIGINT', onSigint);
    await sink.end?.();
  }
}

/** Prints a run's dry-run report and failure summary (not with --json); its exit code. */
export function runExit({ run, logPath }: ClusterRun, flags: { json?: boolean; dryRun?: boolean }): number {
  if (!flags.json) {
    if (flags.dryRun) process.stdout.write(`${visible(dryRunReport(run))}\n`);
    const summary = failureSummary(run, logPath);
    if (summary) process.stderr.write(`${visible(summary)}\n`);
  }
  return run.interrupted ? EXIT.interrupted : run.ok ? EXIT.ok : EXIT.failure;
}

/** --concurrency as a number, or the error naming the flag. */
export function concurrencyFlag(value: string | undefined): number {
  const concurrency = value === undefined ? 10 : Number(value);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidInputError(`--concurrency must be a whole number of 1 or more, not ${value}`);
  }
  return concurrency;
}

/** A Go-style duration as kubectl takes it, in s, m or h: 90s, 5m, 1h. */
export function durationFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)(s|m|h)$/.exec(value);
  const ms = match ? Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'] : 0;
  if (!match || ms < 1_000 || ms > 24 * 3_600_000)
    throw new InvalidInputError(`${flag} must be a duration such as 90s, 5m or 1h (at most 24h), not ${value}`);
  return ms;
}
