// `kubestrap upgrade`: the plan from what the cluster runs to the spec's version, per step
// and node, printed before anything changes (all --dry-run does); then, once confirmed
// (a y/N question on a terminal, --yes elsewhere), the steps with live progress.
import { formatTable } from '../../base/table.js';
import { InvalidInputError, specArgument } from '../../operations/errors.js';
import { upgrade, type UpgradeResult } from '../../operations/upgrade.js';
import type { NodeStep, UpgradePlan } from '../../operations/upgrade-plan.js';
import { EXIT } from '../exit-codes.js';
import { confirm } from '../confirm.js';
import { concurrencyFlag, durationFlag, runExit, withSession } from '../session.js';

interface UpgradeFlags {
  file?: string;
  to?: string;
  maxUnavailable?: string;
  drainTimeout?: string;
  bundle?: string[];
  key?: string;
  insecureUnsigned?: boolean;
  concurrency?: string;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

function maxUnavailableFlag(value: string | undefined): number {
  const n = value === undefined ? 1 : Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidInputError(`--max-unavailable must be a whole number of 1 or more, not ${value}`);
  return n;
}

// In the order upgrade-node.ts runs them.
const ACTION: Record<NodeStep['action'], (version: string) => string> = {
  apply: (v) => `kubeadm upgrade apply v${v}; drain, kubelet and kubectl ${v}, uncordon`,
  node: (v) => `kubeadm upgrade node; drain, kubelet and kubectl ${v}, uncordon`,
  unchanged: () => 'unchanged (already there)',
};

/** One row per node and step, in the order they would run. */
export function planTable(plan: UpgradePlan): string {
  const rows = plan.steps.flatMap((step, i) => {
    const row = (n: NodeStep, how: string) => [`${i + 1}`, step.version, n.node, n.role, n.from, how];
    return [
      ...step.controlPlanes.map((n) => row(n, ACTION[n.action](step.version))),
      ...step.workerBatches.flatMap((batch, b) =>
        batch.map((n) => row(n, `batch ${b + 1}: ${ACTION[n.action](step.version)}`)),
      ),
      ...step.unchangedWorkers.map((n) => row(n, ACTION.unchanged(step.version))),
    ];
  });
  return formatTable(['STEP', 'TO', 'NODE', 'ROLE', 'FROM', 'ACTION'], rows);
}

function printPlan(result: UpgradeResult, json: boolean): void {
  const { plan } = result;
  if (!json) for (const note of result.notes) process.stderr.write(`Note: ${note}\n`);
  if (json)
    process.stdout.write(
      `${JSON.stringify({ type: 'upgrade-plan', cluster: result.cluster, notes: result.notes, ...plan })}\n`,
    );
  else if (plan.unchanged)
    process.stdout.write(`Cluster ${result.cluster} runs ${plan.to} on every node: nothing to upgrade.\n`);
  else {
    const steps = plan.steps.length;
    process.stdout.write(
      `Upgrade plan for cluster ${result.cluster}: ${plan.from} to ${plan.to}, ${steps} step${steps > 1 ? 's' : ''}` +
        `${steps > 1 ? ' (kubeadm upgrades one minor at a time)' : ''}\n${planTable(plan)}\n`,
    );
  }
}

export async function upgradeCommand(flags: UpgradeFlags): Promise<number> {
  const maxUnavailable = maxUnavailableFlag(flags.maxUnavailable);
  const drainMs = durationFlag(flags.drainTimeout, '--drain-timeout');
  const json = flags.json ?? false;
  let declined: number | undefined;
  const ask = async (result: UpgradeResult) => {
    printPlan(result, json);
    if (flags.yes) return true;
    declined = await confirm(
      `Upgrade cluster ${result.cluster} from ${result.plan.from} to ${result.plan.to}?`,
      'upgrade changes the Kubernetes version of every node',
    );
    return declined === undefined;
  };
  const { bundle, ...rest } = flags;
  const options = {
    ...rest,
    ...(bundle ? { bundles: bundle } : {}),
    maxUnavailable,
    concurrency: concurrencyFlag(flags.concurrency),
    ...(drainMs === undefined ? {} : { drainTimeoutSeconds: drainMs / 1000 }),
  };
  const outcome = await withSession(json, (context) => upgrade(options, context, ask));
  if (outcome.kind === 'planned') {
    printPlan(outcome.result, json);
    return EXIT.ok;
  }
  if (outcome.kind === 'declined') return declined!;
  const code = runExit(outcome.run, flags);
  if (code !== EXIT.ok && !json && !outcome.progressed) process.stderr.write('Nothing was changed on any host.\n');
  else if (code !== EXIT.ok && !json)
    process.stderr.write(
      `Where each node got to is in ${outcome.record}. Run kubestrap upgrade${specArgument(flags.file)} again ` +
        'to go on from there: nodes already at a version are left as they are.\n',
    );
  else if (!json) process.stdout.write(`Cluster ${outcome.result.cluster} runs ${outcome.result.plan.to}.\n`);
  return code;
}
