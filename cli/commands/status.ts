// `kubestrap status`: a table (or one JSON object) of every node; exit 0 only when
// every node runs, answers and is Ready.
import { formatTable } from '../../base/table.js';
import { status } from '../../operations/status.js';
import { EXIT } from '../exit-codes.js';
import { withSession } from '../session.js';

export async function statusCommand(flags: { file?: string; json?: boolean; verbose?: boolean }): Promise<number> {
  const result = await withSession(flags.json ?? false, (context) => status(flags, context));
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const endpoint = result.endpoint !== undefined;
    const rows = result.nodes.map((r) => [
      r.node,
      r.role,
      r.ip,
      r.machine,
      r.ssh,
      r.kubernetes,
      ...(endpoint ? [r.endpoint] : []),
    ]);
    const headers = ['NODE', 'ROLE', 'IP', 'MACHINE', 'SSH', 'KUBERNETES', ...(endpoint ? ['ENDPOINT'] : [])];
    process.stdout.write(`${formatTable(headers, rows)}\n`);
    if (result.endpoint)
      process.stdout.write(
        `VIP ${result.endpoint.vip}: held by ${result.endpoint.holders.join(', ') || 'no control plane'}\n`,
      );
  }
  return result.healthy ? EXIT.ok : EXIT.failure;
}
