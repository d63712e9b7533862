// `status`: per node, the machine's state (Vagrant's word, or "existing"), whether SSH
// answers, and the Kubernetes node's Ready condition as the API server reports it; with
// the endpoint kubestrap runs, on each control plane whether it holds the VIP, whether
// keepalived and haproxy run, and which API servers its haproxy finds healthy.
import { ENDPOINT_STATUS_PROBE, endpointBackends, endpointStatus } from '../provisioners/endpoint.js';
import { KUBECTL } from '../provisioners/kubectl.js';
import { managedEndpoint } from '../templates/endpoint.js';
import { NODES_JSONPATH, parseNodes } from '../provisioners/verify.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { Provider } from '../spec/load.js';
import { loadClusterSpec } from './cluster-spec.js';
import type { ClusterOptions, OperationContext } from './context.js';
import { clusterHosts, clusterPool } from './hosts.js';

export interface NodeState {
  node: string;
  role: string;
  ip: string;
  machine: string;
  ssh: string;
  kubernetes: string;
  /**
   * Managed endpoint, control planes: "VIP holder" or "standby", any daemon not running, and
   * haproxy's backends ("backends 3/3 up", "backends down: cp2 (L4CON)"); else "-".
   */
  endpoint: string;
}

export interface StatusResult {
  readonly cluster: string;
  readonly provider: Provider;
  /** Every node runs, answers and is Ready. */
  readonly healthy: boolean;
  readonly nodes: readonly NodeState[];
  /** Managed endpoint: the VIP and the control planes seen holding it (healthy: exactly one). */
  readonly endpoint?: { readonly vip: string; readonly holders: readonly string[] };
}

/**
 * One control plane's ENDPOINT cell from ENDPOINT_STATUS_PROBE's output ("VIP holder,
 * backends 3/3 up", "standby, backends down: cp2 (L4CON)"), and whether its haproxy finds
 * a backend down.
 */
export function endpointCell(output: string, vip: string): { readonly text: string; readonly degraded: boolean } {
  const seen = endpointStatus(output, vip);
  // A stopped haproxy has no view of its backends; "haproxy not running" says it all.
  const backends = seen.down.includes('haproxy') ? undefined : endpointBackends(output);
  const down = backends?.filter((b) => !b.up) ?? [];
  const view = seen.down.includes('haproxy')
    ? ''
    : !backends
      ? ', backends unknown'
      : down.length
        ? `, backends down: ${down.map((b) => (b.check ? `${b.server} (${b.check})` : b.server)).join(', ')}`
        : `, backends ${backends.length}/${backends.length} up`;
  return {
    text:
      `${seen.holdsVip ? 'VIP holder' : 'standby'}` +
      `${seen.down.length ? ` (${seen.down.join(', ')} not running)` : ''}${view}`,
    degraded: down.length > 0,
  };
}

export async function status(options: ClusterOptions, context: OperationContext): Promise<StatusResult> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  const rows: NodeState[] = model.nodes.map((n) => ({
    node: n.name,
    role: n.role,
    ip: n.ip,
    machine: 'existing',
    ssh: '-',
    kubernetes: '-',
    endpoint: '-',
  }));
  const managed = managedEndpoint(model);
  /** Control planes whose haproxy finds a backend down. */
  const degraded = new Set<string>();
  const vip = model.kubernetes.endpoint.host;
  const pool = clusterPool(model, options.file, { connectAttempts: 1, signal: context.signal });
  try {
    let only: string[] | undefined;
    if (model.machines.provider !== 'existing') {
      const { vagrantDriver } = await import('./machines.js');
      const driver = vagrantDriver(model, options.verbose ?? false, context.signal);
      const states = driver.hasMachines() ? await driver.status() : [];
      for (const row of rows) row.machine = states.find((s) => s.machine === row.node)?.state ?? 'not_created';
      only = rows.filter((r) => r.machine === 'running').map((r) => r.node);
    }
    const hosts = await clusterHosts(model, pool, options.verbose ?? false, only);
    await Promise.all(
      hosts.map(async (host) => {
        const row = rows.find((r) => r.node === host.name)!;
        try {
          await host.ssh.exec('true', { sudo: false, timeoutMs: 15_000 });
          row.ssh = 'ok';
          if (managed && host.node.role === 'control-plane') {
            const probe = await host.ssh.exec(ENDPOINT_STATUS_PROBE, { check: false, timeoutMs: 15_000 });
            const cell = endpointCell(probe.stdout, vip);
            row.endpoint = cell.text;
            if (cell.degraded) degraded.add(row.node);
          }
        } catch (error) {
          row.ssh = `unreachable: ${(error as Error).message.split('\n')[0]}`;
        }
      }),
    );
    const api = hosts.find((h) => isInitNode(model, h.node) && rows.find((r) => r.node === h.name)?.ssh === 'ok');
    if (api) {
      const result = await api.ssh.exec(`${KUBECTL} get nodes -o jsonpath=${NODES_JSONPATH}`, {
        check: false,
        timeoutMs: 30_000,
      });
      const seen = result.code === 0 ? parseNodes(result.stdout) : undefined;
      for (const row of rows) {
        const hostname = model.nodes.find((n) => n.name === row.node)!.hostname;
        const node = seen?.get(hostname);
        row.kubernetes = !seen
          ? 'API not answering'
          : !node
            ? 'not joined'
            : node.ready === 'True'
              ? `Ready ${node.version}`
              : `NotReady ${node.version}`;
      }
    }
  } finally {
    await pool.close();
  }
  const holders = rows.filter((r) => r.endpoint.startsWith('VIP holder')).map((r) => r.node);
  const healthy =
    rows.every(
      (r) =>
        (r.machine === 'running' || r.machine === 'existing') &&
        r.ssh === 'ok' &&
        r.kubernetes.startsWith('Ready') &&
        !r.endpoint.includes('not running') &&
        !degraded.has(r.node),
    ) &&
    (!managed || holders.length === 1);
  return {
    cluster: model.name,
    provider: model.machines.provider,
    healthy,
    nodes: rows,
    ...(managed ? { endpoint: { vip, holders } } : {}),
  };
}
