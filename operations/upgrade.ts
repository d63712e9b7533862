// `upgrade`: the plan from what the cluster runs to the spec's version, then its steps.
// The versions are read from the cluster itself (kubeadm-config's kubernetesVersion, each
// Node's kubelet), never from what kubestrap last did, so a cluster changed by hand or an
// interrupted upgrade is planned from where it stands. Nothing on a host changes while
// planning, nor before the user accepts the plan and the upgrade preflight passes.
import { parse } from 'yaml';
import { KUBECTL } from '../provisioners/kubectl.js';
import { NODES_JSONPATH, parseNodes } from '../provisioners/verify.js';
import { shellQuote } from '../base/quote.js';
import type { Phase } from '../engine/phase.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import { UpgradeNodesPhase, type NodeProgress } from '../provisioners/upgrade-node.js';
import { BundledUpgradePlanPhase, UpgradePreflightPhase } from '../provisioners/upgrade-preflight.js';
import { UpgradeVerifyPhase } from '../provisioners/upgrade-verify.js';
import type { ClusterModel } from '../spec/model.js';
import { parseKubernetesVersion } from '../spec/versions.js';
import { BundlePhase, bundleDir, ImagesPhase } from '../provisioners/bundle.js';
import { bundlesForSteps, modelAt, readUpgradeBundles } from './upgrade-bundles.js';
import { renderCluster } from '../templates/render.js';
import { lockNote, withClusterLock } from './cluster-lock.js';
import { writeRender } from './render-dir.js';
import { runPhasesOnCluster, type ClusterRun } from './run-on-cluster.js';
import { readUpgradeRecord, UpgradeRecorder, upgradeRecordPath } from './upgrade-record.js';
import { workDir } from './workdir.js';
import { loadClusterSpec } from './cluster-spec.js';
import type { ClusterOptions, OperationContext, PhaseRunOptions } from './context.js';
import { InvalidInputError, specArgument } from './errors.js';
import { clusterHosts, clusterPool } from './hosts.js';
import type { RookVersion } from '../spec/versions.js';
import { planUpgrade, UpgradeRefused, type ClusterVersions, type UpgradePlan } from './upgrade-plan.js';

export interface UpgradeOptions extends ClusterOptions {
  /** Must match spec.kubernetes.version when given: the spec is what up and rebuild build. */
  readonly to?: string;
  /** Workers drained and upgraded at once. */
  readonly maxUnavailable?: number;
  /** Airgapped: one bundle per step (with the spec's packages.bundle, if it names one). */
  readonly bundles?: readonly string[];
  /** The public key every bundle must be signed with. */
  readonly key?: string;
  /** Bundles without checking who made them. */
  readonly insecureUnsigned?: boolean;
}

export interface UpgradeRunOptions extends UpgradeOptions, PhaseRunOptions {
  /** How long a drain may take before the upgrade stops and reports what blocked it. */
  readonly drainTimeoutSeconds?: number;
  /** How long each restarted kubelet and each step's verification may take. */
  readonly readyTimeoutMs?: number;
}

export interface UpgradeResult {
  readonly cluster: string;
  readonly plan: UpgradePlan;
  /** Nodes of the spec whose Node is not Ready: an upgrade does not start. */
  readonly notReady: readonly string[];
  /** Said with the plan: bundles given that no step uses. */
  readonly notes: readonly string[];
}

export const KUBEADM_CONFIG_JSONPATH = '{.data.ClusterConfiguration}';

/** The ClusterConfiguration's kubernetesVersion, without the v. */
export function clusterVersionOf(clusterConfiguration: string): string | undefined {
  const doc: unknown = parse(clusterConfiguration);
  const version = (doc as { kubernetesVersion?: unknown } | null)?.kubernetesVersion;
  return typeof version === 'string' ? version.replace(/^v/, '') : undefined;
}

async function planFor(
  model: ClusterModel,
  options: UpgradeOptions,
  context: OperationContext,
): Promise<UpgradeResult> {
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
  let notReady: string[];
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
    notReady = model.nodes.filter((n) => nodes.get(n.hostname)?.ready !== 'True').map((n) => n.hostname);
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
    return { cluster: model.name, plan, notReady, notes: [] };
  } catch (error) {
    if (error instanceof UpgradeRefused) throw new InvalidInputError(error.message);
    throw error;
  }
}

export type UpgradeRun =
  | { readonly kind: 'planned'; readonly result: UpgradeResult }
  | { readonly kind: 'declined'; readonly result: UpgradeResult }
  | {
      readonly kind: 'ran';
      readonly result: UpgradeResult;
      readonly run: ClusterRun;
      readonly record: string;
      /** Some node was worked on (cordoned or upgraded): the record says where each got to. */
      readonly progressed: boolean;
    };

/** The plan's step versions, and the nodes each step changes. */
function stepNodes(plan: UpgradePlan, model: ClusterModel) {
  const byName = new Map(model.nodes.map((n) => [n.name, n]));
  return plan.steps.map((step) => {
    const changing = [...step.controlPlanes, ...step.workerBatches.flat()].filter((n) => n.action !== 'unchanged');
    return {
      version: parseKubernetesVersion(step.version)!,
      nodes: new Set(changing.map((n) => byName.get(n.node)!.name)),
    };
  });
}

/**
 * Plans, asks (`confirm` sees the plan), checks, and carries out each step: control planes
 * one at a time, workers in batches, the cluster verified after each step. The record in the
 * working directory says where each node got to; a re-run plans from the cluster and goes on.
 */
export async function upgrade(
  options: UpgradeRunOptions,
  context: OperationContext,
  confirm: (result: UpgradeResult) => Promise<boolean>,
): Promise<UpgradeRun> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  // Every bundle is checked (who signed it, its members) before the cluster is even asked.
  const offline = (options.bundles?.length ?? 0) > 0 || model.packages.source === 'bundle';
  const given = offline
    ? await readUpgradeBundles(model, options.file, options.bundles ?? [], context.sink, {
        key: options.key,
        insecureUnsigned: options.insecureUnsigned,
      })
    : [];
  const planned = await planFor(model, options, context);
  const steps = stepNodes(planned.plan, model);
  const chosen = offline
    ? bundlesForSteps(
        model,
        steps.map((s) => s.version),
        given,
        options.file,
      )
    : { bundles: [], unused: [] };
  const result = { ...planned, notes: chosen.unused };
  const previous = await readUpgradeRecord(model.name);
  const leftCordoned = Object.entries(previous?.nodes ?? {})
    .filter(([, n]) => n.cordoned)
    .map(([name]) => name);
  if (options.dryRun || (result.plan.unchanged && !leftCordoned.length)) return { kind: 'planned', result };
  if (result.notReady.length)
    throw new Error(
      `not every node is Ready (${result.notReady.join(', ')}): an upgrade starts only from a healthy cluster; ` +
        `kubestrap status${specArgument(options.file)} shows the nodes. Nothing was changed.`,
    );
  if (!(await confirm(result))) return { kind: 'declined', result };

  return withClusterLock(model.name, 'upgrade', lockNote(context), async () => {
    const recorder = UpgradeRecorder.start(model.name, result.plan.from, result.plan.to, previous);
    // From bundles, the hosts' package manager reads each step's bundle and nothing else.
    const hostModel: ClusterModel = offline ? { ...model, packages: { ...model.packages, source: 'bundle' } } : model;
    const touched = new Set([...steps.flatMap((s) => [...s.nodes]), ...leftCordoned]);
    const common = {
      model: hostModel,
      maxUnavailable: options.maxUnavailable ?? 1,
      drainTimeoutSeconds: options.drainTimeoutSeconds ?? 300,
      readyTimeoutMs: options.readyTimeoutMs ?? 5 * 60_000,
      progress: (node: string, state: NodeProgress) => recorder.node(node, state),
    };
    const phases: Phase<NodeHost>[] = [
      new UpgradePreflightPhase({ model: hostModel, versions: steps.map((s) => s.version), nodes: touched }),
    ];
    for (const [i, { version, nodes }] of steps.entries()) {
      const bundle = chosen.bundles[i];
      if (bundle) {
        phases.push(new BundlePhase(bundle), new ImagesPhase(bundle));
        // The plan check online runs before anything; from a bundle, once its kubeadm is on the hosts.
        if (i === 0) phases.push(new BundledUpgradePlanPhase(hostModel, version, bundleDir(bundle)));
      }
      // A node a failed run left cordoned is finished (and uncordoned) by the step it stopped in, or the last.
      const these = new Set([...nodes, ...(i === steps.length - 1 ? leftCordoned : [])]);
      const step = { ...common, version, nodes: these, files: renderCluster(modelAt(hostModel, version)) };
      phases.push(
        new UpgradeNodesPhase('control-plane', step),
        new UpgradeNodesPhase('worker', step),
        new UpgradeVerifyPhase(model, version, common.readyTimeoutMs),
      );
    }
    if (!steps.length) {
      // Nothing to upgrade, only cordons to lift: the last version's phases find every node there.
      const version = model.kubernetes.version;
      const step = { ...common, version, nodes: new Set(leftCordoned), files: renderCluster(hostModel) };
      phases.push(new UpgradeNodesPhase('control-plane', step), new UpgradeNodesPhase('worker', step));
    }
    let run: ClusterRun | undefined;
    try {
      run = await runPhasesOnCluster(model, phases, options, context);
    } finally {
      await recorder.finish(!run ? 'failed' : run.run.interrupted ? 'interrupted' : run.run.ok ? 'done' : 'failed');
    }
    // The render in the working directory is the spec's again, now that the cluster runs it.
    if (run.run.ok) await writeRender(workDir(model.name), renderCluster(model), model.name);
    const progressed = Object.keys(recorder.record.nodes).length > 0;
    return { kind: 'ran', result, run, record: upgradeRecordPath(model.name), progressed };
  });
}
