import { ResetPhase } from '../../provisioners/reset.js';
import { loadClusterSpec } from '../cluster-spec.js';
import { confirm } from '../confirm.js';
import { runOnCluster, type PhaseRunFlags } from '../phase-run.js';
import { printWarnings } from '../report.js';

/** Takes Kubernetes off every host of the cluster; asks first on a terminal. */
export async function resetCommand(flags: PhaseRunFlags & { yes?: boolean }): Promise<number> {
  const { model, warnings } = await loadClusterSpec(flags.file);
  printWarnings(warnings, flags);
  if (!flags.yes && !flags.dryRun) {
    const disks = model.rook.enabled ? model.nodes.flatMap((n) => (n.storage ? n.disks.map((d) => `${n.name}:${d.device}`) : [])) : [];
    const stop = await confirm(`Reset ${model.nodes.map((n) => n.name).join(', ')}${disks.length ? ` and wipe ${disks.join(', ')}` : ''}?`, 'reset wipes Kubernetes (and Rook disks named in the spec) from every host');
    if (stop !== undefined) return stop;
  }
  return (await runOnCluster(model, [new ResetPhase(model)], flags)).code;
}
