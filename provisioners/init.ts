// Control-plane init on the first control-plane node: our kubeadm.conf, `kubeadm init`,
// then a bounded wait for the API server. Skipped when the node is already initialised.
import type { ClusterModel } from '../spec/model.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { RenderedFile } from '../templates/render.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import { ADMIN_CONF, KUBE_APISERVER_MANIFEST, KUBEADM_CONF } from '../templates/node-paths.js';
import { KUBECTL } from './kubectl.js';
import { validateConfig } from './kubeadm-validate.js';
import type { Phase } from '../engine/phase.js';
import { renderedFile } from './rendered-files.js';
import { waitFor } from './wait.js';
import { shellQuote } from '../base/quote.js';

/**
 * The IDs of the bootstrap tokens that have no description: kubeadm init's own (ours
 * say "kubestrap join NODE", kubeadm's upload-certs proxy says what it is for). `token
 * list` prints whole tokens; only the ID part leaves the host. Nothing before init.
 */
async function initTokens(step: HostStep<NodeHost>): Promise<string[]> {
  const listed = await step.probe(
    `kubeadm token list 2>/dev/null | awk 'NR > 1 && $5 == "<none>" { split($1, t, "."); print t[1] }'`,
    { check: false, label: 'kubeadm token list (IDs of tokens without a description)' },
  );
  return listed.stdout.split('\n').filter((id) => /^[a-z0-9]{6}$/.test(id));
}

export class InitPhase implements Phase<NodeHost> {
  readonly title = 'Initialise the control plane (kubeadm init)';

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
  ) {}

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => isInitNode(this.model, h.node));
  }

  private async initialised(step: HostStep<NodeHost>): Promise<boolean> {
    return (
      (await step.probe(`test -f ${ADMIN_CONF} && test -f ${KUBE_APISERVER_MANIFEST}`, { check: false })).code === 0
    );
  }

  async check(step: HostStep<NodeHost>): Promise<boolean> {
    return !(await this.initialised(step)) || (await initTokens(step)).length > 0;
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const fresh = !(await this.initialised(step));
    if (fresh) await this.init(step);
    // kubeadm init always makes a 24 h bootstrap token (config cannot switch it off, and
    // skipping its phase would skip the RBAC and cluster-info joins need). Nothing uses
    // it — each join gets its own 15-minute token — so it goes at once.
    const ids = step.dryRun && fresh ? ['(the token kubeadm init makes)'] : await initTokens(step);
    if (ids.length)
      await step.change(
        "delete kubeadm init's 24 h bootstrap token (each join gets its own)",
        `kubeadm token delete ${ids.join(' ')}`,
        { label: `kubeadm token delete ${ids.join(' ')}` },
      );
  }

  private async init(step: HostStep<NodeHost>): Promise<void> {
    const config = renderedFile(this.files, step.host.node.name, KUBEADM_CONF);
    await step.putFile(KUBEADM_CONF, config.content, { mode: config.mode });
    // init only warns about unknown fields and goes on without them; validate is strict,
    // so a misspelt field stops us here instead of silently losing its setting.
    await step.change('kubeadm config validate (strict: unknown fields are errors)', validateConfig(KUBEADM_CONF));
    // --skip-token-print: kubeadm's default bootstrap token must not land in our logs.
    await step.change('kubeadm init', `kubeadm init --config ${KUBEADM_CONF} --skip-token-print`, {
      timeoutMs: 15 * 60_000,
    });
    if (step.dryRun) return;
    const { endpoint, controlPlaneEndpoint } = this.model.kubernetes;
    // With an endpoint from the spec (a VIP, a load balancer), the usual culprit is the route to it;
    // with kubestrap's own, haproxy in front of this node's 6443.
    const endpointHint =
      endpoint.mode === 'external'
        ? `echo ${shellQuote(
            `controlPlaneEndpoint ${controlPlaneEndpoint} must reach this node on port 6443 ` +
              "(the spec's endpoint: the site runs its VIP or load balancer)",
          )}; `
        : endpoint.mode === 'keepalived-haproxy'
          ? `echo ${shellQuote(
              `controlPlaneEndpoint ${controlPlaneEndpoint}: keepalived holds the VIP, haproxy forwards to port 6443`,
            )}; ip -o -4 addr; systemctl status haproxy keepalived --no-pager -n 5; `
          : '';
    await waitFor(step, {
      what: 'the API server to answer /readyz',
      probe: `${KUBECTL} get --raw=/readyz`,
      until: (r) => r.code === 0 && r.stdout.trim() === 'ok',
      timeoutMs: 5 * 60_000,
      diagnose: `${endpointHint}crictl ps -a 2>&1 | head -n 20; journalctl -u kubelet -n 30 --no-pager`,
    });
  }
}
