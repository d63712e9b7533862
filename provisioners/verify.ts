// The end check: every node of the spec Ready at the spec's version on the spec's
// address, kube-system pods running, and then a workload that uses the storage, the pod
// network and cluster DNS (verify-workload.ts); a summary table of nodes and checks.
import type { ClusterModel } from '../spec/model.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import { KUBECTL } from './kubectl.js';
import type { Phase } from '../engine/phase.js';
import { formatTable } from '../base/table.js';
import { waitFor } from './wait.js';
import { verifyWorkloadChecks, type WorkloadCheck } from './verify-workload.js';

export interface NodeStatus {
  readonly node: string;
  readonly role: string;
  readonly ip: string;
  readonly version: string;
  readonly status: string;
}

export const NODES_JSONPATH =
  `'{range .items[*]}{.metadata.name}{"\\t"}` +
  `{.status.conditions[?(@.type=="Ready")].status}{"\\t"}` +
  `{.status.nodeInfo.kubeletVersion}{"\\t"}` +
  `{.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}'`;

/** Each node's name, Ready, kubelet version and spec.unschedulable ("true" when cordoned, else empty). */
export const NODE_SCHEDULING_JSONPATH =
  `'{range .items[*]}{.metadata.name}{"\\t"}` +
  `{.status.conditions[?(@.type=="Ready")].status}{"\\t"}` +
  `{.status.nodeInfo.kubeletVersion}{"\\t"}` +
  `{.spec.unschedulable}{"\\n"}{end}'`;

export interface NodeScheduling {
  readonly ready: string;
  readonly version: string;
  readonly cordoned: boolean;
}

/** The four tab-separated columns of either nodes expression, by node name. */
function nodeRows(output: string): Map<string, [string, string, string]> {
  return new Map(
    output
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name = '', ready = '', version = '', last = ''] = line.split('\t');
        return [name, [ready, version, last]];
      }),
  );
}

export function parseNodeScheduling(output: string): Map<string, NodeScheduling> {
  const rows = [...nodeRows(output)];
  return new Map(rows.map(([name, [ready, version, u]]) => [name, { ready, version, cordoned: u === 'true' }]));
}

export function parseNodes(output: string): Map<string, { ready: string; version: string; address: string }> {
  return new Map([...nodeRows(output)].map(([name, [ready, version, address]]) => [name, { ready, version, address }]));
}

export interface VerifyOptions {
  /** Each wait's limit; the default suits a first start with image pulls. */
  readonly timeoutMs?: number;
  /** Fixed in tests; otherwise fresh per run. */
  readonly nonce?: string;
  /** false: nodes and kube-system only, without the storage, pod network and DNS workload. */
  readonly workload?: boolean;
}

export class VerifyPhase implements Phase<NodeHost> {
  readonly title = 'Verify the cluster';
  summary: NodeStatus[] = [];
  checks: WorkloadCheck[] = [];

  constructor(
    private readonly model: ClusterModel,
    private readonly options: VerifyOptions = {},
  ) {}

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => isInitNode(this.model, h.node));
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    if (step.dryRun) return;
    const want = `v${this.model.kubernetes.version.text}`;
    const nodes = await waitFor(step, {
      what: `all ${this.model.nodes.length} nodes to be Ready at ${want}`,
      probe: `${KUBECTL} get nodes -o jsonpath=${NODES_JSONPATH}`,
      until: (r) => {
        const seen = parseNodes(r.stdout);
        return (
          r.code === 0 &&
          this.model.nodes.every(
            (n) => seen.get(n.hostname)?.ready === 'True' && seen.get(n.hostname)?.version === want,
          )
        );
      },
      timeoutMs: this.options.timeoutMs ?? 5 * 60_000,
      intervalMs: 2_000,
      diagnose: `${KUBECTL} get nodes -o wide; ${KUBECTL} describe nodes | grep -A8 Conditions`,
    });
    const seen = parseNodes(nodes.stdout);
    // A kubelet registers whatever address it was given if that address is on the host,
    // so a node that came up on the NAT address (10.0.2.15 on every VirtualBox VM) is
    // Ready and still broken: logs, exec and the API server's calls to it go nowhere.
    const misplaced = this.model.nodes.filter((n) => seen.get(n.hostname)?.address !== n.ip);
    if (misplaced.length > 0)
      throw new Error(
        misplaced
          .map(
            (n) =>
              `node ${n.hostname} registered InternalIP ${seen.get(n.hostname)?.address || '(none)'}, ` +
              `the spec says ${n.ip}`,
          )
          .join('; ') +
          ' — the kubelet takes its address from --node-ip in /etc/default/kubelet ' +
          '(an address not on the host leaves none); check it names the spec address and restart the kubelet',
      );
    this.summary = this.model.nodes.map((n) => ({
      node: n.hostname,
      role: n.role,
      ip: n.ip,
      version: seen.get(n.hostname)?.version ?? '?',
      status: seen.get(n.hostname)?.ready === 'True' ? 'Ready' : 'NotReady',
    }));
    await waitFor(step, {
      what: 'every kube-system pod to run',
      probe:
        `${KUBECTL} -n kube-system get pods --no-headers ` +
        `-o custom-columns=NAME:.metadata.name,PHASE:.status.phase`,
      until: (r) =>
        r.code === 0 &&
        r.stdout.trim() !== '' &&
        r.stdout
          .trim()
          .split('\n')
          .every((line) => /\s(Running|Succeeded)$/.test(line)),
      timeoutMs: this.options.timeoutMs ?? 5 * 60_000,
      intervalMs: 2_000,
      diagnose: `${KUBECTL} -n kube-system get pods -o wide`,
    });
    if (this.options.workload === false) {
      step.note('verify: the workload checks (storage, pod network, DNS) were skipped; kubestrap verify runs them');
      return;
    }
    this.checks = await verifyWorkloadChecks(step, this.model, {
      timeoutMs: this.options.timeoutMs ?? 5 * 60_000,
      ...(this.options.nonce ? { nonce: this.options.nonce } : {}),
    });
  }
}

export function verifyTable(rows: readonly NodeStatus[]): string {
  return formatTable(
    ['NODE', 'ROLE', 'IP', 'VERSION', 'STATUS'],
    rows.map((r) => [r.node, r.role, r.ip, r.version, r.status]),
  );
}

export function checksTable(rows: readonly WorkloadCheck[]): string {
  return formatTable(
    ['CHECK', 'NODE', 'RESULT'],
    rows.map((r) => [r.check, r.node, r.result]),
  );
}
