// The check that ends each upgrade step: the cluster's version (kubeadm-config) is the
// step's, and every node of the spec is Ready with its kubelet at it, uncordoned. The next
// step starts only from there.
import type { HostStep } from '../engine/host-step.js';
import type { Phase } from '../engine/phase.js';
import type { ClusterModel } from '../spec/model.js';
import type { KubernetesVersion } from '../spec/versions.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { NodeHost } from './cluster-host.js';
import { CLUSTER_VERSION_PROBE, NODES_PROBE } from './upgrade-node.js';
import { parseNodeScheduling } from './verify.js';
import { waitFor } from './wait.js';

/** The nodes of `names` not Ready at `want`, or cordoned, or missing. */
export function nodesAt(output: string, want: string, names: readonly string[]): string[] {
  const seen = parseNodeScheduling(output);
  return names.filter((name) => {
    const node = seen.get(name);
    return !(node?.ready === 'True' && node.version === want && !node.cordoned);
  });
}

export class UpgradeVerifyPhase implements Phase<NodeHost> {
  readonly title: string;

  constructor(
    private readonly model: ClusterModel,
    private readonly version: KubernetesVersion,
    private readonly timeoutMs: number,
  ) {
    this.title = `Verify the cluster at ${version.text}`;
  }

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => isInitNode(this.model, h.node));
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    if (step.dryRun) return;
    const want = `v${this.version.text}`;
    const cluster = (await step.probe(CLUSTER_VERSION_PROBE)).stdout.trim();
    if (cluster !== want)
      throw new Error(`${step.host.name}: kubeadm-config says the cluster runs ${cluster || '(nothing)'}, not ${want}`);
    const names = this.model.nodes.map((n) => n.hostname);
    await waitFor(step, {
      what: `all ${names.length} nodes Ready at ${want} and schedulable`,
      probe: NODES_PROBE,
      until: (r) => r.code === 0 && nodesAt(r.stdout, want, names).length === 0,
      timeoutMs: this.timeoutMs,
      intervalMs: 2_000,
    });
  }
}
