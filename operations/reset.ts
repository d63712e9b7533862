// `reset`: takes Kubernetes off every host (kubeadm reset and what it leaves), wiping
// the Rook disks the spec names.
import { ResetPhase } from '../provisioners/reset.js';
import type { ClusterModel } from '../spec/model.js';
import { loadClusterSpec } from './cluster-spec.js';
import { lockNote, withClusterLock } from './cluster-lock.js';
import type { OperationContext, PhaseRunOptions } from './context.js';
import { runPhasesOnCluster, type ClusterRun } from './run-on-cluster.js';

/** What reset will wipe, for the question asked before it. */
export function resetTargets(model: ClusterModel): { nodes: string[]; disks: string[] } {
  const disks = model.rook.enabled
    ? model.nodes.flatMap((n) => (n.storage ? n.disks.map((d) => `${n.name}:${d.device}`) : []))
    : [];
  return { nodes: model.nodes.map((n) => n.name), disks };
}

export async function reset(
  options: PhaseRunOptions,
  context: OperationContext,
  confirm: (what: ReturnType<typeof resetTargets>) => Promise<boolean>,
): Promise<ClusterRun | undefined> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  if (!options.dryRun && !(await confirm(resetTargets(model)))) return undefined;
  return withClusterLock(model.name, 'reset', lockNote(context), () =>
    runPhasesOnCluster(model, [new ResetPhase(model)], options, context),
  );
}
