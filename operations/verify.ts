// `verify`: the end check of `up` on its own, against a running cluster — nodes Ready on
// the spec's addresses at the spec's version, kube-system running, and the workload that
// proves storage, pod traffic between nodes and cluster DNS.
import { VerifyPhase, type NodeStatus } from '../provisioners/verify.js';
import type { WorkloadCheck } from '../provisioners/verify-workload.js';
import { loadClusterSpec } from './cluster-spec.js';
import { lockNote, withClusterLock } from './cluster-lock.js';
import type { OperationContext, PhaseRunOptions } from './context.js';
import { runPhasesOnCluster, type ClusterRun } from './run-on-cluster.js';

export interface VerifyRunOptions extends PhaseRunOptions {
  /** Each wait's limit. */
  readonly timeoutMs?: number;
}

export interface VerifyResult extends ClusterRun {
  readonly nodes: readonly NodeStatus[];
  readonly checks: readonly WorkloadCheck[];
}

export async function verify(options: VerifyRunOptions, context: OperationContext): Promise<VerifyResult> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  const phase = new VerifyPhase(model, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
  // The workload it creates would meet an up's changes half-way; one run at a time.
  const ran = await withClusterLock(model.name, 'verify', lockNote(context), () =>
    runPhasesOnCluster(model, [phase], { ...options, dryRun: false }, context),
  );
  return { ...ran, nodes: phase.summary, checks: phase.checks };
}

/** The node table and the checks table, for the text view. */
export { checksTable, verifyTable } from '../provisioners/verify.js';
