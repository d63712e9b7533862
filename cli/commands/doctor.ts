// `kubestrap doctor`: the findings as one table (or one JSON object), problems first with
// their fix; exit 0 when all are ok, 3 on warnings only, 1 on any failure.
import { formatTable } from '../../base/table.js';
import { doctor, STATUS_ORDER } from '../../operations/doctor.js';

import { EXIT } from '../exit-codes.js';
import { withSession } from '../session.js';

export async function doctorCommand(flags: { file?: string; json?: boolean; verbose?: boolean }): Promise<number> {
  const result = await withSession(flags.json ?? false, (context) => doctor(flags, context));
  const code = result.status === 'fail' ? EXIT.failure : result.status === 'warn' ? EXIT.warnings : EXIT.ok;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ type: 'doctor', ...result })}\n`);
    return code;
  }
  // Local first, then the nodes in the spec's order, then the cluster; within each, as checked.
  const scopes = [
    'local',
    ...new Set(result.checks.map((c) => c.scope).filter((s) => s !== 'local' && s !== 'cluster')),
    'cluster',
  ];
  const rows = [...result.checks]
    .sort((a, b) => scopes.indexOf(a.scope) - scopes.indexOf(b.scope))
    .map((c) => [c.scope, c.check, c.status.toUpperCase(), c.seen]);
  process.stdout.write(`${formatTable(['SCOPE', 'CHECK', 'RESULT', 'SEEN'], rows)}\n`);
  const problems = [...result.checks]
    .filter((c) => c.status !== 'ok')
    .sort((a, b) => STATUS_ORDER[b.status] - STATUS_ORDER[a.status]);
  if (problems.length) {
    process.stdout.write(`\nTo fix:\n`);
    for (const p of problems) process.stdout.write(`  ${p.status.toUpperCase()} ${p.scope} ${p.check}: ${p.fix}\n`);
  }
  const counts = (['fail', 'warn', 'ok'] as const).map(
    (s) => `${result.checks.filter((c) => c.status === s).length} ${s}`,
  );
  process.stdout.write(`\ndoctor: ${counts.join(', ')}\n`);
  return code;
}
