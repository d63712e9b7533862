// The phase list, written in one place.
import type { ClusterModel } from '../spec/model.js';
import { managedEndpoint } from '../templates/endpoint.js';
import type { RenderedFile } from '../templates/render.js';
import type { NodeHost } from './cluster-host.js';
import { BundlePhase, ImagesPhase, type VerifiedBundle } from './bundle.js';
import { EndpointPhase } from './endpoint.js';
import { HostprepPhase } from './hostprep.js';
import { InitPhase } from './init.js';
import { JoinPhase } from './join.js';
import { KubeconfigPhase, type SaveKubeconfig } from './kubeconfig.js';
import { PackagesPhase } from './packages.js';
import type { Phase } from '../engine/phase.js';
import { PreflightPhase } from './preflight.js';
import { RookPhase, type ManifestFile } from './rook.js';
import { RuntimePhase } from './runtime.js';
import { UserKubeconfigPhase } from './user-kubeconfig.js';
import { VerifyPhase } from './verify.js';
import { WeavePhase } from './weave.js';

export interface UpOptions {
  readonly ignorePreflight?: readonly string[];
  readonly saveKubeconfig: SaveKubeconfig;
  readonly kubeconfigPath: string;
  /** Rook's upstream manifests for the pinned release (fetched by the CLI, or from a bundle). */
  readonly rookManifests: readonly ManifestFile[];
  /** An offline install: packages and images come from this bundle, never the network. */
  readonly bundle?: VerifiedBundle;
  /** false: verify checks nodes and kube-system only, not the workload (kubestrap verify runs it). */
  readonly workloadCheck?: boolean;
}

/**
 * The phases each host goes through on its own, needing no other host: preflight →
 * (bundle upload) → host prep → containerd → (bundle images) → packages. A machine can
 * go through them as soon as it is up.
 */
export function hostPhases(
  model: ClusterModel,
  files: readonly RenderedFile[],
  options: Pick<UpOptions, 'ignorePreflight' | 'bundle'>,
): Phase<NodeHost>[] {
  const { bundle } = options;
  return [
    new PreflightPhase(model, {
      ignore: options.ignorePreflight ?? [],
      ...(bundle
        ? {
            bundle: {
              requires: bundle.manifest.hostRequires,
              seal: bundle.seal,
              size: bundle.size,
              architecture: bundle.manifest.os.architecture,
            },
          }
        : {}),
    }),
    ...(bundle ? [new BundlePhase(bundle)] : []),
    new HostprepPhase(model, files),
    new RuntimePhase(model, files),
    ...(bundle ? [new ImagesPhase(bundle)] : []),
    new PackagesPhase(model, files),
  ];
}

/**
 * preflight → host prep → containerd → packages → (managed endpoint on the init node) → init → kubeconfig →
 * join control planes → (managed endpoint on them) → the login user's ~/.kube/config on them → join workers
 * → Weave → Rook → verify.
 */
export function upPhases(model: ClusterModel, files: readonly RenderedFile[], options: UpOptions): Phase<NodeHost>[] {
  const managed = managedEndpoint(model);
  const furtherControlPlanes = model.nodes.filter((n) => n.role === 'control-plane').length > 1;
  return [
    ...hostPhases(model, files, options),
    // kubeadm init reaches the API through the endpoint: it is up on the init node first.
    ...(managed ? [new EndpointPhase(model, files, 'init')] : []),
    new InitPhase(model, files),
    new KubeconfigPhase(model, options.saveKubeconfig, options.kubeconfigPath),
    // Further control-plane nodes first: workers then join a control plane at full strength.
    ...(furtherControlPlanes ? [new JoinPhase(model, files, 'control-plane')] : []),
    // Theirs after their join, when each has an API server for haproxy and keepalived's check.
    ...(managed && furtherControlPlanes ? [new EndpointPhase(model, files, 'joined')] : []),
    new UserKubeconfigPhase(),
    new JoinPhase(model, files, 'worker'),
    new WeavePhase(model, files),
    new RookPhase(model, files, options.rookManifests),
    new VerifyPhase(model, options.workloadCheck === false ? { workload: false } : {}),
  ];
}
