// init and join end to end on real hosts (systemd, real containerd, real apt), with
// kubeadm/kubelet/kubectl test doubles at the boundary: the recorded sequence, the
// configs kubeadm was given (checked with the upstream validator), file modes, token
// handling, and a second run that changes nothing.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upPhases } from '../provisioners/index.js';
import { failureSummary, runPhases } from '../engine/index.js';
import { loadSpecText } from '../spec/load.js';
import type { ClusterModel } from '../spec/model.js';
import { SshPool } from '../ssh/pool.js';
import { renderCluster } from '../templates/render.js';
import { rookManifests, type UpstreamFile } from '../operations/upstream.js';
import { AptMirror } from './harness/apt-mirror.js';
import { serveDirectory, type StaticServer } from './support/static-server.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessSpec, nodeHosts } from './support/cluster.js';
import { SHARED_REFERENCE, sharedReferenceMissing } from './support/fixtures.js';
import { run } from './support/tools.js';

const unavailable = harnessUnavailable() ?? sharedReferenceMissing();
const VERSION = '1.34.2';

describe.skipIf(unavailable)(`init and join on real hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness;
  let mirror: AptMirror;
  let pool: SshPool;
  let work: string;
  let model: ClusterModel;
  let upstream: StaticServer;
  let rook: UpstreamFile[];

  beforeAll(async () => {
    harness = await Harness.start(3, 'systemd');
    mirror = await AptMirror.start(harness, VERSION);
    for (const host of harness.hosts) mirror.configureHost(host);
    work = mkdtempSync(join(tmpdir(), 'bootstrap-'));
    pool = new SshPool({ knownHostsPath: join(work, 'known_hosts'), logDir: join(work, 'logs') });
    upstream = await serveDirectory(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6'));
    model = loadSpecText(
      harnessSpec(harness, {
        version: VERSION,
        kubernetesRepository: mirror.kubernetesRepository,
        rook: true,
        extraNodeYaml: (n) =>
          n === 'h1'
            ? '        storage: false\n'
            : '        disks:\n          - device: /dev/vdb\n' +
              (n === 'h3'
                ? '        labels:\n          node-role.kubernetes.io/storage: ""\n          tier: data\n'
                : ''),
      }).replace('      enabled: true\n', `      enabled: true\n      manifestBase: ${JSON.stringify(upstream.url)}\n`),
      'harness.yaml',
    ).model;
    rook = await rookManifests(model, work);
  }, 900_000);

  afterAll(async () => {
    await pool?.close();
    await upstream?.close();
    await mirror?.stop();
    await harness?.stop();
  });

  const kubeconfigPath = () => join(work, 'kubeconfig');
  const phases = () =>
    upPhases(model, renderCluster(model), {
      // The hosts have no block devices to give Rook; everything else about Rook is real here.
      ignorePreflight: ['rook-disk'],
      rookManifests: rook,
      kubeconfigPath: kubeconfigPath(),
      saveKubeconfig: async (content, dryRun) => {
        if (existsSync(kubeconfigPath()) && readFileSync(kubeconfigPath(), 'utf8') === content) return false;
        if (!dryRun) writeFileSync(kubeconfigPath(), content, { mode: 0o600 });
        return true;
      },
    });
  const calls = (host: string) =>
    readFileSync(join(harness.host(host).root, 'var/log/kubestrap-doubles/calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(/^\S+ /, ''));
  const doublesDir = (host: string) => join(harness.host(host).root, 'var/log/kubestrap-doubles');

  it(
    'brings up 1 control plane + 2 workers: init, then parallel joins with one fresh token each',
    { timeout: 600_000 },
    async () => {
      const result = await runPhases(phases(), nodeHosts(model, pool, harness));
      expect(failureSummary(result)).toBe('');
      expect(result.phases.map((p) => p.title)).toEqual([
        'Preflight checks',
        'Host preparation',
        'Container runtime (containerd)',
        'Kubernetes packages',
        'Initialise the control plane (kubeadm init)',
        'Fetch the admin kubeconfig',
        'kubectl for the login user (~/.kube/config)',
        'Join workers (kubeadm join)',
        'Pod network (Weave Net)',
        'Storage (Rook-Ceph)',
        'Verify the cluster',
      ]);

      const leader = calls('h1').filter((c) => c.startsWith('kubeadm') || c.startsWith('apiserver'));
      // Strict validation first (init itself only warns about unknown fields).
      expect(leader.slice(0, 2)).toEqual([
        'kubeadm config validate --config /etc/kubernetes/kubeadm.conf',
        'kubeadm init --config /etc/kubernetes/kubeadm.conf --skip-token-print',
      ]);
      expect(leader.filter((c) => c.startsWith('kubeadm token create')).sort()).toEqual([
        'kubeadm token create --ttl 15m --description kubestrap join h2',
        'kubeadm token create --ttl 15m --description kubestrap join h3',
      ]);
      expect(leader.filter((c) => c.startsWith('apiserver JOIN')).sort()).toEqual([
        `apiserver JOIN h2 ${model.nodes[1]!.ip}`,
        `apiserver JOIN h3 ${model.nodes[2]!.ip}`,
      ]);
      // Each join discovered the cluster over TLS and got the kubelet's config and certificate.
      for (const verb of ['CONFIGMAP', 'SIGN'])
        expect(leader.filter((c) => c.startsWith(`apiserver ${verb}`)).length, verb).toBeGreaterThanOrEqual(2);
      // The two join tokens and kubeadm init's own 24 h token are revoked: no token is left.
      expect(leader.filter((c) => c.startsWith('kubeadm token delete'))).toHaveLength(3);
      expect(readdirSync(join(harness.host('h1').root, 'var/lib/kubestrap-doubles/api/tokens'))).toEqual([]);
      // The login user (kube) runs kubectl on the control plane, as after kubeadm's own instructions.
      expect(harness.inside(harness.host('h1'), 'stat -c "%a %U" ~kube/.kube/config').trim()).toBe('600 kube');
      const asUser = await nodeHosts(model, pool, harness)[0]!.ssh.exec('kubectl get nodes', { sudo: false });
      expect(asUser.stdout).toMatch(/h2/);
      for (const worker of ['h2', 'h3']) {
        expect(calls(worker).filter((c) => c.startsWith('kubeadm join'))).toEqual([
          'kubeadm join --config /etc/kubernetes/kubeadm.conf',
        ]);
        expect(readFileSync(join(doublesDir(worker), 'discovery-mode'), 'utf8').trim()).toBe('600');
        expect(existsSync(join(harness.host(worker).root, 'etc/kubernetes/kubestrap-discovery.conf'))).toBe(false);
        expect(readFileSync(join(doublesDir(worker), 'join-mode'), 'utf8').trim()).toBe('600');
      }
      // Both joins ran at once: their token requests overlap the other's join.
      const times = (host: string, prefix: string) =>
        readFileSync(join(harness.host(host).root, 'var/log/kubestrap-doubles/calls.log'), 'utf8')
          .split('\n')
          .filter((l) => l.includes(` ${prefix}`))
          .map((l) => Number(l.split(' ')[0]));
      const [joinA, joinB] = [times('h2', 'kubeadm join')[0]!, times('h3', 'kubeadm join')[0]!];
      expect(Math.abs(joinA - joinB)).toBeLessThan(2);

      // The restricted label went through the API; the kubelet-settable one through node-labels.
      expect(readFileSync(join(harness.host('h1').root, 'var/lib/kubestrap-doubles/api/nodes/h3'), 'utf8')).toContain(
        'label=node-role.kubernetes.io/storage=',
      );
      expect(readFileSync(join(harness.host('h3').root, 'etc/kubernetes/kubeadm.conf'), 'utf8')).toContain(
        'value: tier=data',
      );

      // Weave: the Secret went over stdin, the manifest from our render, and the rollout was awaited.
      const kubectl = calls('h1').filter((c) => c.startsWith('kubectl'));
      expect(kubectl).toContain('kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -');
      expect(kubectl).toContain(
        'kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f /etc/kubernetes/kubestrap/weave-net.yaml',
      );
      expect(kubectl).toContain(
        'kubectl --kubeconfig /etc/kubernetes/admin.conf ' +
          '-n kube-system rollout status daemonset/weave-net --timeout=10s',
      );
      const objects = join(harness.host('h1').root, 'var/lib/kubestrap-doubles/api/objects');
      expect(readdirSync(join(objects, 'DaemonSet/kube-system'))).toEqual(['weave-net']);
      expect(readFileSync(join(objects, 'DaemonSet/kube-system/weave-net'), 'utf8')).toBe(
        renderCluster(model).find((f) => f.path === 'cluster/weave-net.yaml')!.content,
      );
      // Rook: upstream files applied server-side after being put on the host, the operator
      // awaited, our CephCluster applied and awaited, and a PVC that bound, then removed.
      expect(kubectl).toContain(
        'kubectl --kubeconfig /etc/kubernetes/admin.conf apply --server-side --force-conflicts ' +
          ['crds', 'common', 'csi-operator', 'operator']
            .map((f) => `-f /etc/kubernetes/kubestrap/rook-v1.20.6/${f}.yaml`)
            .join(' '),
      );
      expect(kubectl).toContain(
        'kubectl --kubeconfig /etc/kubernetes/admin.conf ' +
          '-n rook-ceph rollout status deployment/rook-ceph-operator --timeout=10s',
      );
      expect(kubectl).toContain(
        'kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f /etc/kubernetes/kubestrap/rook-cluster.yaml',
      );
      expect(kubectl).toContain(
        (
          'kubectl --kubeconfig /etc/kubernetes/admin.conf -n default get pvc kubestrap-storage-check ' +
          "-o jsonpath='{.status.phase}'"
        ).replaceAll("'", ''),
      );
      expect(kubectl).toContain(
        'kubectl --kubeconfig /etc/kubernetes/admin.conf -n default delete pvc kubestrap-storage-check --wait=false',
      );
      expect(readdirSync(join(objects, 'CephCluster/rook-ceph'))).toEqual(['rook-ceph']);
      expect(readdirSync(join(objects, 'CustomResourceDefinition/-')).length).toBeGreaterThan(10);
      expect(
        readFileSync(join(harness.host('h1').root, 'etc/kubernetes/kubestrap/rook-v1.20.6/operator.yaml'), 'utf8'),
      ).toBe(readFileSync(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6/operator.yaml'), 'utf8'));
      const verify = result.phases.at(-1)!;
      expect(verify.hosts.map((h) => h.status)).toEqual(['unchanged']);

      const kubeconfig = readFileSync(kubeconfigPath(), 'utf8');
      expect(statSync(kubeconfigPath()).mode & 0o777).toBe(0o600);
      expect(kubeconfig).toContain(`server: https://${model.kubernetes.controlPlaneEndpoint}`);
      expect(kubeconfig).toBe(readFileSync(join(harness.host('h1').root, 'etc/kubernetes/admin.conf'), 'utf8'));
    },
  );

  it('gave kubeadm configs that pass the upstream kubeadm validator', () => {
    const configs = ['h1', 'h2', 'h3'].flatMap((host) =>
      readdirSync(doublesDir(host))
        .filter((f) => /^(init|join)-\d+\.yaml$/.test(f))
        .map((f) => join(doublesDir(host), f)),
    );
    expect(configs).toHaveLength(3);
    const result = run(process.execPath, [join(SHARED_REFERENCE, 'schemas/kubeadm/validate.mjs'), ...configs]);
    expect(result.stdout).not.toMatch(/error/);
    expect(result.status).toBe(0);
  });

  it('wrote no token, CA hash, kubeconfig key or Weave password into any log', () => {
    const logs = readdirSync(join(work, 'logs'))
      .map((f) => readFileSync(join(work, 'logs', f), 'utf8'))
      .join('\n');
    const secret = readFileSync(
      join(harness.host('h1').root, 'var/lib/kubestrap-doubles/api/objects/Secret/kube-system/weave-passwd'),
      'utf8',
    );
    const password = Buffer.from(/weave-passwd: (\S+)/.exec(secret)![1]!, 'base64').toString();
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(logs).not.toContain(password);
    expect(logs).toContain('kubeadm join --config /etc/kubernetes/kubeadm.conf');
    expect(logs).not.toMatch(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/);
    expect(logs).not.toMatch(/client-key-data|sha256:[0-9a-f]{64}/);
  });

  it('a second run changes nothing and creates no token', { timeout: 300_000 }, async () => {
    const before = calls('h1').filter((c) => c.startsWith('kubeadm token create')).length;
    const result = await runPhases(phases(), nodeHosts(model, pool, harness));
    expect(failureSummary(result)).toBe('');
    for (const phase of result.phases)
      for (const host of phase.hosts)
        expect(`${phase.title}/${host.host}: ${host.status}`).toBe(`${phase.title}/${host.host}: unchanged`);
    expect(calls('h1').filter((c) => c.startsWith('kubeadm token create')).length).toBe(before);
  });

  it(
    'reset removes what the cluster left (a second reset changes nothing), and up brings it back',
    { timeout: 600_000 },
    async () => {
      const { ResetPhase } = await import('../provisioners/reset.js');
      harness.inside(harness.host('h2'), 'ip link add weave type bridge');
      const hosts = nodeHosts(model, pool, harness);
      const reset = await runPhases([new ResetPhase(model)], hosts);
      expect(failureSummary(reset)).toBe('');
      expect(reset.phases[0]!.hosts.map((h) => h.status)).toEqual(['changed', 'changed', 'changed']);
      for (const host of ['h1', 'h2', 'h3']) {
        expect(calls(host)).toContain('kubeadm reset -f');
        for (const gone of [
          'etc/kubernetes/kubelet.conf',
          'etc/kubernetes/admin.conf',
          'var/lib/kubelet',
          'etc/kubernetes/manifests',
        ]) {
          expect(existsSync(join(harness.host(host).root, gone)), `${host}:${gone}`).toBe(false);
        }
      }
      expect(harness.inside(harness.host('h2'), 'ip link show weave 2>&1 || true')).toMatch(/does not exist/);
      const again = await runPhases([new ResetPhase(model)], hosts);
      expect(again.phases[0]!.hosts.map((h) => h.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);

      const tokensBefore = calls('h1').filter((c) => c.startsWith('kubeadm token create')).length;
      const up = await runPhases(phases(), hosts);
      expect(failureSummary(up)).toBe('');
      expect(calls('h1').filter((c) => c.startsWith('kubeadm token create')).length).toBe(tokensBefore + 2);
      expect(existsSync(join(harness.host('h3').root, 'etc/kubernetes/kubelet.conf'))).toBe(true);
    },
  );
});
