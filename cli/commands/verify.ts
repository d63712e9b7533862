// `kubestrap verify`: the node table and the workload checks; exit 0 only when all pass.
import { InvalidInputError } from '../../operations/errors.js';
import { checksTable, verify, verifyTable } from '../../operations/verify.js';
import { runExit, withSession } from '../session.js';
import { EXIT } from '../exit-codes.js';

/** A Go-style duration as kubectl takes it, in s, m or h: 90s, 5m, 1h. */
export function durationFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)(s|m|h)$/.exec(value);
  const ms = match ? Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'] : 0;
  if (!match || ms < 1_000 || ms > 24 * 3_600_000)
    throw new InvalidInputError(`${flag} must be a duration such as 90s, 5m or 1h (at most 24h), not ${value}`);
  return ms;
}

export async function verifyCommand(flags: {
  file?: string;
  json?: boolean;
  verbose?: boolean;
  timeout?: string;
}): Promise<number> {
  const timeoutMs = durationFlag(flags.timeout, '--timeout');
  const result = await withSession(flags.json ?? false, (context) =>
    verify({ ...flags, ...(timeoutMs === undefined ? {} : { timeoutMs }) }, context),
  );
  const code = runExit(result, flags);
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ type: 'verify', ok: code === EXIT.ok, nodes: result.nodes, checks: result.checks })}\n`,
    );
    return code;
  }
  if (code !== EXIT.ok) return code;
  process.stdout.write(`\n${verifyTable(result.nodes)}\n\n${checksTable(result.checks)}\n`);
  return code;
}
