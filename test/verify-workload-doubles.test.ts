// The doubles' side of verify's workload checks (/work contract: storage, pod network,
// cluster DNS) on two systemd hosts: the kubelet doubles run the Pod objects bound to
// their node (busybox in a chroot with the pod's volumes and resolv.conf), the API double
// binds claims by the one rule (StorageClass + Ceph health), the kubelet doubles serve
// cluster DNS from the API's Services. Each outcome is earned from host-side state: the
// same objects give a Pending storage pod once Ceph is unhealthy or the StorageClass is
// gone, a Failed client once the server's node drops port 8080, or once the Service is
// gone (NXDOMAIN). And a stopped kubelet leaves no pod process, mount, address or DNS
// responder behind.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderedFile } from '../provisioners/rendered-files.js';
import type { ClusterModel } from '../spec/model.js';
import { discoveryKubeconfig } from '../templates/kubeconfig.js';
import {
  DISCOVERY_KUBECONFIG,
  KUBEADM_CONF,
  KUBELET_DEFAULTS,
  KUBELET_DROP_IN,
  KUBELET_UNIT,
} from '../templates/node-paths.js';
import { renderCluster } from '../templates/render.js';
import { toYamlDocuments } from '../templates/yaml.js';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable, type TestHost } from './harness/hosts.js';
import { harnessModel } from './support/cluster.js';

const unavailable = harnessUnavailable();
const VERSION = '1.34.2';
const STATE = 'var/lib/kubestrap-doubles/api';
const NS = 'kubestrap-verify';
const IMAGE = 'docker.io/library/busybox:1.37.0';
const POD_JSONPATH = `{.status.phase}{"\\t"}{.status.podIP}`;

type Obj = Record<string, unknown>;

const namespace = (): Obj => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
const pod = (name: string, node: string, container: string, script: string, extra: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: NS,
    ...(name === 'verify-server' ? { labels: { 'kubestrap.io/verify': 'server' } } : {}),
  },
  spec: {
    nodeName: node,
    restartPolicy: 'Never',
    tolerations: [{ operator: 'Exists' }],
    containers: [{ name: container, image: IMAGE, command: ['/bin/sh', '-c', script], ...(extra.container as Obj) }],
    ...(extra.volumes ? { volumes: extra.volumes } : {}),
  },
});
const server = (node: string, nonce: string) =>
  pod(
    'verify-server',
    node,
    'server',
    `mkdir -p /tmp/www && echo ${nonce} > /tmp/www/verify && exec httpd -f -p 8080 -h /tmp/www`,
    { container: { ports: [{ containerPort: 8080 }] } },
  );
const service = (): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'verify-server', namespace: NS },
  spec: { selector: { 'kubestrap.io/verify': 'server' }, ports: [{ port: 8080, targetPort: 8080, protocol: 'TCP' }] },
});
const claim = (node: string): Obj => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: `verify-${node}`, namespace: NS },
  spec: {
    storageClassName: 'rook-ceph-block',
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '64Mi' } },
  },
});
const storage = (node: string, nonce: string) =>
  pod(`verify-storage-${node}`, node, 'storage', `echo ${nonce} > /data/verify && sync && cat /data/verify`, {
    container: { volumeMounts: [{ name: 'data', mountPath: '/data' }] },
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `verify-${node}` } }],
  });
const client = (node: string, serverIp: string, domain: string) =>
  pod(
    'verify-client',
    node,
    'client',
    `wget -q -O - -T 10 http://${serverIp}:8080/verify && nslookup verify-server.${NS}.svc.${domain}`,
  );
const STORAGE_CLASS: Obj = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'rook-ceph-block' },
  provisioner: 'rook-ceph.rbd.csi.ceph.com',
};
const nonce = () => randomBytes(8).toString('hex');

describe.skipIf(unavailable)(
  `the doubles run verify's workload${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let harness: Harness;
    let mirror: AptMirror;
    let model: ClusterModel;
    let h1: TestHost;
    let h2: TestHost;
    const put = (host: TestHost, path: string, content: string, mode = 0o644) => {
      mkdirSync(dirname(join(host.root, path)), { recursive: true });
      writeFileSync(join(host.root, path), content, { mode });
    };
    const inside = (host: TestHost, command: string) => harness.inside(host, command);
    const kubectl = (args: string) =>
      inside(h1, `kubectl --kubeconfig /etc/kubernetes/admin.conf ${args} 2>&1; echo "rc=$?"`);
    let applied = 0;
    const apply = (objects: Obj[]) => {
      const path = `root/verify-${++applied}.yaml`;
      put(h1, path, toYamlDocuments(objects));
      const out = kubectl(`apply -f /${path}`);
      expect(out).toMatch(/rc=0\n$/);
    };
    const phase = (name: string) => kubectl(`-n ${NS} get pod ${name} -o jsonpath='${POD_JSONPATH}'`);
    const logs = (name: string) => kubectl(`-n ${NS} logs ${name}`);
    const fresh = () => {
      const out = kubectl(`delete namespace ${NS} --ignore-not-found --wait=true --timeout=120s`);
      expect(out).toMatch(/rc=0\n$/);
    };
    async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > deadline) {
          const journal = (h: TestHost) => inside(h, 'journalctl -u kubelet --no-pager -o cat | tail -n 15');
          throw new Error(
            `timed out waiting for ${what}\n${kubectl(`-n ${NS} get pods -o wide`)}\n` +
              `h1:\n${journal(h1)}\nh2:\n${journal(h2)}`,
          );
        }
        await sleep(500);
      }
    }
    const ended = (name: string) => () => /^(Succeeded|Failed)\t/.test(phase(name));

    beforeAll(async () => {
      harness = await Harness.start(2, 'systemd');
      [h1, h2] = [harness.host('h1'), harness.host('h2')];
      mirror = await AptMirror.start(harness, VERSION);
      model = harnessModel(harness, { version: VERSION, kubernetesRepository: mirror.kubernetesRepository });
      const files = renderCluster(model);
      await Promise.all(
        [h1, h2].map(async (host) => {
          mirror.configureHost(host);
          put(
            host,
            'etc/apt/sources.list.d/kubernetes.list',
            `deb [trusted=yes] ${mirror.kubernetesRepository}/v1.34/deb/ /\n`,
          );
          // Not harness.inside: it blocks this process, which also serves the mirror apt reads.
          await harness.insideAsync(
            host,
            'apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q install -y ' +
              '--no-install-recommends containerd kubelet kubectl kubeadm iptables >/dev/null',
          );
          for (const target of [KUBELET_UNIT, KUBELET_DROP_IN, KUBELET_DEFAULTS.debian, KUBEADM_CONF])
            put(host, target.slice(1), renderedFile(files, host.name, target).content);
          inside(host, 'systemctl daemon-reload && systemctl start containerd');
        }),
      );
      // kubeadm's init and join (the doubles); preflight is kubeadm-double.test.ts's.
      inside(h1, `kubeadm init --config ${KUBEADM_CONF} --skip-token-print --ignore-preflight-errors=all >/dev/null`);
      const token = inside(h1, 'kubeadm token create --ttl 15m').trim();
      put(
        h2,
        DISCOVERY_KUBECONFIG.slice(1),
        discoveryKubeconfig({
          cluster: model.name,
          server: `https://${h1.ip}:6443`,
          caData: readFileSync(join(h1.root, 'etc/kubernetes/pki/ca.crt')).toString('base64'),
          token,
        }),
        0o600,
      );
      inside(h2, `kubeadm join --config ${KUBEADM_CONF} --ignore-preflight-errors=all >/dev/null`);
      // The pod network: the weave-net pods' init containers make both nodes Ready.
      const weave = files.find((f) => f.path === 'cluster/weave-net.yaml')!;
      put(h1, 'root/weave-net.yaml', weave.content);
      expect(kubectl('apply -f /root/weave-net.yaml')).toMatch(/rc=0\n$/);
      await until('both nodes Ready', () => (kubectl('get nodes').match(/\sReady\s/g) ?? []).length === 2, 90_000);
    }, 900_000);

    afterAll(async () => {
      await mirror?.stop();
      await harness?.stop();
    });

    it('a storage pod writes and reads its claim; a client on h2 fetches from h1, resolves its Service', async () => {
      fresh();
      const n = nonce();
      apply([namespace(), STORAGE_CLASS, claim('h2'), storage('h2', n), server('h1', n), service()]);
      await until('the storage pod to end', ended('verify-storage-h2'));
      expect(phase('verify-storage-h2')).toBe(`Succeeded\t${h2.ip}rc=0\n`);
      expect(logs('verify-storage-h2')).toBe(`${n}\nrc=0\n`);
      expect(kubectl(`-n ${NS} get pvc`)).toMatch(/verify-h2 Bound pvc-[0-9a-f-]{36}/);
      // The claim's volume is the pod's directory on h2, not a mount left on the host.
      expect(inside(h2, 'grep -c /var/lib/kubelet /proc/self/mountinfo || true').trim()).toBe('0');

      await until('the server pod to run', () => phase('verify-server').startsWith('Running\t'));
      expect(phase('verify-server')).toBe(`Running\t${h1.ip}rc=0\n`);
      const ip = kubectl(`-n ${NS} get service verify-server -o jsonpath='{.spec.clusterIP}'`).replace(/rc=0\n$/, '');
      expect(ip).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
      expect(ip).not.toMatch(/^10\.96\.0\.(1|10)$/);

      apply([client('h2', h1.ip, model.kubernetes.dnsDomain)]);
      await until('the client pod to end', ended('verify-client'));
      const out = logs('verify-client');
      expect(phase('verify-client')).toBe(`Succeeded\t${h2.ip}rc=0\n`);
      expect(out).toContain(`${n}\n`);
      expect(out).toMatch(
        new RegExp(
          `Name:\\s+verify-server\\.${NS}\\.svc\\.${model.kubernetes.dnsDomain}\\n` +
            `Address: ${ip.replaceAll('.', '\\.')}\\n`,
        ),
      );
    }, 120_000);

    it('the storage pod stays Pending while Ceph is unhealthy, and while the StorageClass is gone', async () => {
      fresh();
      put(h1, `${STATE}/ceph-health`, 'Ready HEALTH_ERR\n');
      try {
        const n = nonce();
        apply([namespace(), STORAGE_CLASS, claim('h2'), storage('h2', n)]);
        await sleep(8_000);
        expect(phase('verify-storage-h2')).toBe('Pending\trc=0\n');
        expect(kubectl(`-n ${NS} get pvc verify-h2 -o jsonpath='{.status.phase}'`)).toBe('Pending\nrc=0\n');
        expect(logs('verify-storage-h2')).toBe('rc=0\n');
      } finally {
        rmSync(join(h1.root, STATE, 'ceph-health'), { force: true });
      }
      // The same pod goes on once Ceph is healthy: it was the health that held it.
      await until('the storage pod to end', ended('verify-storage-h2'));
      expect(phase('verify-storage-h2')).toMatch(/^Succeeded\t/);

      fresh();
      rmSync(join(h1.root, STATE, 'objects/StorageClass/-/rook-ceph-block'));
      apply([namespace(), claim('h2'), storage('h2', nonce())]);
      await sleep(8_000);
      expect(phase('verify-storage-h2')).toBe('Pending\trc=0\n');
      expect(kubectl(`-n ${NS} get pvc`)).toMatch(/verify-h2 Pending/);
    }, 90_000);

    it("the client fails with wget's error when the server's node drops port 8080", async () => {
      fresh();
      const n = nonce();
      apply([namespace(), server('h1', n), service()]);
      await until('the server pod to run', () => phase('verify-server').startsWith('Running\t'));
      inside(h1, 'iptables -I INPUT -p tcp --dport 8080 -j DROP');
      try {
        apply([client('h2', h1.ip, model.kubernetes.dnsDomain)]);
        await until('the client pod to end', ended('verify-client'), 40_000);
      } finally {
        inside(h1, 'iptables -D INPUT -p tcp --dport 8080 -j DROP');
      }
      expect(phase('verify-client')).toMatch(/^Failed\t/);
      expect(logs('verify-client')).toContain('wget: download timed out');
      expect(logs('verify-client')).not.toContain(n);
    }, 90_000);

    it('the client fails with NXDOMAIN once the Service is gone', async () => {
      fresh();
      const n = nonce();
      apply([namespace(), server('h1', n), service()]);
      await until('the server pod to run', () => phase('verify-server').startsWith('Running\t'));
      rmSync(join(h1.root, STATE, `objects/Service/${NS}/verify-server`));
      apply([client('h2', h1.ip, model.kubernetes.dnsDomain)]);
      await until('the client pod to end', ended('verify-client'));
      expect(phase('verify-client')).toMatch(/^Failed\t/);
      const out = logs('verify-client');
      expect(out).toContain(n);
      expect(out).toContain(`can't find verify-server.${NS}.svc.${model.kubernetes.dnsDomain}: NXDOMAIN`);
    }, 90_000);

    it('drain: unflagged pods refused, a disruption budget blocks until the timeout, then eviction', async () => {
      fresh();
      const budget: Obj = {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'verify-server', namespace: NS },
        spec: { minAvailable: 1, selector: { matchLabels: { 'kubestrap.io/verify': 'server' } } },
      };
      apply([namespace(), server('h1', nonce()), service(), budget]);
      await until('the server pod to run', () => phase('verify-server').startsWith('Running\t'));
      // pkg/drain filters: DaemonSet pods need --ignore-daemonsets, a Pod of no controller --force.
      const refused = kubectl('drain h1 --timeout=12s');
      expect(refused).toContain(
        'error: unable to drain node "h1" due to error: [cannot delete DaemonSet-managed Pods ' +
          '(use --ignore-daemonsets to ignore): kube-system/weave-net-h1, cannot delete Pods that declare no ' +
          `controller (use --force to override): ${NS}/verify-server], continuing command...`,
      );
      expect(refused).toMatch(/rc=1\n$/);
      // The budget allows no disruption while its one pod is the one to go: retried every 5 s, then the timeout.
      const blocked = kubectl('drain h1 --ignore-daemonsets --delete-emptydir-data --force --timeout=12s');
      expect(blocked).toContain('node/h1 already cordoned\n');
      expect(blocked).toContain(
        `error when evicting pods/"verify-server" -n "${NS}" (will retry after 5s): ` +
          "Cannot evict pod as it would violate the pod's disruption budget.",
      );
      expect(blocked).toContain(
        `error: unable to drain node "h1" due to error: error when evicting pods/"verify-server" -n "${NS}": ` +
          'global timeout reached: 12s, continuing command...',
      );
      expect(blocked).toMatch(/rc=1\n$/);
      expect(inside(h1, 'pgrep -x httpd || true').trim()).not.toBe('');
      inside(h1, `rm /${STATE}/objects/PodDisruptionBudget/${NS}/verify-server`);
      const drained = kubectl('drain h1 --ignore-daemonsets --delete-emptydir-data --force --timeout=30s');
      expect(drained).toContain(`evicting pod ${NS}/verify-server\npod/verify-server evicted\nnode/h1 drained\nrc=0\n`);
      expect(drained).toContain('Warning: ignoring DaemonSet-managed Pods: kube-system/weave-net-h1');
      await until('httpd to go', () => inside(h1, 'pgrep -x httpd || true').trim() === '', 20_000);
      expect(kubectl('uncordon h1')).toBe('node/h1 uncordoned\nrc=0\n');
      expect(kubectl('uncordon h1')).toBe('node/h1 already uncordoned\nrc=0\n');
    }, 120_000);

    it('deleting the namespace kills its pods; a stopped kubelet leaves no process, mount or address', async () => {
      fresh();
      apply([namespace(), server('h1', nonce()), service()]);
      await until('the server pod to run', () => phase('verify-server').startsWith('Running\t'));
      expect(inside(h1, 'pgrep -x httpd || true').trim()).not.toBe('');
      expect(kubectl(`delete namespace ${NS} --ignore-not-found --wait=false`)).toBe(
        `namespace "${NS}" deleted\nrc=0\n`,
      );
      await until('httpd to go', () => inside(h1, 'pgrep -x httpd || true').trim() === '', 20_000);
      expect(kubectl(`delete namespace ${NS} --ignore-not-found --wait=false`)).toBe('rc=0\n');

      apply([namespace(), server('h1', nonce()), service()]);
      await until('the server pod to run', () => phase('verify-server').startsWith('Running\t'));
      for (const host of [h1, h2]) {
        expect(inside(host, 'ip -o addr show dev lo')).toContain(' 10.96.0.10/32 ');
        expect(inside(host, `pgrep -f '[c]oredns-double 10.96.0.10 ' || true`).trim()).not.toBe('');
      }
      for (const host of [h1, h2]) inside(host, 'systemctl stop kubelet');
      for (const host of [h1, h2]) {
        expect(inside(host, `pgrep -af '[h]ttpd|[c]oredns-double|[b]usybox' || true`).trim()).toBe('');
        expect(inside(host, 'ip -o addr show dev lo')).not.toContain('10.96.0.10');
        expect(inside(host, 'grep -c /var/lib/kubelet /proc/self/mountinfo || true').trim()).toBe('0');
        expect(inside(host, 'ls /var/lib/kubelet/pods 2>/dev/null || true').trim()).toBe('');
      }
    }, 90_000);
  },
);
