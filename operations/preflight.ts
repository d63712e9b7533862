// `preflight`: the read-only checks on every host, every result reported.
import { PreflightPhase, type PreflightReport } from '../provisioners/preflight.js';
import { loadClusterSpec } from './cluster-spec.js';
import { lockNote, withClusterLock } from './cluster-lock.js';
import type { OperationContext, PhaseRunOptions } from './context.js';
import { runPhasesOnCluster, type ClusterRun } from './run-on-cluster.js';

export interface PreflightOptions extends Omit<PhaseRunOptions, 'dryRun'> {
  readonly ignorePreflight?: readonly string[];
}

export async function preflight(
  options: PreflightOptions,
  context: OperationContext,
): Promise<ClusterRun & { reports: readonly PreflightReport[] }> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  const phase = new PreflightPhase(model, { ignore: options.ignorePreflight ?? [] });
  // Locked although it changes no host: its verdict on hosts another run is changing
  // would mean nothing, and it writes the cluster's host logs and known_hosts.
  const ran = await withClusterLock(model.name, 'preflight', lockNote(context), () =>
    runPhasesOnCluster(model, [phase], { ...options, dryRun: false }, context),
  );
  return { ...ran, reports: phase.reports };
}

/** The report as a table, for the text view. */
export { preflightTable } from '../provisioners/preflight.js';
