import { join } from 'node:path';
import { upPhases } from '../../provisioners/index.js';
import { VerifyPhase, verifyTable } from '../../provisioners/verify.js';
import { loadSpec } from '../../spec/load.js';
import { renderCluster, sha256 } from '../../templates/render.js';
import { runOnCluster, ProviderNotReady, type PhaseRunFlags } from '../phase-run.js';
import { currentHash, writeAtomic, writeRender } from '../render-dir.js';
import { printWarnings } from '../report.js';
import { rookManifests } from '../upstream.js';
import { workDir } from '../workdir.js';

/**
 * Validate → render into the cluster's working directory → fetch pinned upstream files →
 * every phase on every host → kubeconfig → summary. Existing hosts for now; Vagrant
 * machines come with the Vagrant driver.
 */
export async function upCommand(flags: PhaseRunFlags & { ignorePreflight?: string[] }): Promise<number> {
  const { model, warnings } = await loadSpec(flags.file);
  printWarnings(warnings, flags);
  if (model.machines.provider !== 'existing') {
    const { missingRequirements } = await import('../../vagrant/requirements.js');
    const missing = await missingRequirements(model.machines.provider);
    if (missing.length) {
      throw new ProviderNotReady(`cluster ${model.name} needs the ${model.machines.provider} provider, and this machine lacks:\n${missing.map((m) => `  - ${m}`).join('\n')}\nNothing was done.`);
    }
    throw new ProviderNotReady(`cluster ${model.name} uses the ${model.machines.provider} provider; kubestrap up drives existing hosts only (spec.machines.provider: existing) until the Vagrant driver lands. Nothing was done.`);
  }
  const dir = workDir(model.name);
  const files = renderCluster(model);
  await writeRender(dir, files);
  const rook = model.rook.enabled ? await rookManifests(model, dir) : [];
  const kubeconfigPath = join(dir, 'kubeconfig');
  const phases = upPhases(model, files, {
    ignorePreflight: flags.ignorePreflight ?? [],
    rookManifests: rook,
    kubeconfigPath,
    saveKubeconfig: async (content, dryRun) => {
      if ((await currentHash(kubeconfigPath)) === sha256(content)) return false;
      if (!dryRun) await writeAtomic(kubeconfigPath, content, 0o600);
      return true;
    },
  });
  const { code } = await runOnCluster(model, phases, flags, flags.file ? ` -f ${flags.file}` : '');
  const verify = phases.find((p): p is VerifyPhase => p instanceof VerifyPhase);
  if (code === 0 && !flags.json && !flags.dryRun) {
    process.stdout.write(`\n${verifyTable(verify?.summary ?? [])}\n\nCluster ${model.name} is up. Use it with:\n  export KUBECONFIG=${kubeconfigPath}\n  kubectl get nodes\n`);
  }
  return code;
}
