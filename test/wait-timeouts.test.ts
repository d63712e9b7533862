// Every wait kubestrap does, driven to its timeout: the phase runs against a host whose
// answers never reach the awaited state, on a clock that each pause and each probe
// advance (no real time passes), and the error it throws must say what it waited for,
// on which host, for how long, the last probe and its answer, and the diagnosis output.
// test/kubelet-double.test.ts shows the same states arising on a real host from the
// kubelet double (NotReady without CNI, a rollout that times out).
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:timers/promises', async () => (await import('./support/fake-clock.js')).timersPromises);

import { fakeClock, useFakeNow } from './support/fake-clock.js';
import { HostStep } from '../engine/host-step.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import { InitPhase } from '../provisioners/init.js';
import { JoinPhase } from '../provisioners/join.js';
import { RookPhase } from '../provisioners/rook.js';
import { RuntimePhase } from '../provisioners/runtime.js';
import { VerifyPhase } from '../provisioners/verify.js';
import { WeavePhase } from '../provisioners/weave.js';
import { WaitTimeout } from '../provisioners/wait.js';
import { loadSpecText } from '../spec/load.js';
import type { ClusterModel } from '../spec/model.js';
import type { ExecOptions, ExecResult, RemoteShell } from '../ssh/remote-shell.js';
import { renderCluster } from '../templates/render.js';
import { existingHostsSpec, node } from './support/spec-text.js';

const SPEC = (storageNodes: number) =>
  existingHostsSpec({
    name: 'waits',
    version: '1.34.2',
    nodes:
      node('h1', 'control-plane', 11, '        hostname: h1', '        storage: false') +
      [2, 3]
        .map((i) =>
          node(
            `h${i}`,
            'worker',
            10 + i,
            `        hostname: h${i}`,
            i - 1 <= storageNodes ? '        disks:\n          - device: /dev/vdb' : '        storage: false',
          ),
        )
        .join(''),
    rook: true,
  });

/** A command's answer: which probe (by a part of it) answers what. */
type Answers = readonly (readonly [string | RegExp, Partial<ExecResult>])[];

class StuckShell implements RemoteShell {
  readonly asked: string[] = [];
  constructor(
    readonly name: string,
    private readonly answers: Answers,
  ) {}

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.asked.push(command);
    fakeClock.now += 1_000; // each command takes a second
    const hit = this.answers.find(([pattern]) =>
      typeof pattern === 'string' ? command.includes(pattern) : pattern.test(command),
    );
    const result: ExecResult = {
      command,
      code: 0,
      signal: undefined,
      stdout: '',
      stderr: '',
      durationMs: 1_000,
      ...hit?.[1],
    };
    if (result.code !== 0 && options.check !== false) throw new Error(`${command} exited ${result.code}`);
    return result;
  }

  async upload() {
    return { changed: true, sha256: '' };
  }

  redact(): void {}
}

function step(model: ClusterModel, answers: Answers): { step: HostStep<NodeHost>; shell: StuckShell } {
  const node = model.nodes[0]!;
  const shell = new StuckShell(node.name, answers);
  return { step: new HostStep<NodeHost>({ name: node.name, node, ssh: shell }, false), shell };
}

async function timeout(run: Promise<void>): Promise<string> {
  const started = fakeClock.now;
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WaitTimeout);
  expect(fakeClock.now - started).toBeGreaterThan(0);
  return (error as Error).message;
}

useFakeNow();

const model = loadSpecText(SPEC(2), 'waits.yaml').model;
const files = renderCluster(model);

describe('each wait times out with a diagnosis', () => {
  it('containerd answering on its socket (runtime)', async () => {
    const { step: s } = step(model, [
      ['systemctl is-enabled containerd', { stdout: 'enabled\nactive\n' }],
      [
        'ctr --address',
        { code: 1, stderr: 'ctr: failed to dial "/run/containerd/containerd.sock": connection refused' },
      ],
      ['journalctl -u containerd', { stdout: 'containerd[812]: failed to load plugin io.containerd.grpc.v1.cri' }],
      [/dpkg-query|rpm -q/, { stdout: 'containerd 1.6.20~ds1-1+b1\n' }],
    ]);
    const message = await timeout(new RuntimePhase(model, files).run(s));
    expect(message).toContain('h1: gave up after 60 s waiting for containerd to answer on its socket');
    expect(message).toContain("last `ctr --address '/run/containerd/containerd.sock' version` exited 1");
    expect(message).toContain('connection refused');
    expect(message).toContain(
      '--- systemctl status containerd --no-pager; journalctl -u containerd -n 30 --no-pager ---',
    );
    expect(message).toContain('failed to load plugin io.containerd.grpc.v1.cri');
  });

  it('the API server answering /readyz (init)', async () => {
    const { step: s } = step(model, [
      ['test -f /etc/kubernetes/admin.conf', { code: 1 }],
      ['get --raw=/readyz', { code: 1, stderr: 'The connection to the server 10.213.9.11:6443 was refused' }],
      [
        'journalctl -u kubelet',
        { stdout: 'kubelet[90]: "command failed" err="failed to run Kubelet: running with swap on is not supported"' },
      ],
    ]);
    const message = await timeout(new InitPhase(model, files).run(s));
    expect(message).toContain('h1: gave up after 300 s waiting for the API server to answer /readyz');
    expect(message).toMatch(
      /last `.*kubectl.* get --raw=\/readyz` exited 1:\nThe connection to the server 10\.213\.9\.11:6443 was refused/,
    );
    expect(message).toContain('journalctl -u kubelet -n 30 --no-pager ---');
    expect(message).toContain('running with swap on is not supported');
  });

  it('the weave-net rollout (weave)', async () => {
    const rollout =
      'Waiting for daemon set "weave-net" rollout to finish: 2 of 3 updated pods are available...\n' +
      'error: timed out waiting for the condition';
    const { step: s } = step(model, [
      ['rollout status daemonset/weave-net', { code: 1, stdout: rollout }],
      ['get pods -l name=weave-net -o wide', { stdout: 'weave-net-h3   1/2   CrashLoopBackOff   h3' }],
    ]);
    const message = await timeout(new WeavePhase(model, files).run(s));
    expect(message).toContain('h1: gave up after 300 s waiting for the weave-net DaemonSet to be ready on every node');
    expect(message).toContain('2 of 3 updated pods are available...\nerror: timed out waiting for the condition');
    expect(message).toContain('get pods -l name=weave-net -o wide');
    expect(message).toContain('weave-net-h3   1/2   CrashLoopBackOff   h3');
  });

  const rookAnswers = (cluster: string): Answers => [
    ['get deployment rook-ceph-operator -o name', { code: 1 }],
    ['get cephcluster rook-ceph -o name', { code: 1 }],
    ['get cephcluster rook-ceph -o jsonpath', { stdout: cluster }],
    ['get pvc kubestrap-storage-check', { stdout: 'Pending' }],
    ['ceph status', { stdout: '  health: HEALTH_WARN 1 osds down' }],
  ];

  it('the Rook operator rollout (rook)', async () => {
    const { step: s } = step(model, [
      [
        'rollout status deployment/rook-ceph-operator',
        {
          code: 1,
          stdout:
            'Waiting for deployment "rook-ceph-operator" rollout to finish: ' +
            '0 of 1 updated replicas are available...\n' +
            'error: timed out waiting for the condition',
        },
      ],
      ['logs deploy/rook-ceph-operator', { stdout: 'op-k8sutil: failed to get node h2' }],
      ...rookAnswers('Ready HEALTH_OK'),
    ]);
    const message = await timeout(new RookPhase(model, files, []).run(s));
    expect(message).toContain('h1: gave up after 600 s waiting for the Rook operator to run');
    expect(message).toContain('0 of 1 updated replicas are available');
    expect(message).toContain('op-k8sutil: failed to get node h2');
  });

  it('Ceph HEALTH_WARN with two storage nodes (rook): not accepted, times out', async () => {
    const { step: s } = step(model, [
      ['rollout status deployment/rook-ceph-operator', {}],
      ...rookAnswers('Ready HEALTH_WARN'),
    ]);
    const message = await timeout(new RookPhase(model, files, []).run(s));
    expect(message).toContain('h1: gave up after 1200 s waiting for the CephCluster to be Ready and HEALTH_OK');
    expect(message).toMatch(
      /rook-ceph -o jsonpath='\{\.status\.phase\} \{\.status\.ceph\.health\}'` exited 0:\nReady HEALTH_WARN/,
    );
    expect(message).toContain('HEALTH_WARN 1 osds down');
  });

  it('Ceph HEALTH_WARN with one storage node (rook): accepted, then the PVC never binds', async () => {
    const one = loadSpecText(SPEC(1), 'waits.yaml').model;
    const { step: s, shell } = step(one, [
      ['rollout status deployment/rook-ceph-operator', {}],
      ...rookAnswers('Ready HEALTH_WARN'),
    ]);
    const message = await timeout(new RookPhase(one, renderCluster(one), []).run(s));
    expect(message).toContain('h1: gave up after 300 s waiting for PVC kubestrap-storage-check to bind');
    expect(message).toMatch(/get pvc kubestrap-storage-check -o jsonpath='\{\.status\.phase\}'` exited 0:\nPending/);
    expect(message).toContain('describe pvc kubestrap-storage-check');
    // The probe claim is removed even though the wait failed.
    expect(shell.asked.some((c) => c.includes('delete pvc kubestrap-storage-check'))).toBe(true);
  });

  const READY_AT_SPEC_ADDRESSES =
    'h1\tTrue\tv1.34.2\t10.213.9.11\nh2\tTrue\tv1.34.2\t10.213.9.12\nh3\tTrue\tv1.34.2\t10.213.9.13\n';

  it('every node Ready at the version (verify)', async () => {
    const { step: s } = step(model, [
      ['get nodes -o jsonpath', { stdout: 'h1\tTrue\tv1.34.2\nh2\tFalse\tv1.34.2\nh3\tTrue\tv1.34.2\n' }],
      [
        'describe nodes',
        {
          stdout:
            '  Ready   False   KubeletNotReady   container runtime network not ready: NetworkReady=false ' +
            'reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
        },
      ],
    ]);
    const message = await timeout(new VerifyPhase(model).run(s));
    expect(message).toContain('h1: gave up after 300 s waiting for all 3 nodes to be Ready at v1.34.2');
    expect(message).toContain('h2\tFalse\tv1.34.2');
    expect(message).toContain('get nodes -o wide');
    expect(message).toContain('cni plugin not initialized');
  });

  it('every kube-system pod running (verify)', async () => {
    const { step: s } = step(model, [
      ['get nodes -o jsonpath', { stdout: READY_AT_SPEC_ADDRESSES }],
      ['custom-columns', { stdout: 'coredns-0 Pending\nweave-net-h1 Running\n' }],
      ['get pods -o wide', { stdout: 'coredns-0   0/1   Pending   <none>' }],
    ]);
    const message = await timeout(new VerifyPhase(model).run(s));
    expect(message).toContain('h1: gave up after 300 s waiting for every kube-system pod to run');
    expect(message).toContain('coredns-0 Pending');
    expect(message).toContain('coredns-0   0/1   Pending   <none>');
  });

  it("a Ready node on an address other than the spec's fails verify at once, naming --node-ip", async () => {
    const { step: s } = step(model, [
      [
        'get nodes -o jsonpath',
        { stdout: READY_AT_SPEC_ADDRESSES.replace('10.213.9.12', '10.0.2.15').replace('\t10.213.9.13', '\t') },
      ],
    ]);
    const started = fakeClock.now;
    await expect(new VerifyPhase(model).run(s)).rejects.toThrow(
      'node h2 registered InternalIP 10.0.2.15, the spec says 10.213.9.12; ' +
        'node h3 registered InternalIP (none), the spec says 10.213.9.13 ' +
        '— the kubelet takes its address from --node-ip',
    );
    expect(fakeClock.now - started).toBeLessThan(5_000); // no wait: the answer was already there
  });

  it('the joined node registering (join, asked on the control plane)', async () => {
    const cp = model.nodes[0]!;
    const worker = model.nodes[1]!;
    const leaderShell = new StuckShell(cp.name, [
      ['kubeadm token create', { stdout: 'abcdef.0123456789abcdef\n' }],
      ['base64 -w0', { stdout: 'Q0E=' }],
      [/get node 'h2' -o name/, { code: 1, stderr: 'Error from server (NotFound): nodes "h2" not found' }],
      [
        'get nodes',
        { stdout: 'NAME   STATUS     ROLES           AGE   VERSION\nh1     Ready      control-plane   5m    v1.34.2' },
      ],
    ]);
    const workerShell = new StuckShell(worker.name, []);
    const leader: NodeHost = { name: cp.name, node: cp, ssh: leaderShell };
    const joining: NodeHost = { name: worker.name, node: worker, ssh: workerShell };
    const phase = new JoinPhase(model, files, 'worker');
    expect(phase.hosts([leader, joining])).toEqual([joining]);
    const message = await timeout(phase.run(new HostStep<NodeHost>(joining, false)));
    expect(message).toContain('h1: gave up after 180 s waiting for node h2 to register');
    expect(message).toContain('Error from server (NotFound): nodes "h2" not found');
    expect(message).toContain('get nodes ---');
    expect(message).toContain('h1     Ready      control-plane');
    // The bootstrap token and the discovery file are gone even though the wait failed.
    expect(leaderShell.asked.some((c) => c.startsWith('kubeadm token delete abcdef'))).toBe(true);
  });
});
