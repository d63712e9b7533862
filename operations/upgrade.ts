// `upgrade`: the plan from what the cluster runs to the spec's version. The versions are
// read from the cluster itself (kubeadm-config's kubernetesVersion, each Node's kubelet),
// never from what kubestrap last did, so a cluster changed by hand or an interrupted
// upgrade is planned from where it stands. Nothing on a host changes while planning.
import { parse } from 'yaml';
import { KUBECTL } from '../provisioners/kubectl.js';
import { NODES_JSONPATH, parseNodes } from '../provisioners/verify.js';
import { shellQuote } from '../base/quote.js';
import { loadClusterSpec } from './cluster-spec.js';
import type { ClusterOptions, OperationContext } from './context.js';
import { InvalidInputError, specArgument } from './errors.js';
import { clusterHosts, clusterPool } from './hosts.js';
import type { RookVersion } from '../spec/versions.js';
import { planUpgrade, UpgradeRefused, type ClusterVersions, type UpgradePlan } from './upgrade-plan.js';

export interface UpgradeOptions extends ClusterOptions {
  /** Must match spec.kubernetes.version when given: the spec is what up and rebuild build. */
  readonly to?: string;
  /** Workers drained and upgraded at once. */
  readonly maxUnavailable?: number;
}

export interface UpgradeResult {
  readonly cluster: string;
  readonly plan: UpgradePlan;
}

export const KUBEADM_CONFIG_JSONPATH = '{.data.ClusterConfiguration}';

/** The ClusterConfiguration's kubernetesVersion, without the v. */
export function clusterVersionOf(clusterConfiguration: string): string | undefined {
  const doc: unknown = parse(clusterConfiguration);
  const version = (doc as { kubernetesVersion?: unknown } | null)?.kubernetesVersion;
  return typeof version === 'string' ? version.replace(/^v/, '') : undefined;
}

export async function upgradePlan(options: UpgradeOptions, context: OperationContext): Promise<UpgradeResult> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  const spec = model.kubernetes.version.text;
  const target = options.to?.replace(/^v/, '') ?? spec;
  if (target !== spec)
    throw new InvalidInputError(
      `--to ${target} differs from the spec's version ${spec}: set spec.kubernetes.version: ${target} first ` +
        '(the spec is what up, rebuild and upgrade build from), then run kubestrap upgrade' +
        specArgument(options.file),
    );
  const init = model.nodes.find((n) => n.role === 'control-plane')!;
  const pool = clusterPool(model, options.file, { connectAttempts: 1, signal: context.signal });
  let current: ClusterVersions;
  try {
    const [host] = await clusterHosts(model, pool, options.verbose ?? false, [init.name]);
    const ask = async (command: string, what: string) => {
      const result = await host!.ssh.exec(command, { check: false, timeoutMs: 30_000 });
      if (result.code !== 0)
        throw new Error(
          `${init.name}: could not read ${what} (${command}): ${result.stderr.trim() || result.stdout.trim()}`,
        );
      return result.stdout;
    };
    const config = await ask(
      `${KUBECTL} get configmap kubeadm-config -n kube-system -o jsonpath=${shellQuote(KUBEADM_CONFIG_JSONPATH)}`,
      "the cluster's kubeadm-config",
    );
    const nodes = parseNodes(await ask(`${KUBECTL} get nodes -o jsonpath=${NODES_JSONPATH}`, 'the nodes'));
    const version = clusterVersionOf(config);
    if (!version) throw new Error(`${init.name}: kubeadm-config has no kubernetesVersion`);
    current = {
      controlPlane: version,
      kubelets: Object.fromEntries([...nodes].map(([name, n]) => [name, n.version])),
    };
  } finally {
    await pool.close();
  }
  try {
    const plan = planUpgrade({
      nodes: model.nodes.map((n) => ({ name: n.name, hostname: n.hostname, role: n.role })),
      current,
      target,
      maxUnavailable: options.maxUnavailable ?? 1,
      rook: model.rook.enabled ? { enabled: true, version: model.rook.version as RookVersion } : undefined,
    });
    return { cluster: model.name, plan };
  } catch (error) {
    if (error instanceof UpgradeRefused) throw new InvalidInputError(error.message);
    throw error;
  }
}
