// Runs stages over the cluster's hosts: one pool for the run, interrupted by Ctrl-C (which
// ends in-flight commands and refuses new ones and reconnects; uploads are atomic, so
// nothing is half-written), closed after.
import type { NodeHost } from '../provisioners/cluster-host.js';
import type { Phase } from '../engine/phase.js';
import { execute, phaseStage, type RunResult, type Stage } from '../engine/index.js';
import type { ClusterModel } from '../spec/model.js';
import type { SshPool } from '../ssh/pool.js';
import type { OperationContext, PhaseRunOptions } from './context.js';
import { clusterHosts, clusterPool } from './hosts.js';

export interface ClusterRun {
  readonly run: RunResult;
  /** The host's full log, for the failure summary. */
  readonly logPath: (host: string) => string | undefined;
}

/**
 * `stages` gets the pool and a memoised host lookup: phases become stages over the
 * hosts, other stages (machines) may come first.
 */
export async function runOnCluster(
  model: ClusterModel,
  options: PhaseRunOptions,
  context: OperationContext,
  stages: (pool: SshPool, hosts: () => Promise<readonly NodeHost[]>) => readonly Stage[],
): Promise<ClusterRun> {
  const pool = clusterPool(model, options.file, { signal: context.signal });
  try {
    let found: Promise<NodeHost[]> | undefined;
    const hosts = () => (found ??= clusterHosts(model, pool, options.verbose ?? false));
    const run = await execute(stages(pool, hosts), {
      concurrency: options.concurrency ?? 10,
      dryRun: options.dryRun ?? false,
      signal: context.signal,
      sink: context.sink,
    });
    return { run, logPath: (host) => pool.logPath(host) };
  } finally {
    await pool.close();
  }
}

/** The common case: phases in order over all the cluster's hosts. */
export function runPhasesOnCluster(
  model: ClusterModel,
  phases: readonly Phase<NodeHost>[],
  options: PhaseRunOptions,
  context: OperationContext,
): Promise<ClusterRun> {
  return runOnCluster(model, options, context, (_pool, hosts) => phases.map((p) => phaseStage(p, hosts)));
}
