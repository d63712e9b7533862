// One step of an upgrade on the nodes it concerns, in the order of kubeadm's upgrade guide
// (kubeadm-upgrade.md): the package source switched to the step's minor, the exact kubeadm
// installed and held; `kubeadm upgrade apply` on the first control plane (etcd included),
// `kubeadm upgrade node` on every other node; then the node drained, the exact kubelet and
// kubectl installed, the kubelet restarted, the node Ready at the step's version, and
// uncordoned. Control planes go one at a time; workers `maxUnavailable` at a time.
//
// Every part probes first, so a re-run after a failure or Ctrl-C picks up where the node
// stands: kubeadm already at the version is not reinstalled, a cluster already at the
// version is not applied again, a kubelet already reporting it is not restarted.
import { shellQuote } from '../base/quote.js';
import type { HostStep } from '../engine/host-step.js';
import type { Phase } from '../engine/phase.js';
import { PINNED_KUBERNETES_PACKAGES as PINNED } from '../spec/host-packages.js';
import type { ClusterModel } from '../spec/model.js';
import type { KubernetesVersion } from '../spec/versions.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import { CONTAINERD_CONFIG, KUBEADM_CONF } from '../templates/node-paths.js';
import { sha256 } from '../base/digest.js';
import { parseFileProbe, probeFileScript } from '../ssh/remote-command.js';
import type { RenderedFile } from '../templates/render.js';
import type { NodeHost } from './cluster-host.js';
import { KUBECTL } from './kubectl.js';
import { installedQuery, parseInstalled } from './os-packages.js';
import { installExactCommand, pointPackagesAt } from './packages.js';
import { renderedFile } from './rendered-files.js';
import { NODE_SCHEDULING_JSONPATH, parseNodeScheduling } from './verify.js';
import { waitFor } from './wait.js';

/** What the upgrade remembers of a node while it works on it (the resumable record). */
export interface NodeProgress {
  /** The node is cordoned by this upgrade and must be uncordoned by it. */
  readonly cordoned?: boolean;
  /** The version the node's kubelet runs, once the upgrade has brought it there. */
  readonly version?: string;
}

export interface UpgradeStepOptions {
  readonly model: ClusterModel;
  readonly version: KubernetesVersion;
  /** The render at this step's version: the kubeadm config kubestrap keeps follows the step's API. */
  readonly files: readonly RenderedFile[];
  /** The spec names of the nodes this step upgrades. */
  readonly nodes: ReadonlySet<string>;
  /** Workers worked on at once (control planes: always one). */
  readonly maxUnavailable: number;
  readonly drainTimeoutSeconds: number;
  /** How long a restarted kubelet has to report Ready at the version. */
  readonly readyTimeoutMs: number;
  readonly progress: (node: string, state: NodeProgress) => Promise<void>;
}

/** Every node's Ready, kubelet version and cordon: the double models this one expression. */
export const NODES_PROBE = `${KUBECTL} get nodes -o jsonpath=${NODE_SCHEDULING_JSONPATH}`;

export const CLUSTER_VERSION_PROBE =
  `${KUBECTL} get configmap kubeadm-config -n kube-system -o jsonpath='{.data.ClusterConfiguration}' ` +
  '| awk \'$1 == "kubernetesVersion:" { print $2 }\'';

/** The drain kubeadm's guide runs: DaemonSet pods stay, emptyDir data goes, unmanaged pods block. */
export function drainCommand(hostname: string, timeoutSeconds: number): string {
  return (
    `${KUBECTL} drain ${shellQuote(hostname)} --ignore-daemonsets --delete-emptydir-data ` +
    `--timeout=${timeoutSeconds}s`
  );
}

export class UpgradeNodesPhase implements Phase<NodeHost> {
  readonly title: string;
  readonly concurrency: number;
  private leader: NodeHost | undefined;

  constructor(
    private readonly role: 'control-plane' | 'worker',
    private readonly options: UpgradeStepOptions,
  ) {
    const v = options.version.text;
    this.concurrency = role === 'control-plane' ? 1 : options.maxUnavailable;
    this.title =
      role === 'control-plane'
        ? `Upgrade control planes to ${v} (one at a time)`
        : `Upgrade workers to ${v} (${options.maxUnavailable} at a time: drain, upgrade, uncordon)`;
  }

  hosts(all: readonly NodeHost[]): NodeHost[] {
    this.leader = all.find((h) => isInitNode(this.options.model, h.node));
    return all.filter((h) => h.node.role === this.role && this.options.nodes.has(h.node.name));
  }

  /** kubectl runs on the first control plane, as the cluster's admin. */
  private api(step: HostStep<NodeHost>): HostStep<NodeHost> {
    if (!this.leader) throw new Error('upgrade: no first control-plane node');
    return step.host === this.leader ? step : step.elsewhere(this.leader);
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const { model, version } = this.options;
    const v = version.text;
    const node = step.host.node;
    // On the record before anything changes: a run that stops from here on has touched a host.
    await this.options.progress(node.name, {});
    // From a bundle, the step's bundle phase has made it the only source.
    if (model.packages.source !== 'bundle') await pointPackagesAt(step, model, version);
    await this.installExact(step, ['kubeadm']);

    if (isInitNode(model, node)) {
      const cluster = (await step.probe(CLUSTER_VERSION_PROBE, { label: "the cluster's version" })).stdout.trim();
      if (cluster !== `v${v}`)
        // -y: apply asks otherwise (reading any stdin); etcd is upgraded with it (--etcd-upgrade defaults true).
        await step.change(`kubeadm upgrade apply v${v} (from ${cluster})`, `kubeadm upgrade apply v${v} -y`, {
          timeoutMs: 20 * 60_000,
        });
    } else if (!(await this.kubeletAt(step))) {
      await step.change(`kubeadm upgrade node (to ${v})`, 'kubeadm upgrade node', { timeoutMs: 20 * 60_000 });
    }

    // The kubeadm config kubestrap keeps, at the step's API (kubeadm config migrate's job).
    const conf = renderedFile(this.options.files, node.name, KUBEADM_CONF);
    await step.putFile(KUBEADM_CONF, conf.content, { mode: conf.mode });

    const api = this.api(step);
    // containerd's config names the minor's pause image (its sandbox): it moves with the step.
    const runtime = renderedFile(this.options.files, node.name, CONTAINERD_CONFIG);
    const runtimeStale = !(await this.hasFile(step, CONTAINERD_CONFIG, runtime.content));
    const kubeletStale = !(await this.kubeletAt(step)) || !(await this.reportsVersion(api, node.hostname));
    if (kubeletStale || runtimeStale) {
      await this.options.progress(node.name, { cordoned: true });
      await this.drain(api, node.hostname);
      if (kubeletStale) await this.installExact(step, ['kubelet', 'kubectl']);
      if (await step.putFile(CONTAINERD_CONFIG, runtime.content, { mode: runtime.mode }))
        await step.change(`restart containerd (the sandbox image of ${v})`, 'systemctl restart containerd');
      await step.change('reload systemd units', 'systemctl daemon-reload');
      await step.change(`restart the kubelet at ${v}`, 'systemctl restart kubelet');
      if (!step.dryRun)
        await waitFor(api, {
          what: `node ${node.hostname} to be Ready at v${v}`,
          probe: NODES_PROBE,
          until: (r) => {
            const seen = parseNodeScheduling(r.stdout).get(node.hostname);
            return r.code === 0 && seen?.ready === 'True' && seen.version === `v${v}`;
          },
          timeoutMs: this.options.readyTimeoutMs,
          intervalMs: 2_000,
          diagnose: `journalctl -u kubelet --no-pager -n 30 2>&1 || true`,
        });
    }
    await this.uncordon(api, node.hostname);
    await this.options.progress(node.name, { cordoned: false, version: v });
  }

  /** The packages at exactly the step's version, held there. */
  private async installExact(step: HostStep<NodeHost>, packages: readonly (typeof PINNED)[number][]) {
    const { model, version } = this.options;
    const family = model.os.family;
    const installed = parseInstalled(
      (await step.probe(installedQuery(family, packages), { label: `installed ${packages.join(', ')}` })).stdout,
    );
    const stale = packages.filter((p) => !installed.get(p)?.startsWith(`${version.text}-`));
    if (stale.length)
      await step.change(
        `install ${stale.map((p) => `${p} ${version.text}`).join(', ')}`,
        installExactCommand(model, version, stale),
        { timeoutMs: 20 * 60_000 },
      );
    // dnf: the repository's exclude= is the hold, as after the install.
    if (family !== 'debian') return;
    const held = (await step.probe('apt-mark showhold')).stdout.split('\n');
    const unheld = packages.filter((p) => !held.includes(p));
    if (unheld.length)
      await step.change(`hold ${unheld.join(', ')} at ${version.text}`, `apt-mark hold ${unheld.join(' ')}`);
  }

  /** The host has exactly this content at `target`. */
  private async hasFile(step: HostStep<NodeHost>, target: string, content: string): Promise<boolean> {
    const seen = parseFileProbe((await step.probe(probeFileScript(target), { label: `probe ${target}` })).stdout);
    return seen?.sha256 === sha256(content);
  }

  /** The kubelet package on the host is at the step's version already. */
  private async kubeletAt(step: HostStep<NodeHost>): Promise<boolean> {
    const installed = parseInstalled(
      (await step.probe(installedQuery(this.options.model.os.family, ['kubelet']))).stdout,
    );
    return installed.get('kubelet')?.startsWith(`${this.options.version.text}-`) ?? false;
  }

  /** The node's running kubelet reports the step's version (it was restarted after the install). */
  private async reportsVersion(api: HostStep<NodeHost>, hostname: string): Promise<boolean> {
    const seen = parseNodeScheduling((await api.probe(NODES_PROBE)).stdout).get(hostname);
    return seen?.version === `v${this.options.version.text}`;
  }

  /** A drain that does not finish says what blocked it; the node stays cordoned for the re-run. */
  private async drain(api: HostStep<NodeHost>, hostname: string): Promise<void> {
    const seconds = this.options.drainTimeoutSeconds;
    const result = await api.change(`drain ${hostname}`, drainCommand(hostname, seconds), {
      check: false,
      timeoutMs: (seconds + 60) * 1000,
    });
    if (!result || result.code === 0) return;
    const said = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `${hostname}: the drain did not finish within ${seconds} s (\`${drainCommand(hostname, seconds)}\` ` +
        `exited ${result.code}); what blocked it:\n${said}\n` +
        'The node stays cordoned. Move or fix what blocks the drain (a PodDisruptionBudget, a pod no controller ' +
        'manages), or raise --drain-timeout, then run kubestrap upgrade again: it resumes from here.',
    );
  }

  private async uncordon(api: HostStep<NodeHost>, hostname: string): Promise<void> {
    const seen = parseNodeScheduling((await api.probe(NODES_PROBE)).stdout).get(hostname);
    if (seen?.cordoned) await api.change(`uncordon ${hostname}`, `${KUBECTL} uncordon ${shellQuote(hostname)}`);
  }
}
