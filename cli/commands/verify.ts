// `kubestrap verify`: the node table and the workload checks; exit 0 only when all pass.
import { checksTable, verify, verifyTable } from '../../operations/verify.js';
import { durationFlag, runExit, withSession } from '../session.js';
import { EXIT } from '../exit-codes.js';

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
