// Joining nodes, in parallel: for each node a fresh bootstrap token with a 15-minute
// TTL, created on the first control-plane node and revoked right after; a discovery
// kubeconfig (CA, endpoint, token) written 0600 on the node only for the join; then
// `kubeadm join` with our JoinConfiguration. A node counts as joined only when it has
// its kubelet.conf and the API server knows it — checked, not assumed.
//
// Further control-plane nodes join first and one at a time (etcd adds one member at a
// time). They need the control-plane certificates: once per run the init node uploads
// them into the kubeadm-certs Secret, encrypted with a fresh certificate key (kubeadm
// deletes the Secret after two hours), and each joining node gets the key in a 0600
// JoinConfiguration that is removed after its join. The key never reaches an argv.
import { randomBytes } from 'node:crypto';
import type { ClusterModel } from '../spec/model.js';
import { kubeletSettableLabels } from '../templates/kubeadm/common.js';
import { isInitNode, renderControlPlaneJoinConfig, renderUploadCertsConfig } from '../templates/kubeadm/index.js';
import { BOOTSTRAP_TOKEN, discoveryKubeconfig } from '../templates/kubeconfig.js';
import { shellQuote } from '../base/quote.js';
import type { RenderedFile } from '../templates/render.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import {
  CLUSTER_CA,
  CONTROL_PLANE_JOIN_CONFIG,
  DISCOVERY_KUBECONFIG,
  KUBE_APISERVER_MANIFEST,
  KUBEADM_CONF,
  KUBELET_CONF,
  UPLOAD_CERTS_CONFIG,
} from '../templates/node-paths.js';
import { KUBECTL } from './kubectl.js';
import { validateConfig } from './kubeadm-validate.js';
import type { Phase } from '../engine/phase.js';
import { renderedFile } from './rendered-files.js';
import { waitFor } from './wait.js';

export const JOIN_TOKEN_TTL = '15m';

export type JoinRole = 'control-plane' | 'worker';

export class JoinPhase implements Phase<NodeHost> {
  readonly title: string;
  readonly concurrency: number | undefined;
  private leader: NodeHost | undefined;
  /** This run's certificate key, once the init node has uploaded the certificates with it. */
  private certificateKey: string | undefined;

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
    private readonly role: JoinRole,
  ) {
    this.title =
      role === 'control-plane'
        ? 'Join control-plane nodes (kubeadm join, one at a time)'
        : 'Join workers (kubeadm join)';
    this.concurrency = role === 'control-plane' ? 1 : undefined;
  }

  hosts(all: readonly NodeHost[]): NodeHost[] {
    this.leader = all.find((h) => isInitNode(this.model, h.node));
    return all.filter((h) => h !== this.leader && h.node.role === this.role);
  }

  private onLeader(step: HostStep<NodeHost>): HostStep<NodeHost> {
    if (!this.leader) throw new Error('join: no control-plane node to join to');
    return step.elsewhere(this.leader);
  }

  async check(step: HostStep<NodeHost>): Promise<boolean> {
    const { hostname } = step.host.node;
    const hasKubelet = (await step.probe(`test -f ${KUBELET_CONF}`, { check: false })).code === 0;
    if (!hasKubelet) return true;
    const known = await this.onLeader(step).probe(`${KUBECTL} get node ${shellQuote(hostname)} -o name`, {
      check: false,
    });
    if (known.code !== 0) {
      throw new Error(
        `${step.host.name}: has ${KUBELET_CONF} but the cluster does not know node ${hostname} ` +
          `(${known.stderr.trim()}); reset this node (kubeadm reset -f) and run again`,
      );
    }
    if (
      this.role === 'control-plane' &&
      (await step.probe(`test -f ${KUBE_APISERVER_MANIFEST}`, { check: false })).code !== 0
    ) {
      throw new Error(
        `${step.host.name}: joined the cluster, but as a worker (no ${KUBE_APISERVER_MANIFEST}); ` +
          `reset this node (kubeadm reset -f) and run again`,
      );
    }
    return false;
  }

  /** Uploads the control-plane certificates once per run; returns the key that encrypts them. */
  private async uploadCertificates(leader: HostStep<NodeHost>): Promise<string> {
    if (this.certificateKey) return this.certificateKey;
    // kubeadm's format: 32 random bytes, hex (what `kubeadm certs certificate-key` prints).
    const key = randomBytes(32).toString('hex');
    leader.host.ssh.redact(key);
    await leader.putFile(UPLOAD_CERTS_CONFIG, renderUploadCertsConfig(this.model, leader.host.node, key), {
      mode: 0o600,
      secret: true,
    });
    try {
      await leader.change(
        'upload the control-plane certificates (Secret kubeadm-certs, ' +
          "encrypted with this run's certificate key, deleted by kubeadm after 2 h)",
        `kubeadm init phase upload-certs --upload-certs --config ${UPLOAD_CERTS_CONFIG}`,
        // kubeadm prints the key it used.
        { hideOutput: true },
      );
    } finally {
      await leader.change(`remove ${UPLOAD_CERTS_CONFIG}`, `rm -f ${UPLOAD_CERTS_CONFIG}`).catch(() => undefined);
    }
    this.certificateKey = key;
    return key;
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const { node } = step.host;
    const leader = this.onLeader(step);
    const controlPlane = node.role === 'control-plane';
    const created = await leader.change(
      `create a bootstrap token for ${node.hostname} (TTL ${JOIN_TOKEN_TTL})`,
      `kubeadm token create --ttl ${JOIN_TOKEN_TTL} --description ${shellQuote(`kubestrap join ${node.hostname}`)}`,
      { hideOutput: true, label: `kubeadm token create --ttl ${JOIN_TOKEN_TTL} (for ${node.hostname})` },
    );
    const config = renderedFile(this.files, node.name, KUBEADM_CONF);
    // The rendered kubeadm.conf stays as the record; a control-plane join reads a copy with the key.
    const joinConfig = controlPlane ? CONTROL_PLANE_JOIN_CONFIG : KUBEADM_CONF;
    const join = `kubeadm join --config ${joinConfig}`;
    // Under --dry-run no token was made: a stand-in of the token's shape lets the same
    // steps below record what they would do; it never reaches a host.
    const token = created ? created.stdout.trim() : 'abcdef.0123456789abcdef';
    const parts = BOOTSTRAP_TOKEN.exec(token);
    if (!parts) throw new Error(`${this.leader!.name}: kubeadm token create printed no bootstrap token`);
    if (created) {
      step.host.ssh.redact(token, parts[2]!);
      leader.host.ssh.redact(token, parts[2]!);
    }
    try {
      // Before init (a dry run of a new cluster) there is no CA to read yet.
      const caData = step.dryRun
        ? ''
        : (await leader.probe(`base64 -w0 ${CLUSTER_CA}`, { label: 'read the cluster CA certificate' })).stdout.trim();
      const discovery = discoveryKubeconfig({
        cluster: this.model.name,
        server: `https://${this.model.kubernetes.controlPlaneEndpoint}`,
        caData,
        token,
      });
      await step.putFile(DISCOVERY_KUBECONFIG, discovery, { mode: 0o600, secret: true });
      await step.putFile(KUBEADM_CONF, config.content, { mode: config.mode });
      if (controlPlane) {
        const key = await this.uploadCertificates(leader);
        step.host.ssh.redact(key);
        await step.putFile(CONTROL_PLANE_JOIN_CONFIG, renderControlPlaneJoinConfig(this.model, node, key), {
          mode: 0o600,
          secret: true,
        });
      }
      // join only warns about unknown fields; validate is strict (see InitPhase).
      await step.change('kubeadm config validate (strict: unknown fields are errors)', validateConfig(joinConfig));
      await step.change(
        `kubeadm join ${this.model.kubernetes.controlPlaneEndpoint}${controlPlane ? ' as a control-plane node' : ''}`,
        join,
        { timeoutMs: 10 * 60_000 },
      );
    } finally {
      await step
        .change(
          'remove the join credentials',
          `rm -f ${DISCOVERY_KUBECONFIG}${controlPlane ? ` ${CONTROL_PLANE_JOIN_CONFIG}` : ''}`,
        )
        .catch(() => undefined);
      await leader.change('revoke the bootstrap token', `kubeadm token delete ${parts[1]}`).catch(() => undefined);
    }
    if (!step.dryRun) {
      await waitFor(leader, {
        what: `node ${node.hostname} to register`,
        probe: `${KUBECTL} get node ${shellQuote(node.hostname)} -o name`,
        until: (r) => r.code === 0,
        timeoutMs: 3 * 60_000,
        diagnose: `${KUBECTL} get nodes`,
      });
    }
    // Labels the kubelet may not set on itself (NodeRestriction) go through the API.
    const settable = new Set(kubeletSettableLabels(node).map(([key]) => key));
    for (const [key, value] of Object.entries(node.labels)) {
      if (!settable.has(key))
        await leader.change(
          `label ${node.hostname} ${key}=${value}`,
          `${KUBECTL} label node ${shellQuote(node.hostname)} ${shellQuote(`${key}=${value}`)} --overwrite`,
        );
    }
  }
}
