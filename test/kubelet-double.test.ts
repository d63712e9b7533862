// The kubelet double as a systemd service on a real host (systemd, real containerd from
// the test mirror, kubestrap's own kubelet unit and drop-in): each bad start-up input
// makes it exit with the real kubelet's error and systemd restart it, the fixed input
// brings it up; a NotReady node until a CNI config exists, which the weave-net pod's
// init container (simulated by the kubelet double) writes; the node's InternalIP from
// --node-ip only when the address is on the host. kubeadm's outputs are written here
// as kubeadm 1.34 writes them (kubeadm-behaviour.md §3), so that this file tests the
// kubelet double alone.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCluster } from '../templates/render.js';
import { KUBEADM_CONF, KUBELET_DEFAULTS, KUBELET_DROP_IN, KUBELET_UNIT } from '../templates/node-paths.js';
import { renderedFile } from '../provisioners/rendered-files.js';
import { NODES_JSONPATH } from '../provisioners/verify.js';
import { PODS_JSONPATH } from '../provisioners/doctor/cluster-checks.js';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable, type TestHost } from './harness/hosts.js';
import { harnessModel } from './support/cluster.js';
import { zramUnavailable } from './harness/zram-disk.js';

const unavailable = harnessUnavailable() ?? zramUnavailable();
const VERSION = '1.34.2';
const STATE = 'var/lib/kubestrap-doubles/api';

/** What kubeadm 1.34 writes to /var/lib/kubelet/config.yaml (instance-config.yaml merged in). */
const KUBELET_CONFIG = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    cacheTTL: 0s
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
clusterDomain: cluster.local
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
rotateCertificates: true
runtimeRequestTimeout: 0s
staticPodPath: /etc/kubernetes/manifests
`;

describe.skipIf(unavailable)(
  `the kubelet double under systemd${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let harness: Harness;
    let mirror: AptMirror;
    let host: TestHost;
    const inside = (command: string) => harness.inside(host, command);
    const file = (path: string) => join(host.root, path);
    const put = (path: string, content: string) => {
      mkdirSync(dirname(file(path)), { recursive: true });
      writeFileSync(file(path), content);
    };
    const nodeState = () =>
      existsSync(file(`${STATE}/nodes/h1`)) ? readFileSync(file(`${STATE}/nodes/h1`), 'utf8') : '';
    let since = 0;
    const journal = () => inside(`journalctl -u kubelet --no-pager -o cat --since=@${since} 2>&1 | tail -n 40`);
    const restarts = () => Number(inside('systemctl show kubelet -p NRestarts --value').trim());
    const kubectl = (args: string) =>
      inside(`kubectl --kubeconfig /etc/kubernetes/kubelet.conf ${args} 2>&1; echo "rc=$?"`);

    async function until(what: string, check: () => boolean, timeoutMs = 40_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; journal:\n${journal()}`);
        await sleep(500);
      }
    }
    /** Restarts the unit on a fresh journal and status, as after an administrator's change. */
    function restartKubelet(): void {
      inside('systemctl stop kubelet; systemctl reset-failed kubelet 2>/dev/null; true');
      // The Node object stays, as in a cluster (without it a DaemonSet wants no pod at
      // all and its rollout is complete); only reports after this start count.
      since = Math.floor(Date.now() / 1000) + 1;
      inside('sleep 1');
      inside('systemctl start kubelet');
    }
    const fresh = () => {
      const beat = /^heartbeat=(\d+)$/m.exec(nodeState());
      return beat !== null && Number(beat[1]) >= since;
    };

    beforeAll(async () => {
      // Rook's disks: one it takes, one too small, one with a filesystem, one with an old OSD's label.
      harness = await Harness.start(1, 'systemd', { disks: { h1: [6, 4, 6, 6] } });
      host = harness.host('h1');
      mirror = await AptMirror.start(harness, VERSION);
      mirror.configureHost(host);
      const model = harnessModel(harness, { version: VERSION, kubernetesRepository: mirror.kubernetesRepository });
      const repo = `${mirror.kubernetesRepository}/v1.34/deb/`;
      put('etc/apt/sources.list.d/kubernetes.list', `deb [trusted=yes] ${repo} /\n`);
      // Not harness.inside: it blocks this process, which also serves the mirror apt reads.
      await harness.insideAsync(
        host,
        'apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q install -y ' +
          '--no-install-recommends containerd kubelet kubectl kubeadm >/dev/null',
      );
      inside('systemctl start containerd');
      const files = renderCluster(model);
      for (const target of [KUBELET_UNIT, KUBELET_DROP_IN, KUBELET_DEFAULTS.debian])
        put(target.slice(1), renderedFile(files, 'h1', target).content);
      // The kubeadm double's init writes kubeadm's file set for this node (the CA, the
      // serving certificate, a kubelet.conf naming the CA) and starts the API server double
      // over TLS and the kubelet. Preflight is not what this file tests (the host had no
      // host prep); kubeadm-double.test.ts tests it.
      put(KUBEADM_CONF.slice(1), renderedFile(files, 'h1', KUBEADM_CONF).content);
      inside(`kubeadm init --config ${KUBEADM_CONF} --skip-token-print --ignore-preflight-errors=all >/dev/null`);
      // Then the inputs this file varies, from a known start (what kubeadm 1.34 writes).
      put('var/lib/kubelet/config.yaml', KUBELET_CONFIG);
      put(
        'var/lib/kubelet/kubeadm-flags.env',
        'KUBELET_KUBEADM_ARGS="--pod-infra-container-image=registry.k8s.io/pause:3.10.1"\n',
      );
      mkdirSync(file(`${STATE}/nodes`), { recursive: true });
      inside('systemctl daemon-reload && systemctl restart kubelet');
    }, 900_000);

    afterAll(async () => {
      await mirror?.stop();
      await harness?.stop();
    });

    it('comes up NotReady without a CNI config, with the --node-ip kubestrap rendered as InternalIP', async () => {
      await until('a node status', fresh);
      expect(nodeState()).toMatch(/^ready=False$/m);
      expect(nodeState()).toMatch(/^reason=KubeletNotReady$/m);
      expect(nodeState()).toContain(`internalIP=${host.ip}\n`);
      expect(nodeState()).toContain(`kubeletVersion=v${VERSION}\n`);
      expect(journal()).toContain('cni plugin not initialized');
      expect(kubectl('get nodes')).toMatch(/h1\s+NotReady/);
      // 1.34 still takes the flag kubeadm 1.34 writes (1.35 refuses it: the fast tests).
      expect(inside('systemctl is-active kubelet').trim()).toBe('active');
    }, 60_000);

    it('runs weave-net: its init container writes the CNI config, the node turns Ready, the rollout ends', async () => {
      inside('systemctl stop kubelet');
      const model = harnessModel(harness, { version: VERSION, kubernetesRepository: mirror.kubernetesRepository });
      const weave = renderCluster(model).find((f) => f.path === 'cluster/weave-net.yaml');
      put('root/weave-net.yaml', weave!.content);
      expect(kubectl('apply -f /root/weave-net.yaml')).toContain('daemonset/weave-net created');
      // No kubelet runs its pod: the rollout is not done, and kubectl gives up at --timeout.
      const stuck = kubectl('-n kube-system rollout status daemonset/weave-net --timeout=3s');
      expect(stuck).toContain(
        'Waiting for daemon set "weave-net" rollout to finish: 0 out of 1 new pods have been updated...',
      );
      expect(stuck).toContain('error: timed out waiting for the condition');
      expect(stuck).toMatch(/rc=1\n$/);
      expect(existsSync(file('etc/cni/net.d/10-weave.conflist'))).toBe(false);

      restartKubelet();
      const done = kubectl('-n kube-system rollout status daemonset/weave-net --timeout=60s');
      expect(done).toContain('daemon set "weave-net" successfully rolled out');
      expect(done).toMatch(/rc=0\n$/);
      const conflist = JSON.parse(inside('cat /etc/cni/net.d/10-weave.conflist'));
      expect(conflist.plugins.map((p: { type: string }) => p.type)).toEqual(['weave-net', 'portmap']);
      expect(nodeState()).toMatch(/^ready=True$/m);
      expect(kubectl('get nodes')).toMatch(/h1\s+Ready/);
    }, 120_000);

    it("plays Rook's osd-prepare on the node's real disks: ceph-volume's rejections, then one OSD pod", async () => {
      const [good, small, formatted, stale] = host.disks as [string, string, string, string];
      execFileSync('mkfs.ext4', ['-q', '-F', formatted]);
      writeFileSync(stale, 'bluestore block device\n5f0b4c2e-0000-4000-8000-000000000000\n', { flag: 'r+' });
      put(
        'root/ceph-cluster.yaml',
        'apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata:\n  name: rook-ceph\n  namespace: rook-ceph\n' +
          'spec:\n  storage:\n    useAllNodes: false\n    useAllDevices: false\n    nodes:\n      - name: h1\n' +
          '        devices:\n' +
          [good, small, formatted, stale].map((d) => `          - name: ${d.slice('/dev/'.length)}\n`).join(''),
      );
      expect(kubectl('apply -f /root/ceph-cluster.yaml')).toContain('rc=0');
      const osdPods = () =>
        existsSync(file(`${STATE}/pods/rook-ceph`)) ? readdirSync(file(`${STATE}/pods/rook-ceph`)) : [];
      await until('an OSD pod', () => osdPods().length > 0);
      expect(osdPods()).toEqual([expect.stringMatching(/^rook-ceph-osd-0-[0-9a-f-]{10}$/)]);
      expect(readFileSync(file(`${STATE}/pods/rook-ceph/${osdPods()[0]}`), 'utf8')).toMatch(
        /^node=h1\nphase=Running\n/,
      );
      // ceph-volume's raw mode labelled the disk it took, as blkid on this machine sees it.
      expect(
        execFileSync('blkid', ['-c', '/dev/null', '-p', '-o', 'value', '-s', 'TYPE', good], { encoding: 'utf8' }),
      ).toBe('ceph_bluestore\n');
      const log = inside('cat /var/log/kubestrap-doubles/rook-osd-prepare.log');
      const name = (d: string) => d.slice('/dev/'.length);
      expect(log).toContain(`device "${name(good)}" is an OSD (osd.0, raw mode)`);
      expect(log).toContain(`skipping device "${name(small)}": Insufficient space (<5GB).`);
      expect(log).toContain(`skipping device "${name(formatted)}": Has a FileSystem.`);
      expect(log).toContain(`skipping device "${name(stale)}": Has BlueStore device label.`);
      // Its label overwritten, the OSD cannot start: Running, its container CrashLoopBackOff.
      writeFileSync(good, Buffer.alloc(4096), { flag: 'r+' });
      const pod = () => readFileSync(file(`${STATE}/pods/rook-ceph/${osdPods()[0]}`), 'utf8');
      await until('CrashLoopBackOff', () => pod().includes('reason=CrashLoopBackOff'), 60_000);
      expect(kubectl(`get pods -A -o jsonpath=${PODS_JSONPATH}`)).toMatch(
        /^rook-ceph\trook-ceph-osd-0-\S+\tRunning\th1\tCrashLoopBackOff$/m,
      );
      expect(
        kubectl(`-n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.phase} {.status.ceph.health}'`),
      ).toBe('Ready HEALTH_WARN\nrc=0\n');
    }, 120_000);

    it('a node whose kubelet stopped reporting is Unknown after the grace period, in the API and kubectl', async () => {
      inside('systemctl stop kubelet');
      // The last report 41 s ago rather than a 41 s wait: the grace period is 40 s.
      put(
        `${STATE}/nodes/h1`,
        nodeState().replace(/^heartbeat=\d+$/m, `heartbeat=${Math.floor(Date.now() / 1000) - 41}`),
      );
      expect(kubectl(`get nodes -o jsonpath=${NODES_JSONPATH}`)).toBe(`h1\tUnknown\tv${VERSION}\t${host.ip}\nrc=0\n`);
      expect(kubectl('get nodes')).toMatch(/h1\s+NotReady/);
      restartKubelet();
      await until('a node status', fresh);
      expect(kubectl(`get nodes -o jsonpath=${NODES_JSONPATH}`)).toBe(`h1\tTrue\tv${VERSION}\t${host.ip}\nrc=0\n`);
    }, 60_000);

    it('exits on swap (failSwapOn), systemd restarts it, and it comes up once swap is off', async () => {
      // The host shares this machine's kernel and has no swap of its own: the double reads this file for /proc/swaps.
      put(
        'etc/kubestrap-doubles/proc-swaps',
        'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swap.img file 4194300 0 -2\n',
      );
      restartKubelet();
      const before = restarts();
      await until('a restart after the swap error', () => restarts() > before, 30_000);
      expect(journal()).toContain(
        'failed to run Kubelet: running with swap on is not supported, ' +
          'please disable swap or set --fail-swap-on flag to false',
      );
      expect(fresh()).toBe(false);
      rmSync(file('etc/kubestrap-doubles/proc-swaps'));
      await until('the kubelet to come up after swapoff', fresh, 30_000);
      expect(inside('systemctl is-active kubelet').trim()).toBe('active');
    }, 90_000);

    it('exits on a flag the kubelet does not know, from /etc/default/kubelet', async () => {
      const defaults = readFileSync(file('etc/default/kubelet'), 'utf8');
      put('etc/default/kubelet', defaults.replace('KUBELET_EXTRA_ARGS=', 'KUBELET_EXTRA_ARGS=--no-such-flag=1 '));
      restartKubelet();
      await until('the flag error', () =>
        journal().includes('failed to parse kubelet flag: unknown flag: --no-such-flag'),
      );
      expect(fresh()).toBe(false);
      put('etc/default/kubelet', defaults);
      restartKubelet();
      await until('the kubelet to come up', fresh);
    }, 90_000);

    it('exits when the CRI socket does not answer', async () => {
      put('var/lib/kubelet/config.yaml', KUBELET_CONFIG.replace('containerd.sock', 'nothing.sock'));
      restartKubelet();
      await until('the CRI error', () =>
        journal().includes(
          'validate CRI v1 runtime API for endpoint \\"unix:///run/containerd/nothing.sock\\": ' +
            'rpc error: code = Unavailable',
        ),
      );
      expect(fresh()).toBe(false);
      put('var/lib/kubelet/config.yaml', KUBELET_CONFIG);
      restartKubelet();
      await until('the kubelet to come up', fresh);
    }, 90_000);

    it('logs an unknown config field and goes on; exits on a wrong type', async () => {
      put('var/lib/kubelet/config.yaml', `${KUBELET_CONFIG}cgroupDrivr: systemd\n`);
      restartKubelet();
      await until('a node status', fresh);
      expect(journal()).toContain('Using lenient decoding as strict decoding failed');
      expect(journal()).toContain('unknown field \\"cgroupDrivr\\"');
      put(
        'var/lib/kubelet/config.yaml',
        KUBELET_CONFIG.replace('rotateCertificates: true', 'rotateCertificates: "yes"'),
      );
      restartKubelet();
      await until('the decode error', () =>
        journal().includes(
          'cannot unmarshal string into Go struct field KubeletConfiguration.rotateCertificates of type bool',
        ),
      );
      expect(journal()).toContain('failed to load kubelet config file, path: /var/lib/kubelet/config.yaml');
      put('var/lib/kubelet/config.yaml', KUBELET_CONFIG);
      restartKubelet();
      await until('the kubelet to come up', fresh);
    }, 90_000);

    it('--node-ip 10.0.2.15 (NAT): no InternalIP while not on the host, the wrong one once it is', async () => {
      const defaults = readFileSync(file('etc/default/kubelet'), 'utf8');
      put('etc/default/kubelet', defaults.replace(/--node-ip=\S+/, '--node-ip=10.0.2.15'));
      restartKubelet();
      await until('a node status', fresh);
      // No address: the API double keeps a Node without the InternalIP line.
      expect(nodeState()).toMatch(/^ready=/m);
      expect(nodeState()).not.toMatch(/^internalIP=/m);
      expect(journal()).toContain('failed to validate nodeIP: node IP: \\"10.0.2.15\\" not found');
      expect(inside('systemctl is-active kubelet').trim()).toBe('active');
      inside('ip addr add 10.0.2.15/24 dev eth0');
      try {
        restartKubelet();
        await until('a node status', fresh);
        expect(nodeState()).toContain('internalIP=10.0.2.15\n');
      } finally {
        inside('ip addr del 10.0.2.15/24 dev eth0');
        put('etc/default/kubelet', defaults);
        restartKubelet();
      }
      await until('a node status', fresh);
      expect(nodeState()).toContain(`internalIP=${host.ip}\n`);
    }, 90_000);

    it('goes NotReady when the CNI config is gone, and the rollout is no longer complete', async () => {
      rmSync(file('etc/cni/net.d/10-weave.conflist'));
      // The weave pod already ran (its init container does not run again): the node stays NotReady.
      rmSync(file(`${STATE}/objects/DaemonSet/kube-system/weave-net`));
      await until('NotReady', () => /^ready=False$/m.test(nodeState()));
      expect(kubectl('get nodes')).toMatch(/h1\s+NotReady/);
    }, 60_000);
  },
);
