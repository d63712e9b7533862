// The upgrade's phases against recording hosts (no machine): what each node's part of a
// step changes, in which order, and that a node already at the step's version changes
// nothing but what it must; the end-of-step node check; the record a run leaves.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../base/digest.js';
import { CONTAINERD_CONFIG } from '../templates/node-paths.js';
import { HostStep, type Change } from '../engine/host-step.js';
import { UpgradeRecorder, readUpgradeRecord, upgradeRecordPath } from '../operations/upgrade-record.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import { UpgradeNodesPhase, type UpgradeStepOptions } from '../provisioners/upgrade-node.js';
import { nodesAt } from '../provisioners/upgrade-verify.js';
import { parseKubernetesVersion } from '../spec/versions.js';
import { renderCluster } from '../templates/render.js';
import { renderFixture } from './support/fixtures.js';
import { RecordingShell, type Recorded, type Responder } from './support/recording-host.js';

const TARGET = parseKubernetesVersion('1.37.1')!;
// What probeFileScript prints for the target's containerd config (the same on every node of the fixture).
let runtimeProbe = '';
beforeAll(async () => {
  const config = (await targetRender()).files.find((f) => f.target === CONTAINERD_CONFIG)!;
  runtimeProbe = `${Buffer.byteLength(config.content)} 644 root:root\n${sha256(config.content)}\n`;
});

/** The render at the target: a host that is already there has its containerd config. */
async function targetRender(family: 'debian' | 'rhel' = 'debian') {
  const { model: fixture } = (await renderFixture('ha')).loaded;
  const model = { ...fixture, os: { ...fixture.os, family } };
  return { model, files: renderCluster({ ...model, kubernetes: { ...model.kubernetes, version: TARGET } }) };
}

/**
 * A host whose packages are at `pkg`, whose cluster runs `cluster`, whose Node reports
 * `kubelet`; its containerd config is the target's when `pkg` is the target.
 */
function host(pkg: string, cluster: string, kubelet: string, cordoned: boolean): Responder {
  return (command) => {
    if (command.includes(CONTAINERD_CONFIG) && pkg === TARGET.text) return { stdout: runtimeProbe };
    if (command.startsWith('dpkg-query'))
      return { stdout: ['kubeadm', 'kubelet', 'kubectl'].map((p) => `${p} ${pkg}-1.1`).join('\n') };
    if (command.startsWith('rpm -q'))
      return { stdout: ['kubeadm', 'kubelet', 'kubectl'].map((p) => `${p} ${pkg}-150500.1.1`).join('\n') };
    if (command === 'apt-mark showhold') return { stdout: 'kubeadm\nkubelet\nkubectl\n' };
    if (command.includes('kubernetesVersion:')) return { stdout: `v${cluster}\n` };
    if (command.includes('{.spec.unschedulable}'))
      return {
        stdout: ['cp1', 'cp2', 'worker1'].map((n) => `${n}\tTrue\tv${kubelet}\t${cordoned ? 'true' : ''}\n`).join(''),
      };
    if (command.startsWith('test -s')) return { code: 0 };
    return { stdout: '' };
  };
}

async function changesOn(
  name: string,
  role: 'control-plane' | 'worker',
  responder: Responder,
  family: 'debian' | 'rhel' = 'debian',
): Promise<readonly Change[]> {
  const { model, files } = await targetRender(family);
  const node = model.nodes.find((n) => n.name === name)!;
  const transcript: Recorded[] = [];
  const hosts: NodeHost[] = model.nodes.map((n) => ({
    name: n.name,
    node: n,
    ssh: new RecordingShell(n.name, transcript, responder, { pending: false }),
  }));
  const options: UpgradeStepOptions = {
    model,
    version: TARGET,
    files,
    nodes: new Set([name]),
    maxUnavailable: 1,
    drainTimeoutSeconds: 60,
    readyTimeoutMs: 1_000,
    progress: async () => {},
  };
  const phase = new UpgradeNodesPhase(role, options);
  const [mine] = phase.hosts(hosts);
  expect(mine?.node).toBe(node);
  const step = new HostStep(mine!, true);
  await phase.run(step);
  return step.changes;
}

const described = (changes: readonly Change[]) =>
  changes.map((c) => (c.kind === 'file' ? `file ${c.target}` : c.description) + (c.on ? ` (on ${c.on})` : ''));

const APT_LIST = '/etc/apt/sources.list.d/kubernetes.list';
/** What a node not yet at the step changes, in order: its package source, kubeadm's part, the drain, the rest. */
const fullUpgrade = (source: string, kubeadm: string, drain: string) => [
  `file ${source}`,
  'install kubeadm 1.37.1',
  kubeadm,
  'file /etc/kubernetes/kubeadm.conf',
  drain,
  'install kubelet 1.37.1, kubectl 1.37.1',
  'file /etc/containerd/config.toml',
  'restart containerd (the sandbox image of 1.37.1)',
  'reload systemd units',
  'restart the kubelet at 1.37.1',
];

describe('an upgrade step on one node', () => {
  it('the first control plane: kubeadm, apply, drain, kubelet and kubectl, restart, in that order', async () => {
    const changes = await changesOn('cp1', 'control-plane', host('1.36.0', '1.36.0', '1.36.0', false));
    expect(described(changes)).toEqual(
      fullUpgrade(APT_LIST, 'kubeadm upgrade apply v1.37.1 (from v1.36.0)', 'drain cp1'),
    );
    // The source line names the step's minor.
    const list = changes.find((c) => c.kind === 'file' && c.target.endsWith('kubernetes.list'));
    expect(list?.kind === 'file' && list.diff).toContain('/v1.37/deb/ /');
  });

  it("rhel: the step's dnf repository, dnf's exact install (its exclude= is the hold), the same order", async () => {
    // An EL host has no dpkg: only rpm answers.
    const el =
      (r: Responder): Responder =>
      (command, expectsFailure) =>
        command.startsWith('dpkg-query') ? { code: 127, stderr: 'dpkg-query: not found' } : r(command, expectsFailure);
    const changes = await changesOn('cp1', 'control-plane', el(host('1.36.0', '1.36.0', '1.36.0', false)), 'rhel');
    expect(described(changes)).toEqual(
      fullUpgrade('/etc/yum.repos.d/kubernetes.repo', 'kubeadm upgrade apply v1.37.1 (from v1.36.0)', 'drain cp1'),
    );
    const repo = changes.find((c) => c.kind === 'file' && c.target.endsWith('kubernetes.repo'));
    expect(repo?.kind === 'file' && repo.diff).toContain('/v1.37/rpm/');
    const commands = changes.flatMap((c) => (c.kind === 'command' ? [c.command] : []));
    expect(commands).toContain('dnf install -y --disableexcludes=kubernetes kubeadm-1.37.1');
    expect(commands).toContain('dnf install -y --disableexcludes=kubernetes kubelet-1.37.1 kubectl-1.37.1');
    expect(commands.join('\n')).not.toMatch(/apt|dpkg/);
    // A node whose rpm packages are already at the version is not reinstalled.
    const there = await changesOn('worker1', 'worker', el(host('1.37.1', '1.37.1', '1.37.1', false)), 'rhel');
    expect(described(there)).toEqual(['file /etc/yum.repos.d/kubernetes.repo', 'file /etc/kubernetes/kubeadm.conf']);
  });

  it('a further control plane: kubeadm upgrade node, and its drain runs on the first control plane', async () => {
    const changes = await changesOn('cp2', 'control-plane', host('1.36.0', '1.37.1', '1.36.0', false));
    expect(described(changes)).toEqual(fullUpgrade(APT_LIST, 'kubeadm upgrade node (to 1.37.1)', 'drain cp2 (on cp1)'));
  });

  it('a worker already at the version changes nothing but the files kubestrap keeps', async () => {
    const changes = await changesOn('worker1', 'worker', host('1.37.1', '1.37.1', '1.37.1', false));
    expect(described(changes)).toEqual([
      'file /etc/apt/sources.list.d/kubernetes.list',
      'file /etc/kubernetes/kubeadm.conf',
    ]);
  });

  it('a worker a failed run left cordoned at the version is only uncordoned', async () => {
    const changes = await changesOn('worker1', 'worker', host('1.37.1', '1.37.1', '1.37.1', true));
    expect(described(changes)).toEqual([
      'file /etc/apt/sources.list.d/kubernetes.list',
      'file /etc/kubernetes/kubeadm.conf',
      'uncordon worker1 (on cp1)',
    ]);
  });

  it('a worker whose package is new but whose kubelet was not restarted: drained and restarted', async () => {
    const changes = await changesOn('worker1', 'worker', host('1.37.1', '1.37.1', '1.36.0', false));
    expect(described(changes)).toEqual([
      'file /etc/apt/sources.list.d/kubernetes.list',
      'file /etc/kubernetes/kubeadm.conf',
      'drain worker1 (on cp1)',
      'reload systemd units',
      'restart the kubelet at 1.37.1',
    ]);
  });
});

describe('the end-of-step node check', () => {
  it('names every node not Ready at the version, or cordoned, or missing', () => {
    const out =
      'a\tTrue\tv1.37.1\t\nb\tTrue\tv1.36.0\t\nc\tTrue\tv1.37.1\ttrue\nd\tFalse\tv1.37.1\t\ne\tTrue\tv1.37.1\n';
    expect(nodesAt(out, 'v1.37.1', ['a', 'b', 'c', 'd', 'e', 'f'])).toEqual(['b', 'c', 'd', 'f']);
  });
});

describe('the upgrade record', () => {
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  it('is private, follows each node, and a new run keeps only the cordons the last one left', async () => {
    process.chdir(mkdtempSync(join(tmpdir(), 'upgrade-record-')));
    const first = UpgradeRecorder.start('c', '1.33.1', '1.37.1', undefined);
    await first.node('w1', { cordoned: true });
    await first.node('w2', { cordoned: true });
    await first.node('w2', { cordoned: false, version: '1.34.9' });
    await first.finish('failed');
    expect(statSync(upgradeRecordPath('c')).mode & 0o777).toBe(0o600);
    const saved = await readUpgradeRecord('c');
    expect(saved).toMatchObject({
      from: '1.33.1',
      outcome: 'failed',
      nodes: { w1: { cordoned: true }, w2: { cordoned: false, version: '1.34.9' } },
    });
    const second = UpgradeRecorder.start('c', '1.34.9', '1.37.1', saved);
    await second.finish('running');
    expect(JSON.parse(readFileSync(upgradeRecordPath('c'), 'utf8')).nodes).toEqual({ w1: { cordoned: true } });
  });
});
