// An airgapped upgrade's bundles, one per step: which bundle carries which step, and what
// is refused (a step without a bundle, a bundle that does not fit its step) before any
// host is touched.
import { describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT, type BundleManifest } from '../bundle/format.js';
import { InvalidInputError } from '../operations/errors.js';
import { bundlesForSteps, modelAt } from '../operations/upgrade-bundles.js';
import type { VerifiedBundle } from '../provisioners/bundle.js';
import { PINNED_KUBERNETES_PACKAGES } from '../spec/host-packages.js';
import { KUBERNETES_MINORS, parseKubernetesVersion, pauseImage, type KubernetesVersion } from '../spec/versions.js';
import { weaveImages } from '../templates/weave.js';
import { VERIFY_IMAGE } from '../templates/verify-workload.js';
import { bundleModel } from './support/bundle-models.js';

// The cluster's spec is at 1.34.2; an upgrade from 1.32 steps through 1.33.13 to it.
const model = bundleModel('debian', false);
const v = (text: string): KubernetesVersion => parseKubernetesVersion(text)!;
const STEPS = [v('1.33.13'), v('1.34.2')];

/** A verified bundle as `kubestrap bundle` makes it from the spec at `version`. */
function bundleAt(
  version: string,
  change: { packages?: (names: string[]) => string[]; images?: (refs: string[]) => string[] } = {},
): VerifiedBundle {
  const at = modelAt(model, v(version));
  const images = (change.images ?? ((r) => r))([at.runtime.sandboxImage, ...weaveImages(at), VERIFY_IMAGE]);
  const packages = (change.packages ?? ((n) => n))([...PINNED_KUBERNETES_PACKAGES, 'containerd']);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    createdBy: 'test',
    cluster: model.name,
    specDigest: '0'.repeat(64),
    kubernetesVersion: version,
    os: { family: 'debian', architecture: 'amd64' },
    files: [],
    images: images.map((reference, i) => ({ reference, digest: `sha256:${`${i}`.repeat(64)}`, path: `images/${i}` })),
    packages: packages.map((name) => ({ name, version: name === 'containerd' ? '1.6.20' : `${version}-1.1` })),
    hostRequires: [],
    aptRepositories: [],
    rpmRepositories: [],
  };
  return {
    localPath: `/bundles/${version}.tar`,
    manifest,
    seal: 'f'.repeat(64),
    size: 1,
    sha256: 'e'.repeat(64),
    authenticated: true,
  };
}

function refusal(call: () => unknown): string {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidInputError);
  return (error as Error).message;
}

describe('one bundle per upgrade step', () => {
  it('takes each step from the bundle of its version, in order; a bundle for no step is said, not used', () => {
    const [b133, b134, b132] = [bundleAt('1.33.13'), bundleAt('1.34.2'), bundleAt('1.32.11')];
    const chosen = bundlesForSteps(model, STEPS, [b134, b132, b133], 'c.yaml');
    expect(chosen.bundles).toEqual([b133, b134]);
    expect(chosen.unused).toEqual([
      'the bundle /bundles/1.32.11.tar holds Kubernetes 1.32.11, which is no step of this upgrade ' +
        '(1.33.13, 1.34.2): it is not used',
    ]);
  });

  it("checks each bundle against the spec at its step: the step's own pause image, not the target's", () => {
    // The pause image moves with the minor (3.10 at 1.33, 3.10.1 at 1.34) unless the spec chose one.
    expect(modelAt(model, v('1.33.13')).runtime.sandboxImage).toBe(
      `registry.k8s.io/pause:${KUBERNETES_MINORS[33]!.pause}`,
    );
    expect(modelAt(model, v('1.33.13')).kubernetes.kubeadmApi).toBe('v1beta4');
    const chosen = bundlesForSteps(model, STEPS, [bundleAt('1.33.13'), bundleAt('1.34.2')], undefined);
    expect(chosen.bundles.map((b) => b.manifest.kubernetesVersion)).toEqual(['1.33.13', '1.34.2']);
    // A sandbox image the spec chose stays at every step.
    const chosenPause = { ...model, runtime: { ...model.runtime, sandboxImage: 'registry.example/pause:9' } };
    expect(modelAt(chosenPause, v('1.33.13')).runtime.sandboxImage).toBe('registry.example/pause:9');
    expect(pauseImage(v('1.33.13'))).not.toBe(pauseImage(v('1.34.2')));
  });

  it('refuses a step no bundle carries, naming it and how to make it; nothing changed', () => {
    const message = refusal(() => bundlesForSteps(model, STEPS, [bundleAt('1.34.2')], 'c.yaml'));
    expect(message).toContain('the upgrade of c.yaml goes through 1.33.13, 1.34.2, one bundle per step:');
    expect(message).toContain(
      '  - no bundle carries the step to 1.33.13: make it on a connected machine from the spec with ' +
        'spec.kubernetes.version: 1.33.13 (kubestrap bundle -f SPEC -o FILE), then add --bundle FILE',
    );
    expect(message).not.toContain('step to 1.34.2');
    expect(message).toMatch(/Nothing was changed on any host\.$/);
  });

  it('refuses a bundle that does not fit its step: a missing package at the version, a missing image', () => {
    const noKubelet = bundleAt('1.33.13', { packages: (n) => n.filter((p) => p !== 'kubelet') });
    const message = refusal(() => bundlesForSteps(model, STEPS, [noKubelet, bundleAt('1.34.2')], undefined));
    expect(message).toContain('the bundle /bundles/1.33.13.tar (Kubernetes 1.33.13) does not fit the step:');
    expect(message).toContain('it lacks kubelet 1.33.13');
    // Made for the target's pause image, not its own step's: the step's sandbox would not be there.
    const targetPause = bundleAt('1.33.13', {
      images: (r) => r.map((i) => (i === pauseImage(v('1.33.13')) ? pauseImage(v('1.34.2')) : i)),
    });
    const lacking = refusal(() => bundlesForSteps(model, STEPS, [targetPause, bundleAt('1.34.2')], undefined));
    expect(lacking).toContain(`it lacks the image(s) ${pauseImage(v('1.33.13'))} that this spec runs`);
  });
});
