// doctor's verdicts, without a host: the probe's output as a node prints it, parsed and
// judged. Each fault doctor must find is one change to a healthy output; the healthy
// output itself must give only "ok".
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecText } from '../spec/load.js';
import type { ClusterModel } from '../spec/model.js';
import { evaluateHost } from '../provisioners/doctor/host-checks.js';
import { parseDoctorFacts } from '../provisioners/doctor/host-facts.js';
import { kubeletThresholds, parseThreshold } from '../provisioners/doctor/kubelet-thresholds.js';
import {
  cephCheck,
  clockChecks,
  conditionChecks,
  nodeChecks,
  osdChecks,
  podChecks,
  pvcChecks,
  versionSkewCheck,
  type NodeSeen,
} from '../provisioners/doctor/cluster-checks.js';
import {
  clusterDnsIp,
  dnsAnswerComplete,
  dnsCheck,
  dnsQuery,
  kubernetesServiceIp,
} from '../provisioners/doctor/cluster-dns.js';
import dnsPacket from 'dns-packet';
import { httpAnswerComplete, weaveCheck } from '../provisioners/doctor/weave-status.js';
import { allowedRanges, hostOnlyAllowed } from '../vagrant/host-only.js';
import { virtualBoxPairing } from '../vagrant/requirements.js';
import { parseCidr } from '../spec/net.js';
import { FIXTURE_DIR } from './support/fixtures.js';

const model: ClusterModel = loadSpecText(
  readFileSync(join(FIXTURE_DIR, 'existing.yaml'), 'utf8'),
  'existing.yaml',
).model;
const cp = model.nodes.find((n) => n.role === 'control-plane')!;
const worker = model.nodes.find((n) => n.role === 'worker')!;
const NOW = new Date();
const GiB = 1024 ** 3;

/** A certificate valid for `days` from now, made by openssl. */
function certificate(days: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-cert-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=test',
      '-days',
      String(days),
      '-keyout',
      join(dir, 'key'),
      '-out',
      join(dir, 'crt'),
    ],
    { stdio: 'ignore' },
  );
  return readFileSync(join(dir, 'crt'), 'utf8');
}
const LONG = certificate(365);

interface Shape {
  df?: string[];
  services?: string;
  flags?: string;
  modules?: string;
  sysctl?: string;
  certs?: string;
  listen?: string;
  time?: string;
  swap?: string;
  mem?: string;
  kubeletConfig?: string;
  journal?: string;
}

function output(node = cp, s: Shape = {}): string {
  const fs = (path: string, mount = '/', size = 40 * GiB, avail = 30 * GiB) =>
    `${path} ${size} ${avail} ${Math.round(((size - avail) / size) * 100)}% ${mount} 2621440 2500000`;
  const ports = node.role === 'control-plane' ? [6443, 2379, 2380, 10250, 10257, 10259] : [10250];
  // Shapes are written as "path size avail use% mount inodes ifree"; the script's df sections
  // name the path measured, then df's own columns (file size avail use% itotal iavail target).
  const df = (s.df ?? ['/', '/var/lib/containerd', '/var/lib/etcd', '/var/lib/kubelet'].map((p) => fs(p))).map((row) =>
    row.split(' '),
  );
  const states = (s.services ?? 'containerd active\nkubelet active').split('\n').map((l) => l.split(' ')[1]);
  const listen = (s.listen ?? ports.map((p) => `0.0.0.0:${p}`).join('\n')).split('\n');
  return [
    '@@df_paths',
    ...df.map(([p]) => `${p} ${p}`),
    '@@df',
    'File 1B-blocks Avail Use% Inodes IFree Mounted on',
    ...df.map(([p, size, avail, used, mount, inodes, ifree]) => [p, size, avail, used, inodes, ifree, mount].join(' ')),
    '@@mem',
    s.mem ?? 'MemTotal:        4030000 kB\nMemAvailable:    2500000 kB',
    '@@swap',
    s.swap ?? '',
    '@@time',
    s.time ?? 'timedatectl yes',
    '@@services',
    ...states,
    '@@journal_containerd',
    s.journal ?? '',
    '@@journal_kubelet',
    '@@kubelet_config',
    s.kubeletConfig ?? 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd',
    '@@kubelet_flags',
    s.flags ??
      `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --node-ip=${node.ip}"`,
    '@@modules',
    s.modules ?? 'br_netfilter\noverlay',
    '@@sysctl',
    s.sysctl ?? 'net.bridge.bridge-nf-call-iptables 1\nnet.bridge.bridge-nf-call-ip6tables 1\nnet.ipv4.ip_forward 1',
    '@@certs',
    s.certs ??
      `@cert /etc/kubernetes/pki/apiserver.crt\n${LONG}` +
        `@cert64 /etc/kubernetes/admin.conf\n${Buffer.from(LONG).toString('base64')}`,
    '@@listen',
    ...listen.map((address) => `LISTEN 0      4096    ${address}  0.0.0.0:*`),
    '',
  ].join('\n');
}

const judge = (node = cp, s: Shape = {}) => evaluateHost(parseDoctorFacts(output(node, s)), node, model, NOW);
const problems = (node = cp, s: Shape = {}) =>
  judge(node, s)
    .filter((c) => c.status !== 'ok')
    .map((c) => ({ check: c.check, status: c.status, seen: c.seen, fix: c.fix }));

describe('doctor: host checks', () => {
  it('a healthy control plane and worker give only ok, and every check has a row', () => {
    expect(problems(cp)).toEqual([]);
    expect(problems(worker)).toEqual([]);
    expect(judge(cp).map((c) => c.check)).toEqual([
      'disk /',
      'inodes /',
      'memory',
      'swap',
      'time-sync',
      'containerd',
      'kubelet',
      'node-ip',
      'kernel-modules',
      'sysctls',
      'certificates',
      'ports',
    ]);
  });

  it('a filesystem 86% full at /var/lib/containerd fails: below imagefs.available 15%, and image GC at 85%', () => {
    const df = [
      `/ ${40 * GiB} ${30 * GiB} 25% / 100 90`,
      `/var/lib/containerd ${100 * 1024 ** 2} ${14 * 1024 ** 2} 86% /var/lib/containerd 100 90`,
      `/var/lib/etcd ${40 * GiB} ${30 * GiB} 25% / 100 90`,
      `/var/lib/kubelet ${40 * GiB} ${30 * GiB} 25% / 100 90`,
    ];
    const [disk] = problems(cp, { df });
    expect(disk).toMatchObject({ check: 'disk /var/lib/containerd', status: 'fail' });
    expect(disk!.seen).toContain('below imagefs.available 15% free: the kubelet evicts pods');
    expect(disk!.seen).toContain('at or above imageGCHighThresholdPercent 85%');
    expect(disk!.seen).toContain('thresholds: upstream defaults');
    expect(disk!.fix).toContain('crictl rmi --prune');
  });

  it('86% of the kubelet filesystem (nodefs, 10%) only warns; the kubelet config thresholds apply when set', () => {
    const df = ['/', '/var/lib/containerd', '/var/lib/etcd'].map((p) => `${p} ${40 * GiB} ${30 * GiB} 25% / 100 90`);
    df.push(`/var/lib/kubelet ${10 * GiB} ${1.4 * GiB} 86% /var/lib/kubelet 100 90`);
    expect(problems(cp, { df })).toEqual([]);
    const strict =
      'kind: KubeletConfiguration\nevictionHard:\n  nodefs.available: 20%\nimageGCHighThresholdPercent: 70';
    const [disk] = problems(cp, { df, kubeletConfig: strict });
    expect(disk).toMatchObject({ check: 'disk /var/lib/kubelet', status: 'fail' });
    expect(disk!.seen).toContain('below nodefs.available 20% free');
    expect(disk!.seen).toContain('thresholds: kubelet config');
  });

  it('etcd with less than 1 GiB free warns, on control planes only', () => {
    const df = ['/', '/var/lib/containerd', '/var/lib/kubelet'].map((p) => `${p} ${40 * GiB} ${30 * GiB} 25% / 100 90`);
    df.push(`/var/lib/etcd ${2 * GiB} ${0.5 * GiB} 75% /var/lib/etcd 100 90`);
    expect(problems(cp, { df })).toMatchObject([{ check: 'disk /var/lib/etcd', status: 'warn' }]);
    expect(problems(worker, { df })).toEqual([]);
  });

  it('inodes below the kubelet floor fail', () => {
    const df = ['/', '/var/lib/containerd', '/var/lib/etcd', '/var/lib/kubelet'].map(
      (p) => `${p} ${40 * GiB} ${30 * GiB} 25% / 1000 20`,
    );
    expect(problems(cp, { df })).toMatchObject([{ check: 'inodes /', status: 'fail' }]);
  });

  it('containerd stopped fails with its last journal errors and the restart', () => {
    expect(
      problems(cp, { services: 'containerd inactive\nkubelet active', journal: 'failed to load plugin: boom' }),
    ).toEqual([
      {
        check: 'containerd',
        status: 'fail',
        seen: 'inactive; last errors: failed to load plugin: boom',
        fix: 'systemctl restart containerd; journalctl -u containerd -n 50 shows why it stopped',
      },
    ]);
  });

  it("the NAT address as node IP fails, naming the spec address; the administrator's later flag wins", () => {
    const nat = problems(worker, { flags: 'KUBELET_KUBEADM_ARGS="--node-ip=10.0.2.15"' });
    expect(nat).toMatchObject([{ check: 'node-ip', status: 'fail' }]);
    expect(nat[0]!.seen).toBe(`--node-ip=10.0.2.15 is the NAT address every VM has; the spec says ${worker.ip}`);
    expect(nat[0]!.fix).toContain(`--node-ip=${worker.ip}`);
    const later = `KUBELET_KUBEADM_ARGS="--node-ip=${worker.ip}"\nKUBELET_EXTRA_ARGS=--node-ip=172.20.0.99`;
    expect(problems(worker, { flags: later })).toMatchObject([{ check: 'node-ip', status: 'fail' }]);
    expect(problems(worker, { flags: '' })).toMatchObject([{ check: 'node-ip', status: 'warn' }]);
  });

  it('br_netfilter unloaded and ip_forward off fail, each with the command that restores it', () => {
    const found = problems(cp, {
      modules: 'overlay',
      sysctl:
        'net.bridge.bridge-nf-call-iptables absent\nnet.bridge.bridge-nf-call-ip6tables absent\nnet.ipv4.ip_forward 0',
    });
    expect(found.map((p) => [p.check, p.status])).toEqual([
      ['kernel-modules', 'fail'],
      ['sysctls', 'fail'],
    ]);
    expect(found[0]!.seen).toBe('not loaded: br_netfilter');
    expect(found[0]!.fix).toContain('modprobe br_netfilter');
    expect(found[1]!.seen).toContain('net.ipv4.ip_forward = 0 (want 1)');
  });

  it('a certificate expiring in 10 days warns, in 3 days fails; the kubelet client certificate has its own fix', () => {
    const soon = certificate(10);
    const warned = problems(cp, {
      certs: `@cert /etc/kubernetes/pki/apiserver.crt\n${soon}@cert /etc/kubernetes/pki/ca.crt\n${LONG}`,
    });
    expect(warned).toMatchObject([{ check: 'certificates', status: 'warn' }]);
    expect(warned[0]!.seen).toMatch(/^\/etc\/kubernetes\/pki\/apiserver\.crt expires in (9|10) days$/);
    expect(warned[0]!.fix).toContain('kubeadm certs renew all');
    expect(problems(cp, { certs: `@cert /etc/kubernetes/pki/ca.crt\n${certificate(3)}` })).toMatchObject([
      { check: 'certificates', status: 'fail' },
    ]);
    const kubelet = problems(worker, { certs: `@cert /var/lib/kubelet/pki/kubelet-client-current.pem\n${soon}` });
    expect(kubelet[0]!.fix).toContain('the kubelet renews its client certificate itself');
    expect(problems(cp, { certs: '@cert /etc/kubernetes/pki/ca.crt\nnot a certificate' })).toMatchObject([
      { check: 'certificates', status: 'fail', seen: '/etc/kubernetes/pki/ca.crt: no certificate' },
    ]);
  });

  it("a role's port not listening fails, naming the component", () => {
    expect(problems(cp, { listen: '0.0.0.0:6443\n[::]:10250\n127.0.0.1:10257\n127.0.0.1:10259' })).toMatchObject([
      { check: 'ports', status: 'fail', seen: 'not listening: 2379 (etcd), 2380 (etcd peers)' },
    ]);
  });

  it('swap on fails unless the kubelet allows it; an unsynchronised clock warns; low memory fails', () => {
    const swap = '/dev/sda2 partition 1000 0 -2';
    expect(problems(worker, { swap })).toMatchObject([{ check: 'swap', status: 'fail' }]);
    expect(problems(worker, { swap, kubeletConfig: 'failSwapOn: false' })).toEqual([]);
    const timeSync = (time: string) => problems(worker, { time });
    expect(timeSync('timedatectl no')).toMatchObject([
      { status: 'warn', seen: 'the clock is not synchronised (timedatectl NTPSynchronized=no)' },
    ]);
    expect(timeSync('chronyc Not synchronised')).toMatchObject([
      { status: 'warn', seen: 'the clock is not synchronised (chronyc tracking: leap status Not synchronised)' },
    ]);
    expect(timeSync('chronyc Normal')).toEqual([]);
    for (const silent of ['', 'timedatectl'])
      expect(timeSync(silent)).toMatchObject([
        { check: 'time-sync', status: 'warn', seen: 'cannot tell: neither timedatectl nor chronyc answered' },
      ]);
    expect(problems(worker, { mem: 'MemTotal: 4030000 kB\nMemAvailable: 50000 kB' })).toMatchObject([
      { check: 'memory', status: 'fail' },
    ]);
  });
});

describe('doctor: kubelet thresholds', () => {
  it('reads percentages and quantities; anything else keeps the upstream default', () => {
    expect(parseThreshold('10%')).toEqual({ percent: 10 });
    expect(parseThreshold('100Mi')).toEqual({ bytes: 100 * 1024 ** 2 });
    expect(parseThreshold('1G')).toEqual({ bytes: 1e9 });
    expect(parseThreshold('lots')).toBeUndefined();
    expect(kubeletThresholds({ evictionHard: { 'imagefs.available': 'lots' } }).source).toBe('upstream defaults');
    expect(kubeletThresholds({ evictionHard: { 'imagefs.available': '2Gi' } }).imagefsAvailable).toEqual({
      bytes: 2 * GiB,
    });
  });
});

describe('doctor: across nodes and from the API', () => {
  it('a clock 10 minutes off fails against the others; within the round trip is ok', () => {
    const checks = clockChecks([
      { node: 'a', offsetMs: 3, uncertaintyMs: 2 },
      { node: 'b', offsetMs: -1, uncertaintyMs: 2 },
      { node: 'c', offsetMs: 600_000, uncertaintyMs: 2 },
    ]);
    expect(checks.map((c) => [c.scope, c.status])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
      ['c', 'fail'],
    ]);
    expect(checks[2]!.seen).toMatch(/^\+599\.99\d s against the other nodes/);
    const alone = clockChecks([{ node: 'a', offsetMs: 3_000, uncertaintyMs: 2 }])[0]!;
    expect(alone).toMatchObject({ status: 'warn', seen: '+3.000 s against this machine (±0.002 s)' });
  });

  const seen = (entries: [string, Partial<NodeSeen>][]) =>
    new Map(
      entries.map(([name, s]) => {
        const node = model.nodes.find((n) => n.name === name)!;
        return [node.hostname, { ready: 'True', version: 'v1.34.2', address: node.ip, ...s }];
      }),
    );
  const all = () => model.nodes.map((n): [string, Partial<NodeSeen>] => [n.name, {}]);

  it('nodes: not joined, NotReady, and registered with the NAT address each fail', () => {
    expect(nodeChecks(model, seen(all())).every((c) => c.status === 'ok')).toBe(true);
    const bad = seen([
      [cp.name, { ready: 'False' }],
      [worker.name, { address: '10.0.2.15' }],
    ]);
    const found = nodeChecks(model, bad).filter((c) => c.status !== 'ok');
    expect(found.map((c) => c.seen)).toEqual([
      'Ready=False v1.34.2',
      `registered with 10.0.2.15 (the NAT address); the spec says ${worker.ip}`,
      ...model.nodes.slice(2).map((n) => `${n.hostname} is not a node of the cluster`),
    ]);
  });

  it('version skew: mixed patch levels warn; a kubelet newer than the control plane fails', () => {
    expect(versionSkewCheck(model, seen(all())).status).toBe('ok');
    expect(versionSkewCheck(model, seen([...all(), [worker.name, { version: 'v1.34.1' }]])).status).toBe('warn');
    const ahead = versionSkewCheck(model, seen([...all(), [worker.name, { version: 'v1.35.0' }]]));
    expect(ahead).toMatchObject({ status: 'fail', seen: `newer than the control plane (1.34): ${worker.name} 1.35.0` });
  });

  it('ceph: Ready HEALTH_OK is ok, HEALTH_WARN warns, HEALTH_ERR, another phase or no answer fails', () => {
    expect(cephCheck('Ready HEALTH_OK', 0, 'S').status).toBe('ok');
    expect(cephCheck('Ready HEALTH_WARN', 0, 'S').status).toBe('warn');
    expect(cephCheck('Ready HEALTH_ERR', 0, 'S')).toMatchObject({
      status: 'fail',
      seen: 'CephCluster Ready HEALTH_ERR',
    });
    expect(cephCheck('Progressing HEALTH_OK', 0, 'S').status).toBe('fail');
    expect(cephCheck('Error from server (NotFound): cephclusters "rook-ceph" not found', 1, 'S')).toMatchObject({
      status: 'fail',
      seen: 'Error from server (NotFound): cephclusters "rook-ceph" not found',
    });
  });

  it('cluster-dns: kubernetes.default must resolve to the first service address and nothing else', () => {
    const name = 'kubernetes.default.svc.cluster.local';
    expect([kubernetesServiceIp(model), clusterDnsIp(model)]).toEqual(['10.96.0.1', '10.96.0.10']);
    const query = dnsQuery(name, 7);
    expect(dnsAnswerComplete(query)).toBe(true);
    expect(dnsAnswerComplete(query.subarray(0, query.length - 1))).toBe(false);
    expect(dnsPacket.streamDecode(query).questions).toEqual([{ name, type: 'A', class: 'IN' }]);
    const answer = (addresses: string[], options: { id?: number; rcode?: number; type?: 'response' | 'query' } = {}) =>
      dnsPacket.streamEncode({
        type: options.type ?? 'response',
        id: options.id ?? 7,
        flags: options.rcode ?? 0,
        questions: [{ name, type: 'A', class: 'IN' }],
        answers: addresses.map((data) => ({ name, type: 'A' as const, class: 'IN' as const, ttl: 5, data })),
      });
    expect(dnsCheck(model, 'cp1', { answer: answer(['10.96.0.1']) }, 7)).toMatchObject({
      status: 'ok',
      seen: `${name} is 10.96.0.1 (asked 10.96.0.10:53 on cp1)`,
    });
    const fails = {
      wrongAddress: answer(['10.96.0.99']),
      twoAddresses: answer(['10.96.0.1', '10.96.0.2']),
      nxdomain: answer([], { rcode: 3 }),
      servfail: answer(['10.96.0.1'], { rcode: 2 }),
      otherId: answer(['10.96.0.1'], { id: 8 }),
      aQuery: answer(['10.96.0.1'], { type: 'query' }),
      cutOff: answer(['10.96.0.1']).subarray(0, 20),
      garbage: Buffer.from([0, 4, 1, 2, 3, 4]),
    };
    const seen = Object.fromEntries(
      Object.entries(fails).map(([k, buffer]) => {
        const c = dnsCheck(model, 'cp1', { answer: buffer }, 7);
        expect(c.status, k).toBe('fail');
        expect(c.fix, k).toContain('k8s-app=kube-dns');
        return [k, c.seen];
      }),
    );
    expect(seen.wrongAddress).toBe(`${name} is 10.96.0.99 from 10.96.0.10:53; the kubernetes Service is 10.96.0.1`);
    expect(seen.nxdomain).toBe(`${name} from 10.96.0.10:53: NXDOMAIN, no address`);
    expect(seen.servfail).toBe(`${name} from 10.96.0.10:53: SERVFAIL`);
    expect(seen.cutOff).toMatch(/cut-off message/);
    expect(
      dnsCheck(model, 'cp1', { error: 'cannot connect to 10.96.0.10:53 from the host: Connection refused' }, 7),
    ).toMatchObject({
      status: 'fail',
      seen:
        'no answer from kube-dns 10.96.0.10:53 asked on cp1: ' +
        'cannot connect to 10.96.0.10:53 from the host: Connection refused',
    });
  });

  it('weave: every node a peer, every connection established, IPAM ready over the spec range', () => {
    const n = model.nodes.length;
    const range = model.weave.ipallocRange;
    const page = (o: { connections?: string; peers?: string; status?: string; range?: string } = {}) => {
      const body =
        '        Service: router\n       Protocol: weave 1..2\n           Name: 42:8e:e8:c4:52:1b(n1)\n' +
        `    Connections: ${o.connections ?? `${n - 1} (${n - 1} established)`}\n` +
        `          Peers: ${o.peers ?? `${n} (with ${n * (n - 1)} established connections)`}\n` +
        ` TrustedSubnets: none\n\n        Service: ipam\n         Status: ${o.status ?? 'ready'}\n` +
        `          Range: ${o.range ?? range}\n  DefaultSubnet: ${o.range ?? range}\n`;
      return {
        answer: Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
      };
    };
    expect(httpAnswerComplete(page().answer)).toBe(true);
    expect(httpAnswerComplete(page().answer.subarray(0, -1))).toBe(false);
    expect(httpAnswerComplete(Buffer.from('HTTP/1.1 200 OK\r\n'))).toBe(false);
    expect(weaveCheck(model, cp, page())).toMatchObject({
      scope: cp.name,
      check: 'weave',
      status: 'ok',
      seen:
        `connections ${n - 1} (${n - 1} established), ` +
        `peers ${n} (with ${n * (n - 1)} established connections), IPAM ready ${range}`,
    });
    expect(weaveCheck(model, cp, page({ status: 'idle' })).status).toBe('ok');
    const fail = (o: Parameters<typeof page>[0]) => {
      const c = weaveCheck(model, cp, page(o));
      expect(c.status).toBe('fail');
      expect(c.fix).toContain('TCP 6783 and UDP 6783-6784');
      return c.seen;
    };
    expect(fail({ connections: `${n - 1} (${n - 2} established, 1 failed)`, peers: `${n - 1}` })).toBe(
      `${n - 1} peers of ${n} nodes; connections ${n - 1} (${n - 2} established, 1 failed)`,
    );
    expect(fail({ status: 'awaiting consensus (quorum: 2, known: 1)' })).toBe(
      'IPAM awaiting consensus (quorum: 2, known: 1)',
    );
    expect(fail({ range: '10.32.0.0/12' })).toBe(`IPAM range 10.32.0.0/12, the spec's ${range}`);
    expect(weaveCheck(model, cp, page({ range: '10.32.0.0/12' })).fix).toContain('IPALLOC_RANGE');
    expect(
      weaveCheck(model, cp, { error: 'cannot connect to 127.0.0.1:6784 from the host: Connection refused' }),
    ).toMatchObject({ status: 'fail', fix: expect.stringContaining('the weave container is not running') });
    expect(weaveCheck(model, cp, { answer: Buffer.from('HTTP/1.1 404 Not Found\r\n\r\n') }).seen).toBe(
      "the Weave router's status page answered HTTP 404",
    );
  });

  it('node conditions: a pressure condition True fails, naming node and condition', () => {
    expect(conditionChecks('h1\tReady,\nh2\tReady,\n').status).toBe('ok');
    expect(conditionChecks('h1\tReady,\nh2\tDiskPressure,Ready,\n')).toMatchObject({
      status: 'fail',
      seen: 'h2: DiskPressure',
    });
  });

  it('pvcs: a claim not Bound warns, naming it', () => {
    expect(pvcChecks('default\ta\tBound\n').status).toBe('ok');
    expect(pvcChecks('default\ta\tBound\napps\tdata\tPending\n')).toMatchObject({
      status: 'warn',
      seen: 'apps/data Pending',
    });
  });

  it('pods: a stuck kube-system pod fails with its reason; others warn; Running and Succeeded are fine', () => {
    const line = (ns: string, name: string, phase: string, reason = '') => `${ns}\t${name}\t${phase}\tn1\t${reason}`;
    expect(podChecks([line('kube-system', 'a', 'Running'), line('x', 'job', 'Succeeded')].join('\n'))[0]!.status).toBe(
      'ok',
    );
    expect(podChecks(line('apps', 'web', 'Pending', 'ImagePullBackOff'))[0]).toMatchObject({
      status: 'warn',
      seen: 'apps/web Pending (ImagePullBackOff) on n1',
    });
    expect(podChecks(line('kube-system', 'coredns-1', 'Failed'))[0]!.status).toBe('fail');
    // A crash-looping pod's phase stays Running: its container's waiting reason gives it away.
    expect(podChecks(line('rook-ceph', 'rook-ceph-osd-1-abc', 'Running', 'CrashLoopBackOff'))[0]).toMatchObject({
      status: 'warn',
      seen: 'rook-ceph/rook-ceph-osd-1-abc Running (CrashLoopBackOff) on n1',
    });
  });

  describe('ceph-osds: OSDs up on each storage node against its disks in the spec', () => {
    const storageSpec = (storage: string) =>
      loadSpecText(
        `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: osd
spec:
  kubernetes:
    version: 1.34.2
  machines:
    provider: existing
    network: 10.9.0.0/24
    nodes:
      - name: c1
        role: control-plane
        ip: 10.9.0.11
        storage: false
      - name: s1
        role: worker
        ip: 10.9.0.21
        hostname: s1.lab
        disks:
          - device: /dev/sdb
          - device: /dev/sdc
      - name: s2
        role: worker
        ip: 10.9.0.22
        hostname: s2.lab
        disks:
          - device: /dev/sdb
  storage:
    rook:
      enabled: true
${storage}`,
        'osd.yaml',
      ).model;
    const osd = (node: string, name: string, phase = 'Running', reason = '') =>
      `rook-ceph\t${name}\t${phase}\t${node}\t${reason}`;
    const healthy = [
      osd('s1.lab', 'rook-ceph-osd-0-7c9f'),
      osd('s1.lab', 'rook-ceph-osd-2-55aa'),
      osd('s2.lab', 'rook-ceph-osd-1-0b1d'),
      // The prepare jobs' pods are not OSDs.
      osd('s2.lab', 'rook-ceph-osd-prepare-s2.lab-x1', 'Succeeded'),
    ];
    const verdicts = (m: ClusterModel, lines: string[]) =>
      Object.fromEntries(osdChecks(m, lines.join('\n')).map((c) => [c.scope, `${c.status}: ${c.seen}`]));

    it('one OSD per disk is ok; only storage nodes are checked', () => {
      expect(verdicts(storageSpec(''), healthy)).toEqual({
        s1: 'ok: 2 OSDs up, 2 (/dev/sdb, /dev/sdc) wanted',
        s2: 'ok: 1 OSD up, 1 (/dev/sdb) wanted',
      });
    });

    it('a disk Rook skipped fails with the prepare logs and wipefs as the fix', () => {
      const [check] = osdChecks(storageSpec(''), [healthy[0], healthy[2]].join('\n'));
      expect(check).toMatchObject({ scope: 's1', status: 'fail', seen: '1 OSD up, 2 (/dev/sdb, /dev/sdc) wanted' });
      expect(check!.fix).toContain('logs -l app=rook-ceph-osd-prepare');
      expect(check!.fix).toContain('wipefs -a the disk on s1');
    });

    it("a crash-looping OSD is down: the fix reads that pod's previous log", () => {
      const lines = [healthy[0]!, osd('s1.lab', 'rook-ceph-osd-2-55aa', 'Running', 'CrashLoopBackOff'), healthy[2]!];
      const check = osdChecks(storageSpec(''), lines.join('\n'))[0]!;
      expect(check).toMatchObject({
        status: 'fail',
        seen: '1 OSD up, 2 (/dev/sdb, /dev/sdc) wanted; down: rook-ceph-osd-2-55aa CrashLoopBackOff',
      });
      expect(check.fix).toContain('logs rook-ceph-osd-2-55aa --previous');
    });

    it('with a deviceFilter one OSD is enough; none fails; no Rook, no check', () => {
      const filtered = storageSpec('      deviceFilter: "^sd[b-z]$"\n');
      expect(verdicts(filtered, [healthy[2]!])).toEqual({
        s1: 'fail: 0 OSDs up, at least 1 (deviceFilter ^sd[b-z]$) wanted',
        s2: 'ok: 1 OSD up, at least 1 (deviceFilter ^sd[b-z]$) wanted',
      });
      expect(osdChecks(model, healthy.join('\n'))).toEqual([]);
    });
  });
});

describe('doctor: this machine, for Vagrant', () => {
  it('pairs Vagrant with VirtualBox as Vagrant does (7.1 needs 2.4.2, 7.2 needs 2.4.9)', () => {
    expect(virtualBoxPairing('Vagrant 2.4.1', '7.1.4r165100')).toEqual({
      kind: 'refuse',
      text: 'Vagrant 2.4.1 does not support VirtualBox 7.1: install Vagrant 2.4.2 or later',
    });
    expect(virtualBoxPairing('Vagrant 2.4.2', '7.1.4r165100')).toBeUndefined();
    expect(virtualBoxPairing('Vagrant 2.4.8', '7.2.0r170228')?.kind).toBe('refuse');
    expect(virtualBoxPairing('Vagrant 2.4.9', '7.2.0r170228')).toBeUndefined();
    expect(virtualBoxPairing('Vagrant 2.3.4', '7.0.20r163906')).toBeUndefined();
    expect(virtualBoxPairing('Vagrant 2.4.9', '7.3.0r1')?.kind).toBe('doubt');
    expect(virtualBoxPairing('Vagrant 2.4.9', '6.1.50r161033')?.kind).toBe('refuse');
  });

  it("host-only networks: VirtualBox's default range, or what networks.conf lists", () => {
    const cidr = (t: string) => (parseCidr(t) as { ok: true; cidr: import('../spec/net.js').Cidr }).cidr;
    expect(hostOnlyAllowed(cidr('192.168.56.0/24'), allowedRanges(undefined))).toBe(true);
    expect(hostOnlyAllowed(cidr('10.10.0.0/24'), allowedRanges(undefined))).toBe(false);
    expect(hostOnlyAllowed(cidr('10.10.0.0/24'), allowedRanges('* 10.0.0.0/8 192.168.0.0/16\n'))).toBe(true);
    expect(hostOnlyAllowed(cidr('192.168.56.0/24'), allowedRanges('* 10.0.0.0/8\n'))).toBe(false);
  });
});
