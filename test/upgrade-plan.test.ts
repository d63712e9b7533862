// The upgrade plan: one step per minor, control planes before workers, workers in batches,
// a re-run planning only what is left, and every refusal named before a host is touched.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planTable } from '../cli/commands/upgrade.js';
import { clusterVersionOf } from '../operations/upgrade.js';
import { planUpgrade, UpgradeRefused, type PlanNode, type UpgradePlan } from '../operations/upgrade-plan.js';
import { FIXTURE_DIR, REPO_ROOT } from './support/fixtures.js';

const cp = (name: string): PlanNode => ({ name, hostname: name, role: 'control-plane' });
const worker = (name: string): PlanNode => ({ name, hostname: name, role: 'worker' });
const LAB = [cp('cp'), worker('w1'), worker('w2')];

const at = (version: string, nodes: readonly PlanNode[] = LAB, overrides: Record<string, string> = {}) => ({
  controlPlane: version,
  kubelets: { ...Object.fromEntries(nodes.map((n) => [n.hostname, version])), ...overrides },
});

/** A plan as lines a reviewer can read: "1.35.9: apply cp; node cp2; [w1] [w2]; unchanged -". */
function outline(plan: UpgradePlan): string[] {
  return plan.steps.map(
    (s) =>
      `${s.version}: ${s.controlPlanes.map((n) => `${n.action} ${n.node}`).join(', ')}; ` +
      `${s.workerBatches.map((b) => `[${b.map((n) => n.node).join(' ')}]`).join(' ') || '-'}; ` +
      `unchanged ${s.unchangedWorkers.map((n) => n.node).join(' ') || '-'}`,
  );
}

function refusal(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof UpgradeRefused) return [...error.reasons];
    throw error;
  }
  throw new Error('expected the upgrade to be refused');
}

describe('the upgrade plan', () => {
  it('one minor: the first control plane applies, then each worker on its own', () => {
    const plan = planUpgrade({ nodes: LAB, current: at('1.34.2'), target: '1.35.9', maxUnavailable: 1 });
    expect(plan).toMatchObject({ from: '1.34.2', to: '1.35.9', unchanged: false });
    expect(outline(plan)).toEqual(['1.35.9: apply cp; [w1] [w2]; unchanged -']);
  });

  it('two minors: two steps, the one between at its newest known patch', () => {
    const plan = planUpgrade({ nodes: LAB, current: at('1.34.2'), target: '1.36.5', maxUnavailable: 1 });
    expect(outline(plan)).toEqual([
      '1.35.9: apply cp; [w1] [w2]; unchanged -',
      '1.36.5: apply cp; [w1] [w2]; unchanged -',
    ]);
    expect(plan.steps.map((s) => s.controlPlanes[0]!.from)).toEqual(['1.34.2', '1.35.9']);
  });

  it('a patch release is one step', () => {
    const plan = planUpgrade({ nodes: LAB, current: at('1.36.4'), target: '1.36.5', maxUnavailable: 1 });
    expect(outline(plan)).toEqual(['1.36.5: apply cp; [w1] [w2]; unchanged -']);
  });

  it('control planes one at a time after the first; workers in batches of --max-unavailable', () => {
    const nodes = [cp('cp1'), cp('cp2'), cp('cp3'), worker('w1'), worker('w2'), worker('w3')];
    const plan = planUpgrade({ nodes, current: at('1.35.9', nodes), target: '1.36.5', maxUnavailable: 2 });
    expect(outline(plan)).toEqual(['1.36.5: apply cp1, node cp2, node cp3; [w1 w2] [w3]; unchanged -']);
  });

  it('a re-run after a failure mid-workers plans only what is left', () => {
    const current = at('1.35.9', LAB, { w2: '1.34.2' });
    const plan = planUpgrade({ nodes: LAB, current, target: '1.35.9', maxUnavailable: 1 });
    expect(outline(plan)).toEqual(['1.35.9: unchanged cp; [w2]; unchanged w1']);
  });

  it('a re-run after the first step stopped at the workers takes them straight to the next step', () => {
    // The control plane moves one minor per step (kubeadm); a kubelet may skip minors as long
    // as it stays within the skew (KEP-3935), so lagging workers are drained once, not twice.
    const current = at('1.35.9', LAB, { w1: '1.34.2', w2: '1.34.2' });
    const plan = planUpgrade({ nodes: LAB, current, target: '1.36.5', maxUnavailable: 1 });
    expect(outline(plan)).toEqual(['1.36.5: apply cp; [w1] [w2]; unchanged -']);
    expect(plan.steps[0]!.workerBatches.flat().map((n) => n.from)).toEqual(['1.34.2', '1.34.2']);
  });

  it('apply runs while kubeadm-config lags, even when the init node kubelet has the patch already', () => {
    const current = at('1.36.4', LAB, { cp: '1.36.5' });
    const plan = planUpgrade({ nodes: LAB, current, target: '1.36.5', maxUnavailable: 1 });
    expect(outline(plan)).toEqual(['1.36.5: apply cp; [w1] [w2]; unchanged -']);
    expect(plan.steps[0]!.controlPlanes[0]!.from).toBe('1.36.4');
  });

  it('a cluster at the target is unchanged: no steps', () => {
    const plan = planUpgrade({ nodes: LAB, current: at('1.36.5'), target: '1.36.5', maxUnavailable: 1 });
    expect(plan).toEqual({ from: '1.36.5', to: '1.36.5', steps: [], unchanged: true });
  });

  it("the step that crosses kubeadm's config API change renders the configs anew", () => {
    const plan = planUpgrade({ nodes: LAB, current: at('1.30.14'), target: '1.32.13', maxUnavailable: 1 });
    expect(plan.steps.map((s) => [s.version, s.kubeadmApi, s.migratesConfig])).toEqual([
      ['1.31.14', 'v1beta4', true],
      ['1.32.13', 'v1beta4', false],
    ]);
  });
});

describe('refusals, all named at once, before any host is touched', () => {
  const plan = (target: string, current = at('1.35.9'), extra: object = {}) =>
    planUpgrade({ nodes: LAB, current, target, maxUnavailable: 1, ...extra });

  it('a downgrade', () => {
    expect(refusal(() => plan('1.34.2'))).toEqual([
      'the cluster runs 1.35.9 and 1.34.2 is older: downgrades are not supported ' +
        '(kubeadm upgrades forward only; rebuild the cluster to go back)',
    ]);
  });

  it('a minor kubestrap does not know, and a target that is no release', () => {
    expect(refusal(() => plan('1.38.0'))).toEqual([
      'Kubernetes 1.38 is not supported (1.29.x to 1.37.x; kubestrap versions)',
    ]);
    expect(refusal(() => plan('latest'))).toEqual(['the target "latest" is not a Kubernetes release like 1.36.5']);
  });

  it("a target outside the pinned Rook's range", () => {
    expect(refusal(() => plan('1.37.1', at('1.36.5'), { rook: { enabled: true, version: 'v1.20.6' } }))).toEqual([
      'Rook v1.20.6 supports Kubernetes 1.31-1.36, not 1.37.1: upgrade Rook first, or stay within its range',
    ]);
    expect(outline(plan('1.37.1', at('1.36.5'), { rook: { enabled: false, version: 'v1.20.6' } }))).toHaveLength(1);
  });

  it('a worker upgraded before the control plane (skew: a kubelet is never newer than the API server)', () => {
    expect(refusal(() => plan('1.36.5', at('1.35.9', LAB, { w1: '1.36.5' })))).toEqual([
      "the kubelet of w1 runs 1.36.5, newer than the control plane's 1.35.9: control planes are upgraded " +
        'first; a node upgraded out of order must be brought back by hand',
    ]);
  });

  it('a kubelet more than three minors behind, a node missing from the cluster, a bad batch size', () => {
    const current = { controlPlane: '1.35.9', kubelets: { cp: '1.35.9', w1: '1.31.14' } };
    expect(refusal(() => plan('1.36.5', current, { maxUnavailable: 0 }))).toEqual([
      '--max-unavailable must be a whole number of at least 1, not 0',
      "the kubelet of w1 runs 1.31.14, more than 3 minors behind the control plane's 1.35.9 (version-skew-policy)",
      'node w2 is not in the cluster (no Node object): join it with up first',
    ]);
  });
});

describe('kubestrap upgrade', () => {
  const NODE_ACTION = 'kubeadm upgrade node; drain, kubelet and kubectl 1.36.5, uncordon';
  it('prints one row per node and step, in the order they would run', () => {
    const plan = planUpgrade({
      nodes: LAB,
      current: at('1.35.9', LAB, { w1: '1.34.2' }),
      target: '1.36.5',
      maxUnavailable: 1,
    });
    expect(planTable(plan).split('\n')).toEqual([
      'STEP  TO      NODE  ROLE           FROM    ACTION',
      '1     1.36.5  cp    control-plane  1.35.9  kubeadm upgrade apply v1.36.5; ' +
        'drain, kubelet and kubectl 1.36.5, uncordon',
      '1     1.36.5  w1    worker         1.34.2  batch 1: ' + NODE_ACTION,
      '1     1.36.5  w2    worker         1.35.9  batch 2: ' + NODE_ACTION,
    ]);
    const resumed = planUpgrade({
      nodes: LAB,
      current: at('1.36.5', LAB, { w1: '1.35.9' }),
      target: '1.36.5',
      maxUnavailable: 1,
    });
    expect(planTable(resumed).split('\n').slice(1)).toEqual([
      '1     1.36.5  cp    control-plane  1.36.5  unchanged (already there)',
      '1     1.36.5  w1    worker         1.35.9  batch 1: ' + NODE_ACTION,
      '1     1.36.5  w2    worker         1.36.5  unchanged (already there)',
    ]);
  });

  it("reads the cluster's version from kubeadm-config's ClusterConfiguration", () => {
    expect(
      clusterVersionOf('apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.34.2\n'),
    ).toBe('1.34.2');
    expect(clusterVersionOf('kind: ClusterConfiguration\n')).toBeUndefined();
  });

  it('refuses a --to other than the spec version with exit 2, before reaching a host', () => {
    const result = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'dist/cli/main.js'),
        'upgrade',
        '-f',
        join(FIXTURE_DIR, 'existing.yaml'),
        '--to',
        '1.36.5',
        '--dry-run',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "--to 1.36.5 differs from the spec's version 1.30.14: set spec.kubernetes.version: 1.36.5 first",
    );
  });
});
