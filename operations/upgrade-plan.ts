// The upgrade plan: from the versions a cluster runs to a target, one step per minor
// (kubeadm refuses to skip one), and within a step the first control plane, the other
// control planes one at a time, then the workers in batches. Pure: the versions come from
// the cluster, the plan is printed before anything changes, and a re-run after a failure
// plans only what is left (a node already at a step's version is unchanged in it). Steps
// start at the cluster's version, so workers left behind by an interrupted step go straight
// to the next step's version: a kubelet may skip minors within the skew (KEP-3935).
//
// The rules are upstream's (kubeadm-behaviour.md §8): kubeadm upgrade apply refuses a
// target more than one minor above the cluster (policy.go EnforceVersionPolicies,
// MaximumAllowedMinorVersionUpgradeSkew 1) and downgrades are not what `upgrade` is for; a
// kubelet may be up to three minors older than the API server and never newer
// (version-skew-policy; kubeadm's MaximumAllowedMinorVersionKubeletSkew is 3 since 1.29,
// kubernetes/kubernetes#120825).
import {
  KUBERNETES_MINORS,
  kubeadmApiForMinor,
  parseKubernetesVersion,
  ROOK_VERSIONS,
  SUPPORTED_RANGE,
  type KubeadmApi,
  type KubernetesVersion,
  type RookVersion,
} from '../spec/versions.js';

/** How many minors a kubelet may lag the API server (version-skew-policy, kubeadm ≥ 1.29). */
export const KUBELET_SKEW = 3;

export interface PlanNode {
  /** The spec's name for the machine. */
  readonly name: string;
  /** The Kubernetes node name. */
  readonly hostname: string;
  readonly role: 'control-plane' | 'worker';
}

export interface ClusterVersions {
  /** kubeadm-config's kubernetesVersion: what the control plane was last upgraded to. */
  readonly controlPlane: string;
  /** Each node's kubelet version, by Kubernetes node name, as its Node object reports it. */
  readonly kubelets: Readonly<Record<string, string>>;
}

export interface UpgradeRequest {
  readonly nodes: readonly PlanNode[];
  readonly current: ClusterVersions;
  readonly target: string;
  /** Workers drained and upgraded at once (at least 1). */
  readonly maxUnavailable: number;
  readonly rook?: { readonly enabled: boolean; readonly version: RookVersion };
}

export type NodeAction =
  /** kubeadm upgrade apply: the first control plane, once per step. */
  | 'apply'
  /** kubeadm upgrade node: every other node. */
  | 'node'
  | 'unchanged';

export interface NodeStep {
  readonly node: string;
  readonly role: 'control-plane' | 'worker';
  readonly from: string;
  readonly action: NodeAction;
}

export interface UpgradeStep {
  readonly version: string;
  readonly kubeadmApi: KubeadmApi;
  /** The kubeadm config API changes in this step: the configs kubestrap keeps are rendered anew. */
  readonly migratesConfig: boolean;
  /** In order, the first with `apply`; each is upgraded alone. */
  readonly controlPlanes: readonly NodeStep[];
  /** The workers to upgrade, in batches of at most maxUnavailable: each drained, upgraded, uncordoned together. */
  readonly workerBatches: readonly (readonly NodeStep[])[];
  /** Workers already at this step's version. */
  readonly unchangedWorkers: readonly NodeStep[];
}

export interface UpgradePlan {
  readonly from: string;
  readonly to: string;
  readonly steps: readonly UpgradeStep[];
  /** Nothing to do: every node already runs the target. */
  readonly unchanged: boolean;
}

/** The request cannot be planned; every reason is listed, and no host has been touched. */
export class UpgradeRefused extends Error {
  constructor(readonly reasons: readonly string[]) {
    super(`upgrade refused:\n${reasons.map((r) => `  - ${r}`).join('\n')}`);
    this.name = 'UpgradeRefused';
  }
}

const compare = (a: KubernetesVersion, b: KubernetesVersion) => a.minor - b.minor || a.patch - b.patch;

function parse(text: string, what: string, reasons: string[]): KubernetesVersion | undefined {
  const version = parseKubernetesVersion(text.replace(/^v/, ''));
  if (!version) reasons.push(`${what} ${JSON.stringify(text)} is not a Kubernetes release like 1.36.5`);
  return version;
}

export function planUpgrade(request: UpgradeRequest): UpgradePlan {
  const reasons: string[] = [];
  const target = parse(request.target, 'the target', reasons);
  const cluster = parse(request.current.controlPlane, "the cluster's version (kubeadm-config)", reasons);
  if (!Number.isInteger(request.maxUnavailable) || request.maxUnavailable < 1)
    reasons.push(`--max-unavailable must be a whole number of at least 1, not ${request.maxUnavailable}`);
  const initNode = request.nodes.find((n) => n.role === 'control-plane');
  if (!initNode) reasons.push('the spec has no control-plane node');
  if (!target || !cluster || !initNode) throw new UpgradeRefused(reasons);

  if (!(target.minor in KUBERNETES_MINORS))
    reasons.push(`Kubernetes 1.${target.minor} is not supported (${SUPPORTED_RANGE}; kubestrap versions)`);
  if (compare(target, cluster) < 0)
    reasons.push(
      `the cluster runs ${cluster.text} and ${target.text} is older: downgrades are not supported ` +
        '(kubeadm upgrades forward only; rebuild the cluster to go back)',
    );
  for (let minor = cluster.minor + 1; minor < target.minor; minor++) {
    if (!(minor in KUBERNETES_MINORS))
      reasons.push(`the way to ${target.text} passes through 1.${minor}, which kubestrap does not know`);
  }
  const rook = request.rook;
  if (rook?.enabled) {
    const range = ROOK_VERSIONS[rook.version];
    if (target.minor < range.minMinor || target.minor > range.maxMinor)
      reasons.push(
        `Rook ${rook.version} supports Kubernetes 1.${range.minMinor}-1.${range.maxMinor}, not ${target.text}: ` +
          'upgrade Rook first, or stay within its range',
      );
  }

  const kubelets = new Map<string, KubernetesVersion>();
  for (const node of request.nodes) {
    const reported = request.current.kubelets[node.hostname];
    if (reported === undefined) {
      reasons.push(`node ${node.hostname} is not in the cluster (no Node object): join it with up first`);
      continue;
    }
    const kubelet = parse(reported, `the kubelet of ${node.hostname}`, reasons);
    if (!kubelet) continue;
    kubelets.set(node.hostname, kubelet);
    // version-skew-policy: a kubelet is never newer than the API server.
    if (kubelet.minor > cluster.minor)
      reasons.push(
        `the kubelet of ${node.hostname} runs ${kubelet.text}, newer than the control plane's ${cluster.text}: ` +
          'control planes are upgraded first; a node upgraded out of order must be brought back by hand',
      );
    if (kubelet.minor < cluster.minor - KUBELET_SKEW)
      reasons.push(
        `the kubelet of ${node.hostname} runs ${kubelet.text}, more than ${KUBELET_SKEW} minors behind the ` +
          `control plane's ${cluster.text} (version-skew-policy)`,
      );
  }
  if (reasons.length > 0) throw new UpgradeRefused(reasons);

  // One step per minor: the newest known patch of each minor on the way, the target last.
  const versions: KubernetesVersion[] = [];
  for (let minor = cluster.minor + 1; minor < target.minor; minor++)
    versions.push(parseKubernetesVersion(`1.${minor}.${KUBERNETES_MINORS[minor]!.newestPatch}`)!);
  versions.push(target);

  const controlPlanes = [initNode, ...request.nodes.filter((n) => n.role === 'control-plane' && n !== initNode)];
  const workers = request.nodes.filter((n) => n.role === 'worker');
  // Where each part stands before each step: a re-run plans only what is left.
  let clusterAt = cluster;
  const at = new Map(kubelets);
  let api = kubeadmApiForMinor(cluster.minor);
  const steps: UpgradeStep[] = [];
  for (const version of versions) {
    const nodeStep = (node: PlanNode, action: NodeAction): NodeStep => {
      const from = at.get(node.hostname)!;
      return {
        node: node.name,
        role: node.role,
        from: from.text,
        action: compare(from, version) >= 0 ? 'unchanged' : action,
      };
    };
    const first = nodeStep(initNode, 'apply');
    // The init node's kubelet may be current while kubeadm-config is not (a failure between
    // the two): apply is what moves the cluster's version, so it runs.
    const applied: NodeStep =
      compare(clusterAt, version) < 0 ? { ...first, from: clusterAt.text, action: 'apply' } : first;
    const others = controlPlanes.slice(1).map((n) => nodeStep(n, 'node'));
    const pending = workers.map((n) => nodeStep(n, 'node'));
    const changing = pending.filter((s) => s.action !== 'unchanged');
    const batches: NodeStep[][] = [];
    for (let i = 0; i < changing.length; i += request.maxUnavailable)
      batches.push(changing.slice(i, i + request.maxUnavailable));
    const stepApi = kubeadmApiForMinor(version.minor);
    steps.push({
      version: version.text,
      kubeadmApi: stepApi,
      migratesConfig: stepApi !== api,
      controlPlanes: [applied, ...others],
      workerBatches: batches,
      unchangedWorkers: pending.filter((s) => s.action === 'unchanged'),
    });
    api = stepApi;
    if (compare(clusterAt, version) < 0) clusterAt = version;
    for (const node of request.nodes) if (compare(at.get(node.hostname)!, version) < 0) at.set(node.hostname, version);
  }
  const unchanged = steps.every(
    (s) => s.controlPlanes.every((n) => n.action === 'unchanged') && !s.workerBatches.length,
  );
  return { from: cluster.text, to: target.text, steps: unchanged ? [] : steps, unchanged };
}
