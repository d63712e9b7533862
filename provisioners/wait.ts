// Waiting for a host to reach a state: always bounded, and on timeout the error says
// what was awaited, on which host, the last answer, and what the diagnostics showed.
// Ctrl-C ends the pause between probes at once (the step's signal), and no probe follows.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult } from '../ssh/remote-shell.js';
import type { HostStep } from '../engine/host-step.js';

export interface WaitOptions {
  /** What we wait for, for messages: "containerd to answer on its socket". */
  readonly what: string;
  /** The read-only probe, repeated until `until` accepts its result. */
  readonly probe: string;
  readonly until: (result: ExecResult) => boolean;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Commands whose output explains a timeout (logs, status). */
  readonly diagnose?: string;
}

export class WaitTimeout extends Error {}

export async function waitFor(step: HostStep, options: WaitOptions): Promise<ExecResult> {
  const deadline = Date.now() + options.timeoutMs;
  let last: ExecResult | undefined;
  step.note(`waiting for ${options.what}`);
  for (;;) {
    last = await step.probe(options.probe, {
      check: false,
      timeoutMs: Math.max(5_000, Math.min(30_000, deadline - Date.now())),
    });
    if (options.until(last)) return last;
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 500, undefined, { signal: step.signal });
  }
  const seen = `${last.stdout}${last.stderr}`.trim().split('\n').slice(-10).join('\n') || '(no output)';
  let diagnosis = '';
  if (options.diagnose) {
    const result = await step.probe(options.diagnose, { check: false, timeoutMs: 30_000 });
    diagnosis =
      `\n--- ${options.diagnose} ---\n` +
      `${`${result.stdout}${result.stderr}`.trim().split('\n').slice(-30).join('\n')}`;
  }
  throw new WaitTimeout(
    `${step.host.name}: gave up after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.what}; ` +
      `last \`${options.probe}\` exited ${last.code}:\n${seen}${diagnosis}`,
  );
}
