import { PreflightPhase, preflightTable } from '../../provisioners/preflight.js';
import { loadClusterSpec } from '../cluster-spec.js';
import { runOnCluster, type PhaseRunFlags } from '../phase-run.js';
import { printWarnings } from '../report.js';

/** Read-only checks on every host; a table (or JSON) of every result. */
export async function preflightCommand(flags: PhaseRunFlags & { ignorePreflight?: string[] }): Promise<number> {
  const { model, warnings } = await loadClusterSpec(flags.file);
  printWarnings(warnings, flags);
  const phase = new PreflightPhase(model, { ignore: flags.ignorePreflight ?? [] });
  const { code } = await runOnCluster(model, [phase], { ...flags, dryRun: false });
  if (flags.json) process.stdout.write(`${JSON.stringify({ type: 'preflight', ok: code === 0, reports: phase.reports })}\n`);
  else if (phase.reports.length) process.stdout.write(`${preflightTable(phase.reports)}\n`);
  return code;
}
