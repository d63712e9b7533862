// `kubestrap upgrade --dry-run`: the plan from what the cluster runs to the spec's version,
// per step and node, before anything changes. Carrying a plan out is not built yet; without
// --dry-run the command says so and changes nothing.
import { formatTable } from '../../base/table.js';
import { InvalidInputError, specArgument } from '../../operations/errors.js';
import { upgradePlan, type UpgradeResult } from '../../operations/upgrade.js';
import type { NodeStep, UpgradePlan } from '../../operations/upgrade-plan.js';
import { EXIT } from '../exit-codes.js';
import { withSession } from '../session.js';

interface UpgradeFlags {
  file?: string;
  to?: string;
  maxUnavailable?: string;
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

const ACTION: Record<NodeStep['action'], (version: string) => string> = {
  apply: (v) => `kubeadm upgrade apply v${v}, then kubelet and kubectl ${v}`,
  node: (v) => `kubeadm upgrade node, kubelet and kubectl ${v}`,
  unchanged: () => 'unchanged (already there)',
};

/** One row per node and step, in the order they would run. */
export function planTable(plan: UpgradePlan): string {
  const rows = plan.steps.flatMap((step, i) => {
    const row = (n: NodeStep, how: string) => [`${i + 1}`, step.version, n.node, n.role, n.from, how];
    return [
      ...step.controlPlanes.map((n) => row(n, ACTION[n.action](step.version))),
      ...step.workerBatches.flatMap((batch, b) =>
        batch.map((n) => row(n, `batch ${b + 1}: drain, ${ACTION[n.action](step.version)}, uncordon`)),
      ),
      ...step.unchangedWorkers.map((n) => row(n, ACTION.unchanged(step.version))),
    ];
  });
  return formatTable(['STEP', 'TO', 'NODE', 'ROLE', 'FROM', 'ACTION'], rows);
}

export async function upgradeCommand(flags: UpgradeFlags): Promise<number> {
  const maxUnavailable = maxUnavailableFlag(flags.maxUnavailable);
  const result: UpgradeResult = await withSession(flags.json ?? false, (context) =>
    upgradePlan({ ...flags, maxUnavailable }, context),
  );
  const { plan } = result;
  if (flags.json)
    process.stdout.write(`${JSON.stringify({ type: 'upgrade-plan', cluster: result.cluster, ...plan })}\n`);
  else if (plan.unchanged)
    process.stdout.write(`Cluster ${result.cluster} runs ${plan.to} on every node: nothing to upgrade.\n`);
  else {
    const steps = plan.steps.length;
    process.stdout.write(
      `Upgrade plan for cluster ${result.cluster}: ${plan.from} to ${plan.to}, ${steps} step${steps > 1 ? 's' : ''}` +
        `${steps > 1 ? ' (kubeadm upgrades one minor at a time)' : ''}\n${planTable(plan)}\n`,
    );
  }
  if (flags.dryRun || plan.unchanged) return EXIT.ok;
  throw new InvalidInputError(
    'carrying out an upgrade is not built yet: nothing was changed. The plan above is what it will do; ' +
      `kubestrap upgrade --dry-run${specArgument(flags.file)} prints it`,
  );
}
