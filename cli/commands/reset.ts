import { createInterface } from 'node:readline/promises';
import { ResetPhase } from '../../provisioners/reset.js';
import { loadClusterSpec } from '../cluster-spec.js';
import { EXIT } from '../exit-codes.js';
import { runOnCluster, type PhaseRunFlags } from '../phase-run.js';
import { printWarnings } from '../report.js';

/** Takes Kubernetes off every host of the cluster; asks first on a terminal. */
export async function resetCommand(flags: PhaseRunFlags & { yes?: boolean }): Promise<number> {
  const { model, warnings } = await loadClusterSpec(flags.file);
  printWarnings(warnings, flags);
  if (!flags.yes && !flags.dryRun) {
    if (!process.stdin.isTTY) {
      process.stderr.write('kubestrap: reset wipes Kubernetes (and Rook disks named in the spec) from every host; pass --yes to confirm when not on a terminal\n');
      return EXIT.invalidInput;
    }
    const disks = model.rook.enabled ? model.nodes.flatMap((n) => (n.storage ? n.disks.map((d) => `${n.name}:${d.device}`) : [])) : [];
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question(`Reset ${model.nodes.map((n) => n.name).join(', ')}${disks.length ? ` and wipe ${disks.join(', ')}` : ''}? [y/N] `);
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) return EXIT.failure;
  }
  return (await runOnCluster(model, [new ResetPhase(model)], flags, flags.file ? ` -f ${flags.file}` : '')).code;
}
