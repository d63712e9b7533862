// An airgapped upgrade's packages and images: one bundle per step (each made by
// `kubestrap bundle` from the spec at that step's version), every one checked on this
// machine — signature, members, and that it fits the spec at its step — before any host
// is touched. A step no bundle carries is refused by name, with the command that makes it.
import { resolve } from 'node:path';
import { bundleProblems } from '../bundle/coverage.js';
import { PINNED_KUBERNETES_PACKAGES } from '../spec/host-packages.js';
import type { EventSink } from '../engine/events.js';
import type { VerifiedBundle } from '../provisioners/bundle.js';
import type { ClusterModel } from '../spec/model.js';
import { kubeadmApiVersion, pauseImage, type KubernetesVersion } from '../spec/versions.js';
import { InvalidInputError } from './errors.js';
import { specRelative, verifiedBundle, type BundleTrust } from './offline-bundle.js';

/** The model as it stands at a step: the render (kubeadm API, pause image) follows the version. */
export function modelAt(model: ClusterModel, version: KubernetesVersion): ClusterModel {
  // A pause image the spec chose stays; the one derived from the version moves with it.
  const derived = model.runtime.sandboxImage === pauseImage(model.kubernetes.version);
  return {
    ...model,
    kubernetes: { ...model.kubernetes, version, kubeadmApi: kubeadmApiVersion(version) },
    runtime: derived ? { ...model.runtime, sandboxImage: pauseImage(version) } : model.runtime,
  };
}

/** Every bundle named (--bundle, repeatable, and the spec's packages.bundle), verified. */
export async function readUpgradeBundles(
  model: ClusterModel,
  file: string | undefined,
  given: readonly string[],
  sink: EventSink,
  trust: BundleTrust,
): Promise<VerifiedBundle[]> {
  const fromSpec =
    model.packages.source === 'bundle' && model.packages.bundle ? [specRelative(file, model.packages.bundle)] : [];
  const paths = [...new Set([...given.map((p) => resolve(p)), ...fromSpec])];
  const bundles: VerifiedBundle[] = [];
  for (const path of paths) bundles.push(await verifiedBundle(model, file, path, sink, trust));
  return bundles;
}

/** What keeps `bundle` from carrying the step to `version` (empty: it does). */
export function stepBundleProblems(model: ClusterModel, version: KubernetesVersion, bundle: VerifiedBundle): string[] {
  const problems = bundleProblems(modelAt(model, version), bundle.manifest);
  const carried = new Map((bundle.manifest.packages ?? []).map((p) => [p.name, p.version]));
  const lacking = PINNED_KUBERNETES_PACKAGES.filter((p) => !carried.get(p)?.startsWith(`${version.text}-`));
  if (lacking.length) problems.push(`it lacks ${lacking.map((p) => `${p} ${version.text}`).join(', ')}`);
  return problems;
}

/**
 * The bundle of each step, in step order; refused (exit 2, nothing touched) when a step
 * has none or a bundle does not fit its step. Bundles for no step (a step an interrupted
 * run already finished) are left out, and said so.
 */
export function bundlesForSteps(
  model: ClusterModel,
  steps: readonly KubernetesVersion[],
  bundles: readonly VerifiedBundle[],
  file: string | undefined,
): { readonly bundles: VerifiedBundle[]; readonly unused: string[] } {
  const problems: string[] = [];
  const chosen: VerifiedBundle[] = [];
  for (const version of steps) {
    const bundle = bundles.find((b) => b.manifest.kubernetesVersion === version.text);
    if (!bundle) {
      problems.push(
        `no bundle carries the step to ${version.text}: make it on a connected machine from the spec with ` +
          `spec.kubernetes.version: ${version.text} (kubestrap bundle -f SPEC -o FILE), then add --bundle FILE`,
      );
      continue;
    }
    const misfit = stepBundleProblems(model, version, bundle);
    if (misfit.length)
      problems.push(
        `the bundle ${bundle.localPath} (Kubernetes ${version.text}) does not fit the step:\n` +
          misfit.map((m) => `      ${m}`).join('\n'),
      );
    else chosen.push(bundle);
  }
  const stepVersions = new Set(steps.map((s) => s.text));
  const unused = bundles
    .filter((b) => !stepVersions.has(b.manifest.kubernetesVersion))
    .map(
      (b) =>
        `the bundle ${b.localPath} holds Kubernetes ${b.manifest.kubernetesVersion}, which is no step ` +
        `of this upgrade (${steps.map((s) => s.text).join(', ') || 'none'}): it is not used`,
    );
  if (problems.length)
    throw new InvalidInputError(
      `the upgrade${file ? ` of ${file}` : ''} goes through ${steps.map((s) => s.text).join(', ')}, ` +
        `one bundle per step:\n${problems.map((p) => `  - ${p}`).join('\n')}\nNothing was changed on any host.`,
    );
  return { bundles: chosen, unused };
}
