// Whether a (verified) bundle can install this spec's cluster: the same Kubernetes
// version, the OS family and architecture it was made for, Rook's manifests if Rook is on,
// keepalived and haproxy if kubestrap runs the endpoint, and every image the rendered
// cluster names. Checked before any host is touched.
import { ENDPOINT_PACKAGES } from '../spec/host-packages.js';
import type { ClusterModel } from '../spec/model.js';
import { ROOK_FILES } from '../spec/versions.js';
import { managedEndpoint } from '../templates/endpoint.js';
import { weaveImages } from '../templates/weave.js';
import { VERIFY_IMAGE } from '../templates/verify-workload.js';
import type { BundleManifest } from './format.js';

export function rookManifestPath(model: ClusterModel, name: string): string {
  return `manifests/rook-${model.rook.version}/${name}`;
}

export function bundleProblems(model: ClusterModel, manifest: BundleManifest): string[] {
  const problems: string[] = [];
  if (manifest.kubernetesVersion !== model.kubernetes.version.text) {
    problems.push(
      `it holds Kubernetes ${manifest.kubernetesVersion}, ` +
        `the spec wants ${model.kubernetes.version.text} (spec.kubernetes.version)`,
    );
  }
  if (manifest.os.family !== model.os.family)
    problems.push(`it was made for ${manifest.os.family} hosts, the spec has ${model.os.family} (spec.os.family)`);
  if (manifest.os.architecture !== model.os.architecture)
    problems.push(
      `it holds ${manifest.os.architecture} packages and images, ` +
        `the spec has ${model.os.architecture} hosts (spec.os.architecture)`,
    );
  const paths = new Set(manifest.files.map((f) => f.path));
  if (model.rook.enabled) {
    const missing = ROOK_FILES.filter((n) => !paths.has(rookManifestPath(model, n)));
    if (missing.length)
      problems.push(`Rook is enabled but the bundle lacks Rook ${model.rook.version}'s ${missing.join(', ')}`);
  }
  if (managedEndpoint(model) && manifest.os.family === model.os.family) {
    // A bundle made from the spec before the endpoint was managed carries neither.
    const carried = new Set((manifest.packages ?? []).map((p) => p.name));
    const lacking = ENDPOINT_PACKAGES[model.os.family].filter((name) => !carried.has(name));
    if (lacking.length)
      problems.push(
        `the control-plane endpoint is managed (spec.kubernetes.controlPlaneEndpoint.managed: keepalived-haproxy) ` +
          `but the bundle lacks ${lacking.join(', ')}, which the control planes run for it`,
      );
  }
  const images = new Set(manifest.images.map((i) => i.reference));
  const wanted = [
    model.runtime.sandboxImage,
    ...weaveImages(model),
    VERIFY_IMAGE,
    ...(model.rook.enabled ? [model.rook.cephImage] : []),
  ];
  const absent = wanted.filter((i) => !images.has(i));
  if (absent.length) problems.push(`it lacks the image(s) ${absent.join(', ')} that this spec runs`);
  return problems;
}
