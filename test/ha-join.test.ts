// Several control-plane nodes: 3 control planes + 1 worker on real hosts (systemd,
// real containerd, real apt), kubeadm/kubelet/kubectl test doubles at the boundary.
// The certificates are uploaded once per run with a fresh certificate key, which reaches
// each joining control plane only in a 0600 file removed after its join; control planes
// join one at a time, before the workers; a second run changes nothing.
//
// The endpoint is a VIP. Managing one (keepalived + haproxy, kube-vip) is later work, so
// the test plays the site's load balancer: the VIP sits on the first control plane, as
// keepalived would put it there.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upPhases } from '../provisioners/index.js';
import { failureSummary, runPhases } from '../engine/index.js';
import type { ClusterModel } from '../spec/model.js';
import { SshPool } from '../ssh/pool.js';
import { renderCluster } from '../templates/render.js';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessModel, nodeHosts } from './support/cluster.js';
import { SHARED_REFERENCE, sharedReferenceMissing } from './support/fixtures.js';
import { run } from './support/tools.js';

const unavailable = harnessUnavailable() ?? sharedReferenceMissing();
const VERSION = '1.34.2';

describe.skipIf(unavailable)(`several control-plane nodes${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness;
  let mirror: AptMirror;
  let pool: SshPool;
  let work: string;
  let model: ClusterModel;
  let vip: string;

  beforeAll(async () => {
    harness = await Harness.start(4, 'systemd');
    mirror = await AptMirror.start(harness, VERSION);
    for (const host of harness.hosts) mirror.configureHost(host);
    work = mkdtempSync(join(tmpdir(), 'ha-join-'));
    pool = new SshPool({ knownHostsPath: join(work, 'known_hosts'), logDir: join(work, 'logs') });
    vip = harness.hosts[0]!.ip.replace(/\.\d+$/, '.250');
    harness.inside(harness.hosts[0]!, `ip addr add ${vip}/32 dev eth0`);
    model = harnessModel(harness, {
      version: VERSION,
      kubernetesRepository: mirror.kubernetesRepository,
      controlPlanes: 3,
      controlPlaneEndpoint: `${vip}:6443`,
    });
  }, 900_000);

  afterAll(async () => {
    await pool?.close();
    await mirror?.stop();
    await harness?.stop();
  });

  const phases = () =>
    upPhases(model, renderCluster(model), {
      rookManifests: [],
      kubeconfigPath: join(work, 'kubeconfig'),
      saveKubeconfig: async () => false,
    });
  const log = (host: string) =>
    readFileSync(join(harness.host(host).root, 'var/log/kubestrap-doubles/calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean);
  const calls = (host: string) => log(host).map((line) => line.replace(/^\S+ /, ''));
  const at = (host: string, call: string) =>
    log(host)
      .filter((l) => l.replace(/^\S+ /, '') === call)
      .map((l) => Number(l.split(' ')[0]));
  const doublesDir = (host: string) => join(harness.host(host).root, 'var/log/kubestrap-doubles');
  const apiState = () => join(harness.host('h1').root, 'var/lib/kubestrap-doubles/api');

  it(
    "joins two further control planes one at a time with this run's certificate key, then the worker",
    { timeout: 600_000 },
    async () => {
      const result = await runPhases(phases(), nodeHosts(model, pool, harness));
      expect(failureSummary(result)).toBe('');
      const titles = result.phases.map((p) => p.title);
      expect(
        titles.slice(
          titles.indexOf('Initialise the control plane (kubeadm init)'),
          titles.indexOf('Pod network (Weave Net)'),
        ),
      ).toEqual([
        'Initialise the control plane (kubeadm init)',
        'Fetch the admin kubeconfig',
        'Join control-plane nodes (kubeadm join, one at a time)',
        'kubectl for the login user (~/.kube/config)',
        'Join workers (kubeadm join)',
      ]);
      expect(
        result.phases.find((p) => p.title.startsWith('Join control-plane'))!.hosts.map((h) => `${h.host}: ${h.status}`),
      ).toEqual(['h2: changed', 'h3: changed']);

      // One upload per run, from a 0600 file that is gone afterwards.
      expect(calls('h1').filter((c) => c.includes('upload-certs'))).toEqual([
        'kubeadm init phase upload-certs --upload-certs --config /etc/kubernetes/kubestrap-upload-certs.conf',
      ]);
      expect(readFileSync(join(doublesDir('h1'), 'upload-certs-mode'), 'utf8').trim()).toBe('600');
      expect(existsSync(join(harness.host('h1').root, 'etc/kubernetes/kubestrap-upload-certs.conf'))).toBe(false);

      for (const cp of ['h2', 'h3']) {
        expect(calls(cp).filter((c) => c.startsWith('kubeadm join'))).toEqual([
          'kubeadm join --config /etc/kubernetes/kubestrap-join.conf',
        ]);
        expect(readFileSync(join(doublesDir(cp), 'join-mode'), 'utf8').trim()).toBe('600');
        for (const gone of ['kubestrap-join.conf', 'kubestrap-discovery.conf'])
          expect(existsSync(join(harness.host(cp).root, 'etc/kubernetes', gone)), `${cp}:${gone}`).toBe(false);
        // The API server double took the key (it answers ERR to a wrong or missing one) and made it a control plane.
        expect(readFileSync(join(apiState(), 'nodes', cp), 'utf8')).toContain('role=control-plane');
        expect(existsSync(join(harness.host(cp).root, 'etc/kubernetes/manifests/kube-apiserver.yaml'))).toBe(true);
        // Its own serving certificate (its name and advertise address, and the VIP), the shared
        // CA from kubeadm-certs, and no super-admin.conf (init's alone).
        const sans = harness.inside(
          harness.host(cp),
          'openssl x509 -in /etc/kubernetes/pki/apiserver.crt -noout -ext subjectAltName',
        );
        for (const san of [`DNS:${cp}`, `IP Address:${harness.host(cp).ip}`, `IP Address:${vip}`])
          expect(sans, `${cp}: ${san}`).toContain(san);
        expect(readFileSync(join(harness.host(cp).root, 'etc/kubernetes/pki/ca.key'), 'utf8')).toBe(
          readFileSync(join(harness.host('h1').root, 'etc/kubernetes/pki/ca.key'), 'utf8'),
        );
        expect(existsSync(join(harness.host(cp).root, 'etc/kubernetes/super-admin.conf'))).toBe(false);
        // The rendered kubeadm.conf, kept as the record, holds no key.
        expect(readFileSync(join(harness.host(cp).root, 'etc/kubernetes/kubeadm.conf'), 'utf8')).not.toContain(
          'certificateKey',
        );
      }
      expect(calls('h4').filter((c) => c.startsWith('kubeadm join'))).toEqual([
        'kubeadm join --config /etc/kubernetes/kubeadm.conf',
      ]);
      expect(readFileSync(join(apiState(), 'nodes/h4'), 'utf8')).toContain('role=worker');

      // One at a time: each control-plane join ended before the other began; the worker came after both.
      const cpJoins = ['h2', 'h3']
        .map((cp) => ({
          start: at(cp, 'kubeadm join --config /etc/kubernetes/kubestrap-join.conf')[0]!,
          end: at(cp, 'done kubeadm join')[0]!,
        }))
        .sort((a, b) => a.start - b.start);
      expect(cpJoins[0]!.end).toBeLessThanOrEqual(cpJoins[1]!.start);
      expect(at('h4', 'kubeadm join --config /etc/kubernetes/kubeadm.conf')[0]!).toBeGreaterThan(cpJoins[1]!.end);
      // Every join went through the endpoint (the VIP), not a node's own address.
      expect(readFileSync(join(harness.host('h4').root, 'etc/kubernetes/kubelet.conf'), 'utf8')).toContain(
        `server: https://${vip}:6443`,
      );
    },
  );

  it('handed kubeadm configs that pass the upstream validator, the key where kubeadm reads it', () => {
    const kept = (host: string, kind: string) =>
      readdirSync(doublesDir(host))
        .filter((f) => new RegExp(`^${kind}-\\d+\\.yaml$`).test(f))
        .map((f) => join(doublesDir(host), f));
    const upload = kept('h1', 'upload-certs');
    const cpJoins = [...kept('h2', 'join'), ...kept('h3', 'join')];
    expect(upload).toHaveLength(1);
    expect(cpJoins).toHaveLength(2);
    const key = readFileSync(join(apiState(), 'certificate-key'), 'utf8').split(' ')[0]!;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(upload[0]!, 'utf8')).toMatch(
      new RegExp(`kind: InitConfiguration[\\s\\S]*\\ncertificateKey: ${key}\\n`),
    );
    for (const file of cpJoins)
      expect(readFileSync(file, 'utf8')).toMatch(
        new RegExp(
          `\\ncontrolPlane:\\n  localAPIEndpoint:\\n    advertiseAddress: \\S+\\n` +
            `    bindPort: 6443\\n  certificateKey: ${key}\\n`,
        ),
      );
    const result = run(process.execPath, [
      join(SHARED_REFERENCE, 'schemas/kubeadm/validate.mjs'),
      ...upload,
      ...cpJoins,
      ...kept('h1', 'init'),
      ...kept('h4', 'join'),
    ]);
    expect(result.stdout).not.toMatch(/error/);
    expect(result.status).toBe(0);
  });

  it('kept the certificate key out of every log', () => {
    const key = readFileSync(join(apiState(), 'certificate-key'), 'utf8').split(' ')[0]!;
    const logs = readdirSync(join(work, 'logs'))
      .map((f) => readFileSync(join(work, 'logs', f), 'utf8'))
      .join('\n');
    expect(logs).toContain('kubeadm init phase upload-certs');
    expect(logs).not.toContain(key);
  });

  it('a second run changes nothing and uploads no certificates', { timeout: 300_000 }, async () => {
    const result = await runPhases(phases(), nodeHosts(model, pool, harness));
    expect(failureSummary(result)).toBe('');
    for (const phase of result.phases)
      for (const host of phase.hosts)
        expect(`${phase.title}/${host.host}: ${host.status}`).toBe(`${phase.title}/${host.host}: unchanged`);
    expect(calls('h1').filter((c) => c.includes('upload-certs'))).toHaveLength(1);
  });

  it('refuses a control-plane node that joined as a worker, naming the fix', { timeout: 300_000 }, async () => {
    harness.inside(harness.host('h3'), 'rm /etc/kubernetes/manifests/kube-apiserver.yaml');
    const result = await runPhases(phases(), nodeHosts(model, pool, harness));
    expect(failureSummary(result)).toMatch(
      new RegExp(
        /h3: joined the cluster, but as a worker /.source +
          /\(no \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml\); reset this node/.source,
      ),
    );
    expect(calls('h3').filter((c) => c.startsWith('kubeadm join'))).toHaveLength(1);
  });
});
