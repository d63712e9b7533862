// Verify's workload checks against a shell that answers kubectl as a cluster would: what
// kubestrap applies, where each pod runs, what it must print, and that each way a pod's
// output can be wrong (volume, pod network, DNS) fails verify naming the check and the
// node. test/verify-workload-doubles.test.ts runs the same checks on hosts against the
// doubles, with the host-side state each check reads removed in turn.
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:timers/promises', async () => (await import('./support/fake-clock.js')).timersPromises);

import { parseAllDocuments } from 'yaml';
import { fakeClock, useFakeNow } from './support/fake-clock.js';
import { HostStep, type Change } from '../engine/host-step.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import { resolvedAddresses, verifyWorkloadChecks, WorkloadCheckFailed } from '../provisioners/verify-workload.js';
import { VerifyPhase } from '../provisioners/verify.js';
import { WaitTimeout } from '../provisioners/wait.js';
import { loadSpecText } from '../spec/load.js';
import type { ClusterModel } from '../spec/model.js';
import type { ExecOptions, ExecResult, RemoteShell } from '../ssh/remote-shell.js';
import { existingHostsSpec, node } from './support/spec-text.js';

const NONCE = '0123456789abcdef';

const spec = (workers: number, rook: boolean) =>
  existingHostsSpec({
    name: 'verify',
    version: '1.34.2',
    nodes:
      node(
        'h1',
        'control-plane',
        11,
        '        hostname: h1',
        workers === 0 ? '        disks:\n          - device: /dev/vdb' : '        storage: false',
      ) +
      Array.from({ length: workers }, (_, i) =>
        node(
          `h${i + 2}`,
          'worker',
          12 + i,
          `        hostname: h${i + 2}`,
          '        disks:\n          - device: /dev/vdb',
        ),
      ).join(''),
    rook,
  });

interface PodState {
  node: string;
  phase: string;
  ip: string;
  logs: string;
}

/** A cluster as kubectl sees it; `behave` decides what each applied pod does. */
class FakeCluster implements RemoteShell {
  readonly name = 'h1';
  readonly applied: Record<string, unknown>[] = [];
  readonly asked: string[] = [];
  readonly pods = new Map<string, PodState>();
  constructor(private readonly behave: (pod: Record<string, any>) => Partial<PodState>) {}

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.asked.push(command);
    fakeClock.now += 1_000;
    const answer = (stdout: string, code = 0, stderr = ''): ExecResult => ({
      command,
      code,
      signal: undefined,
      stdout,
      stderr,
      durationMs: 1_000,
    });
    if (command.includes(' apply -f -')) {
      for (const doc of parseAllDocuments(options.stdin as string)) {
        const object = doc.toJS() as Record<string, any>;
        this.applied.push(object);
        if (object.kind === 'Pod')
          this.pods.set(object.metadata.name, {
            node: object.spec.nodeName,
            phase: 'Pending',
            ip: '',
            logs: '',
            ...this.behave(object),
          });
      }
      return answer('applied');
    }
    const pod = / get pod (\S+) -o jsonpath=/.exec(command);
    if (pod) {
      const state = this.pods.get(pod[1]!);
      return state ? answer(`${state.phase}\t${state.ip}`) : answer('', 1, `pods "${pod[1]}" not found`);
    }
    const logs = / logs (\S+)$/.exec(command);
    if (logs) return answer(this.pods.get(logs[1]!)?.logs ?? '');
    if (command.includes('get service verify-server')) return answer('10.96.0.23');
    if (command.includes('get pods -o wide')) return answer('NAME READY STATUS\nverify-storage-h2 0/1 Pending');
    return answer('');
  }

  async upload() {
    return { changed: true, sha256: '' };
  }

  redact(): void {}
}

const NSLOOKUP = (name: string, address: string) =>
  `Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\t${name}\nAddress: ${address}\n`;
const FQDN = 'verify-server.kubestrap-verify.svc.cluster.local';

/** A cluster that works: storage pods echo the nonce, the server runs, the client fetches and resolves. */
function working(overrides: Record<string, Partial<PodState>> = {}) {
  return (pod: Record<string, any>): Partial<PodState> => {
    const name = pod.metadata.name as string;
    const script = pod.spec.containers[0].command[2] as string;
    const base: Partial<PodState> =
      name === 'verify-server'
        ? { phase: 'Running', ip: '10.213.0.12' }
        : name === 'verify-client'
          ? { phase: 'Succeeded', logs: `${NONCE}\n${NSLOOKUP(FQDN, '10.96.0.23')}` }
          : { phase: 'Succeeded', logs: script.includes(NONCE) ? `${NONCE}\n` : 'nothing\n' };
    return { ...base, ...overrides[name] };
  };
}

function run(model: ClusterModel, cluster: FakeCluster, timeoutMs = 60_000, changes: Change[] = []) {
  const first = model.nodes[0]!;
  const step = new HostStep<NodeHost>({ name: first.name, node: first, ssh: cluster }, false, () => {}, changes);
  return verifyWorkloadChecks(step, model, { timeoutMs, nonce: NONCE });
}

useFakeNow();

describe('verify workload', () => {
  const model = loadSpecText(spec(2, true), 'verify.yaml').model;

  it('puts a storage pod on each worker, the server on one and the client on another, and passes', async () => {
    const cluster = new FakeCluster(working());
    const changes: Change[] = [];
    const checks = await run(model, cluster, 60_000, changes);
    // Every command went as a probe: a second `up` still reports every host unchanged.
    expect(changes).toEqual([]);
    expect(checks).toEqual([
      { check: 'storage', node: 'h2', result: 'wrote and read back PVC verify-h2' },
      { check: 'storage', node: 'h3', result: 'wrote and read back PVC verify-h3' },
      { check: 'pod network', node: 'h3', result: 'fetched from pod 10.213.0.12 on h2' },
      { check: 'cluster DNS', node: 'h3', result: `${FQDN} → 10.96.0.23` },
    ]);
    expect([...cluster.pods].map(([name, p]) => [name, p.node])).toEqual([
      ['verify-server', 'h2'],
      ['verify-storage-h2', 'h2'],
      ['verify-storage-h3', 'h3'],
      ['verify-client', 'h3'],
    ]);
    const client = cluster.applied.find((o: any) => o.metadata.name === 'verify-client') as any;
    expect(client.spec.containers[0].command[2]).toBe(
      `wget -q -O - -T 10 http://10.213.0.12:8080/verify && ` +
        `for attempt in 1 2 3 4 5; do nslookup '${FQDN}' && exit 0; sleep 2; done; exit 1`,
    );
    // A leftover namespace goes first; the workload's goes once every check passed.
    expect(cluster.asked[0]).toContain('delete namespace kubestrap-verify --ignore-not-found --wait=true');
    expect(cluster.asked.at(-1)).toContain('delete namespace kubestrap-verify --ignore-not-found --wait=false');
  });

  it('fails when a storage pod reads back something other than what it wrote, naming the node', async () => {
    const cluster = new FakeCluster(working({ 'verify-storage-h3': { logs: 'stale\n' } }));
    const error = await run(model, cluster).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkloadCheckFailed);
    expect((error as Error).message).toContain('storage on h3: the pod did not read back from its volume');
    expect((error as Error).message).toContain('stale');
    // Left for inspection.
    expect(cluster.asked.some((c) => c.includes('--wait=false'))).toBe(false);
  });

  it('fails when a storage pod fails (its volume could not be written), with its output', async () => {
    const cluster = new FakeCluster(
      working({
        'verify-storage-h2': { phase: 'Failed', logs: "sh: can't create /data/verify: Read-only file system" },
      }),
    );
    await expect(run(model, cluster)).rejects.toThrow(/storage on h2[^]*Read-only file system/);
  });

  it('fails the pod network check when the client cannot fetch from the server pod', async () => {
    const cluster = new FakeCluster(
      working({
        'verify-client': {
          phase: 'Failed',
          logs: "wget: can't connect to remote host (10.213.0.12): No route to host",
        },
      }),
    );
    await expect(run(model, cluster)).rejects.toThrow(
      new RegExp(
        `pod network: the pod on h3 did not fetch the server's ${NONCE} from 10\\.213\\.0\\.12:8080 on h2[^]*No route`,
      ),
    );
  });

  it('fails the DNS check when the Service does not resolve to its cluster IP', async () => {
    const nxdomain = new FakeCluster(
      working({
        'verify-client': { phase: 'Failed', logs: `${NONCE}\n** server can't find ${FQDN}: NXDOMAIN\n` },
      }),
    );
    await expect(run(model, nxdomain)).rejects.toThrow(`cluster DNS: ${FQDN} resolved to nothing on h3`);
    const elsewhere = new FakeCluster(
      working({ 'verify-client': { logs: `${NONCE}\n${NSLOOKUP(FQDN, '10.96.0.99')}` } }),
    );
    await expect(run(model, elsewhere)).rejects.toThrow(
      `cluster DNS: ${FQDN} resolved to 10.96.0.99 on h3, not the Service's cluster IP 10.96.0.23`,
    );
  });

  it('times out on a pod that never finishes, with the pods and claims as the diagnosis', async () => {
    const cluster = new FakeCluster(working({ 'verify-storage-h2': { phase: 'Pending' } }));
    const error = await run(model, cluster, 30_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeout);
    expect((error as Error).message).toContain(
      'gave up after 30 s waiting for a pod on h2 to write and read PVC verify-h2',
    );
    expect((error as Error).message).toContain('verify-storage-h2 0/1 Pending');
  });

  it('without Rook there are no storage pods; with one node, no client', async () => {
    const noRook = new FakeCluster(working());
    const checks = await run(loadSpecText(spec(2, false), 'verify.yaml').model, noRook);
    expect(checks.map((c) => c.check)).toEqual(['pod network', 'cluster DNS']);
    expect(noRook.applied.some((o: any) => o.kind === 'PersistentVolumeClaim')).toBe(false);

    const single = new FakeCluster(working());
    const one = await run(loadSpecText(spec(0, true), 'verify.yaml').model, single);
    expect(one).toEqual([{ check: 'storage', node: 'h1', result: 'wrote and read back PVC verify-h1' }]);
    expect(single.pods.has('verify-client')).toBe(false);
  });

  it('verify with workload: false (up --no-workload-check) checks the nodes and applies nothing', async () => {
    const cluster = new FakeCluster(working());
    const nodes = model.nodes.map((n) => `${n.hostname}\tTrue\tv1.34.2\t${n.ip}`).join('\n');
    const answering: RemoteShell = {
      name: 'h1',
      exec: async (command, options) =>
        command.includes('get nodes -o jsonpath')
          ? { ...(await cluster.exec(command, options)), stdout: `${nodes}\n` }
          : command.includes('-n kube-system get pods')
            ? { ...(await cluster.exec(command, options)), stdout: 'coredns-0 Running\n' }
            : cluster.exec(command, options),
      upload: () => cluster.upload(),
      redact: () => {},
    };
    const first = model.nodes[0]!;
    const phase = new VerifyPhase(model, { workload: false, nonce: NONCE });
    await phase.run(new HostStep<NodeHost>({ name: first.name, node: first, ssh: answering }, false));
    expect(phase.summary.map((r) => r.status)).toEqual(['Ready', 'Ready', 'Ready']);
    expect(phase.checks).toEqual([]);
    expect(cluster.applied).toEqual([]);
    const full = new VerifyPhase(model, { nonce: NONCE });
    await full.run(new HostStep<NodeHost>({ name: first.name, node: first, ssh: answering }, false));
    expect(full.checks).toHaveLength(4);
  });

  it("reads busybox nslookup's answer, not the server's own address", () => {
    expect(resolvedAddresses(NSLOOKUP(FQDN, '10.96.0.23'), FQDN)).toEqual(['10.96.0.23']);
    expect(resolvedAddresses(NSLOOKUP('other.svc.cluster.local', '10.96.0.23'), FQDN)).toEqual([]);
    expect(resolvedAddresses(`Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n`, FQDN)).toEqual([]);
  });
});
