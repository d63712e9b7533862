// Joining nodes, in parallel: for each node a fresh bootstrap token with a 15-minute
// TTL, created on the first control-plane node and revoked right after; a discovery
// kubeconfig (CA, endpoint, token) written 0600 on the node only for the join; then
// `kubeadm join` with our JoinConfiguration. A node counts as joined only when it has
// its kubelet.conf and the API server knows it — checked, not assumed.
import type { ClusterModel } from '../spec/model.js';
import { DISCOVERY_KUBECONFIG, kubeletSettableLabels } from '../templates/kubeadm/common.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import { BOOTSTRAP_TOKEN, discoveryKubeconfig } from '../templates/kubeconfig.js';
import { shellQuote } from '../templates/quote.js';
import type { RenderedFile } from '../templates/render.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from './host-step.js';
import { KUBEADM_CONF, KUBECTL, KUBELET_CONF } from './kubeadm-paths.js';
import type { Phase } from './phase.js';
import { renderedFile } from './rendered-files.js';
import { waitFor } from './wait.js';

export const JOIN_TOKEN_TTL = '15m';

export class JoinPhase implements Phase<NodeHost> {
  readonly title = 'Join nodes (kubeadm join)';
  private leader: NodeHost | undefined;

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
  ) {}

  hosts(all: readonly NodeHost[]): NodeHost[] {
    this.leader = all.find((h) => isInitNode(this.model, h.node));
    return all.filter((h) => h !== this.leader);
  }

  private onLeader(step: HostStep<NodeHost>): HostStep<NodeHost> {
    if (!this.leader) throw new Error('join: no control-plane node to join to');
    return step.elsewhere(this.leader);
  }

  async check(step: HostStep<NodeHost>): Promise<boolean> {
    const { hostname } = step.host.node;
    const hasKubelet = (await step.probe(`test -f ${KUBELET_CONF}`, { check: false })).code === 0;
    if (!hasKubelet) return true;
    const known = await this.onLeader(step).probe(`${KUBECTL} get node ${shellQuote(hostname)} -o name`, { check: false });
    if (known.code !== 0) {
      throw new Error(`${step.host.name}: has ${KUBELET_CONF} but the cluster does not know node ${hostname} (${known.stderr.trim()}); reset this node (kubeadm reset -f) and run again`);
    }
    return false;
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const { node } = step.host;
    if (node.role === 'control-plane') {
      throw new Error(`${step.host.name}: joining further control-plane nodes (HA) is not built yet; use one control-plane node for now`);
    }
    const leader = this.onLeader(step);
    const created = await leader.change(
      `create a bootstrap token for ${node.hostname} (TTL ${JOIN_TOKEN_TTL})`,
      `kubeadm token create --ttl ${JOIN_TOKEN_TTL} --description ${shellQuote(`kubestrap join ${node.hostname}`)}`,
      { hideOutput: true, label: `kubeadm token create --ttl ${JOIN_TOKEN_TTL} (for ${node.hostname})` },
    );
    const config = renderedFile(this.files, node.name, KUBEADM_CONF);
    if (step.dryRun || !created) {
      await step.change(`write join credentials to ${DISCOVERY_KUBECONFIG} (0600)`, `(write ${DISCOVERY_KUBECONFIG})`);
      await step.putFile(KUBEADM_CONF, config.content, { mode: config.mode });
      await step.change(`kubeadm join ${this.model.kubernetes.controlPlaneEndpoint}`, `kubeadm join --config ${KUBEADM_CONF}`);
      return;
    }
    const token = created.stdout.trim();
    const parts = BOOTSTRAP_TOKEN.exec(token);
    if (!parts) throw new Error(`${this.leader!.name}: kubeadm token create printed no bootstrap token`);
    step.host.ssh.redact(token, parts[2]!);
    leader.host.ssh.redact(token, parts[2]!);
    try {
      const caData = (await leader.probe('base64 -w0 /etc/kubernetes/pki/ca.crt', { label: 'read the cluster CA certificate' })).stdout.trim();
      const discovery = discoveryKubeconfig({ cluster: this.model.name, server: `https://${this.model.kubernetes.controlPlaneEndpoint}`, caData, token });
      await step.putFile(DISCOVERY_KUBECONFIG, discovery, { mode: 0o600, secret: true });
      await step.putFile(KUBEADM_CONF, config.content, { mode: config.mode });
      await step.change(`kubeadm join ${this.model.kubernetes.controlPlaneEndpoint}`, `kubeadm join --config ${KUBEADM_CONF}`, { timeoutMs: 10 * 60_000 });
    } finally {
      await step.change('remove the join credentials', `rm -f ${DISCOVERY_KUBECONFIG}`).catch(() => undefined);
      await leader.change('revoke the bootstrap token', `kubeadm token delete ${parts[1]}`).catch(() => undefined);
    }
    await waitFor(leader, {
      what: `node ${node.hostname} to register`,
      probe: `${KUBECTL} get node ${shellQuote(node.hostname)} -o name`,
      until: (r) => r.code === 0,
      timeoutMs: 3 * 60_000,
      diagnose: `${KUBECTL} get nodes`,
    });
    // Labels the kubelet may not set on itself (NodeRestriction) go through the API.
    const settable = new Set(kubeletSettableLabels(node).map(([key]) => key));
    for (const [key, value] of Object.entries(node.labels)) {
      if (!settable.has(key)) await leader.change(`label ${node.hostname} ${key}=${value}`, `${KUBECTL} label node ${shellQuote(node.hostname)} ${shellQuote(`${key}=${value}`)} --overwrite`);
    }
  }
}
