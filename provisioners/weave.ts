// The pod network: the Weave encryption Secret (a password made here, handed to
// kubectl on stdin, never rendered or logged), then our Weave Net manifest; then a
// bounded wait for the DaemonSet on every node, with Weave's own status on failure.
import { randomBytes } from 'node:crypto';
import type { ClusterModel } from '../spec/model.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { RenderedFile } from '../templates/render.js';
import { WEAVE_PASSWORD_SECRET, weavePasswordSecret } from '../templates/weave.js';
import { toYaml } from '../templates/yaml.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import { CLUSTER_MANIFESTS } from '../templates/node-paths.js';
import { KUBECTL } from './kubectl.js';
import type { Phase } from '../engine/phase.js';
import { waitFor } from './wait.js';

export class WeavePhase implements Phase<NodeHost> {
  readonly title = 'Pod network (Weave Net)';

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
  ) {}

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => isInitNode(this.model, h.node));
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    if (this.model.weave.encryption) {
      const secret = await step.probe(`${KUBECTL} -n kube-system get secret ${WEAVE_PASSWORD_SECRET} -o name`, {
        check: false,
      });
      if (secret.code !== 0) {
        const password = randomBytes(24).toString('base64url');
        step.host.ssh.redact(password);
        await step.change('create the Weave encryption password Secret', `${KUBECTL} apply -f -`, {
          stdin: toYaml(weavePasswordSecret(password)),
          secrets: [password],
          label: `kubectl apply -f - (Secret kube-system/${WEAVE_PASSWORD_SECRET})`,
        });
      }
    }
    const manifest = this.files.find((f) => f.path === 'cluster/weave-net.yaml');
    if (!manifest) throw new Error('the render has no cluster/weave-net.yaml');
    const path = `${CLUSTER_MANIFESTS}/weave-net.yaml`;
    const changed = await step.putFile(path, manifest.content, { mode: manifest.mode });
    const present = await step.probe(`${KUBECTL} -n kube-system get daemonset weave-net -o name`, { check: false });
    if (changed || present.code !== 0) await step.change('apply the Weave Net manifest', `${KUBECTL} apply -f ${path}`);
    if (step.dryRun) return;
    await waitFor(step, {
      what: 'the weave-net DaemonSet to be ready on every node',
      probe: `${KUBECTL} -n kube-system rollout status daemonset/weave-net --timeout=10s`,
      until: (r) => r.code === 0,
      timeoutMs: 5 * 60_000,
      intervalMs: 1_000,
      diagnose: [
        `${KUBECTL} -n kube-system get pods -l name=weave-net -o wide`,
        `${KUBECTL} -n kube-system get events --field-selector involvedObject.kind=Pod | tail -n 20`,
        `for p in $(${KUBECTL} -n kube-system get pods -l name=weave-net -o name); ` +
          `do ${KUBECTL} -n kube-system exec "$p" -c weave -- /home/weave/weave --local status; done`,
      ].join('; '),
    });
  }
}
