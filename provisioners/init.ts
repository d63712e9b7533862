// Control-plane init on the first control-plane node: our kubeadm.conf, `kubeadm init`,
// then a bounded wait for the API server. Skipped when the node is already initialised.
import type { ClusterModel } from '../spec/model.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { RenderedFile } from '../templates/render.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import { ADMIN_CONF, KUBE_APISERVER_MANIFEST, KUBEADM_CONF } from '../templates/node-paths.js';
import { KUBECTL } from './kubectl.js';
import type { Phase } from '../engine/phase.js';
import { renderedFile } from './rendered-files.js';
import { waitFor } from './wait.js';
import { shellQuote } from '../base/quote.js';

export class InitPhase implements Phase<NodeHost> {
  readonly title = 'Initialise the control plane (kubeadm init)';

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
  ) {}

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => isInitNode(this.model, h.node));
  }

  async check(step: HostStep<NodeHost>): Promise<boolean> {
    return (
      (await step.probe(`test -f ${ADMIN_CONF} && test -f ${KUBE_APISERVER_MANIFEST}`, { check: false })).code !== 0
    );
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const config = renderedFile(this.files, step.host.node.name, KUBEADM_CONF);
    await step.putFile(KUBEADM_CONF, config.content, { mode: config.mode });
    // --skip-token-print: kubeadm's default bootstrap token must not land in our logs.
    await step.change('kubeadm init', `kubeadm init --config ${KUBEADM_CONF} --skip-token-print`, {
      timeoutMs: 15 * 60_000,
    });
    if (step.dryRun) return;
    const { endpointFromSpec, controlPlaneEndpoint } = this.model.kubernetes;
    // With an endpoint from the spec (a VIP, a load balancer), the usual culprit is the route to it.
    const endpointHint = endpointFromSpec
      ? `echo ${shellQuote(
          `controlPlaneEndpoint ${controlPlaneEndpoint} must reach this node on port 6443 ` +
            '(kubestrap does not run the VIP or load balancer yet)',
        )}; `
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
