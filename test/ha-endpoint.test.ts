// The endpoint kubestrap runs: 3 control planes + 1 worker on systemd namespace hosts,
// controlPlaneEndpoint managed by keepalived (VIP) + haproxy (VIP:8443), both the real
// Debian packages from the test mirror, installed by the packages phase. The API server
// doubles answer /healthz on every control plane's 6443 (joined ones hand the rest of the
// protocol to the init node's state). Proven: the VIP on exactly one node, the init node;
// the worker joined through VIP:8443; a verified TLS /healthz through the VIP from the
// worker; keepalived stopped on the holder, or its API server unhealthy, moves the VIP;
// the holder's host powered off (link gone, every process killed) moves the VIP, and it
// comes back to the init node after a boot; a second run changes nothing; reset stops
// both and removes their files. The failover windows are measured and printed.
//
// Joining several control planes (what test/ha-join.test.ts proved with a hand-placed VIP
// before kubestrap ran the endpoint; folded in here, the same 3 + 1 cluster, for CI time):
// the certificates are uploaded once per run with a fresh certificate key, which reaches
// each joining control plane only in a 0600 file removed after its join; control planes
// join one at a time, before the workers; a control plane that joined as a worker is
// refused, naming the fix.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureSummary, runPhases } from '../engine/index.js';
import {
  ENDPOINT_STATUS_PROBE,
  endpointBackends,
  endpointStatus,
  interfaceCarrying,
} from '../provisioners/endpoint.js';
import { upPhases } from '../provisioners/index.js';
import { ENDPOINT_LEFTOVERS, ResetPhase } from '../provisioners/reset.js';
import type { ClusterModel } from '../spec/model.js';
import { SshPool } from '../ssh/pool.js';
import { KEEPALIVED_CONF } from '../templates/node-paths.js';
import { renderCluster } from '../templates/render.js';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessModel, harnessSpec, nodeHosts } from './support/cluster.js';
import { REPO_ROOT, SHARED_REFERENCE, sharedReferenceMissing } from './support/fixtures.js';
import { run, runAsync } from './support/tools.js';
import { measureOutage } from './support/vip-outage.js';
import { jsonResult } from './support/json-lines.js';

const unavailable = harnessUnavailable() ?? sharedReferenceMissing();
const VERSION = '1.34.2';
const PORT = 8443;
const CONTROL_PLANES = ['h1', 'h2', 'h3'];

describe.skipIf(unavailable)(`the managed endpoint${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
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
    work = mkdtempSync(join(tmpdir(), 'ha-endpoint-'));
    pool = newPool();
    // Free on the harness network: the hosts take the first addresses after the gateway.
    vip = harness.hosts[0]!.ip.replace(/\.\d+$/, '.250');
    const options = {
      version: VERSION,
      kubernetesRepository: mirror.kubernetesRepository,
      controlPlanes: 3,
      managedEndpoint: { address: vip, port: PORT },
    };
    model = harnessModel(harness, options);
    // The same cluster as a spec file, for `kubestrap status`.
    writeFileSync(join(work, 'cluster.yaml'), harnessSpec(harness, options));
  }, 900_000);

  afterAll(async () => {
    await pool?.close();
    await mirror?.stop();
    await harness?.stop();
  }, 120_000);

  const phases = () =>
    upPhases(model, renderCluster(model), {
      rookManifests: [],
      kubeconfigPath: join(work, 'kubeconfig'),
      saveKubeconfig: async () => false,
    });
  const inside = (host: string, command: string) => harness.inside(harness.host(host), command);
  const newPool = () => new SshPool({ knownHostsPath: join(work, 'known_hosts'), logDir: join(work, 'logs') });
  const holders = (among = CONTROL_PLANES) =>
    among.filter((cp) => interfaceCarrying(inside(cp, 'ip -o -4 addr show'), vip) !== undefined);
  /** One request through the VIP from this machine (on the hosts' bridge), as a client of the endpoint would. */
  const throughVip = () =>
    spawnSync('curl', ['-sk', '--max-time', '1', `https://${vip}:${PORT}/healthz`], { encoding: 'utf8' }).stdout ===
    'ok';
  /** Polls (bounded) until `done`; returns the milliseconds it took and the failed polls. */
  const until = (done: () => boolean, limitMs: number) => {
    const start = Date.now();
    let failed = 0;
    while (!done()) {
      failed++;
      if (Date.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`);
      spawnSync('sleep', ['0.1']);
    }
    return { ms: Date.now() - start, failed };
  };
  /**
   * Requests through the VIP, 100 ms apart, until 10 in a row succeed (bounded): when the
   * first one succeeded, when the run of successes began, and how many failed in all
   * (haproxy may still send some to a dead backend after the VIP has moved).
   */
  const outage = (limitMs: number) => measureOutage(throughVip, limitMs);
  const log = (host: string) =>
    readFileSync(join(harness.host(host).root, 'var/log/kubestrap-doubles/calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean);
  const calls = (host: string) => log(host).map((line) => line.replace(/^\S+ /, ''));
  const calledAt = (host: string, call: string) =>
    log(host)
      .filter((l) => l.replace(/^\S+ /, '') === call)
      .map((l) => Number(l.split(' ')[0]));
  const doublesDir = (host: string) => join(harness.host(host).root, 'var/log/kubestrap-doubles');
  const apiState = () => join(harness.host('h1').root, 'var/lib/kubestrap-doubles/api');
  let firstRunTitles: string[] = [];
  const healthzFail = (host: string) => join(harness.host(host).root, 'var/lib/kubestrap-doubles/api/healthz-fail');

  it('brings the cluster up through the endpoint, the VIP on the init node', { timeout: 900_000 }, async () => {
    const result = await runPhases(phases(), nodeHosts(model, pool, harness));
    expect(failureSummary(result)).toBe('');
    const titles = result.phases.map((p) => p.title);
    firstRunTitles = titles;
    const at = (prefix: string) => titles.findIndex((t) => t.startsWith(prefix));
    expect(at('Control-plane endpoint on the first')).toBe(at('Initialise the control plane') - 1);
    expect(at('Control-plane endpoint on the other')).toBe(at('Join control-plane nodes') + 1);
    const endpointHosts = (prefix: string) =>
      result.phases.find((p) => p.title.startsWith(prefix))!.hosts.map((h) => `${h.host}: ${h.status}`);
    expect(endpointHosts('Control-plane endpoint on the first')).toEqual(['h1: changed']);
    expect(endpointHosts('Control-plane endpoint on the other')).toEqual(['h2: changed', 'h3: changed']);

    expect(holders()).toEqual(['h1']);
    // What `status` reads on each control plane.
    expect(CONTROL_PLANES.map((cp) => endpointStatus(inside(cp, `${ENDPOINT_STATUS_PROBE} || true`), vip))).toEqual([
      { holdsVip: true, down: [] },
      { holdsVip: false, down: [] },
      { holdsVip: false, down: [] },
    ]);
    // haproxy's own view of the API servers behind it, as `status` reads it: on every control plane, all up.
    expect(CONTROL_PLANES.map((cp) => endpointBackends(inside(cp, `${ENDPOINT_STATUS_PROBE} || true`)))).toEqual(
      CONTROL_PLANES.map(() => CONTROL_PLANES.map((server) => ({ server, up: true, check: 'L7OK' }))),
    );
    // Installed by the packages phase from the mirror, on the control planes only.
    for (const cp of CONTROL_PLANES)
      expect(inside(cp, 'systemctl is-active keepalived haproxy').trim().split('\n'), cp).toEqual(['active', 'active']);
    expect(inside('h4', "dpkg-query -W -f='${db:Status-Status}' keepalived 2>/dev/null || echo absent").trim()).toBe(
      'absent',
    );
    // The VRRP password: one per cluster, 0600, the same in every keepalived.conf.
    const password = inside('h1', 'cat /etc/kubestrap/vrrp-password').trim();
    expect(password).toMatch(/^[A-Za-z0-9]{8}$/);
    for (const cp of CONTROL_PLANES) {
      expect(inside(cp, 'stat -c %a /etc/keepalived/keepalived.conf').trim(), cp).toBe('600');
      expect(inside(cp, 'cat /etc/keepalived/keepalived.conf'), cp).toContain(`auth_pass ${password}`);
    }
    const logs = spawnSync('sh', ['-c', `cat ${join(work, 'logs')}/*`], { encoding: 'utf8' }).stdout;
    expect(logs).toContain('keepalived');
    expect(logs).not.toContain(password);

    // The worker joined through the endpoint, and a verified TLS /healthz from it goes through the VIP.
    expect(readFileSync(join(harness.host('h4').root, 'etc/kubernetes/kubelet.conf'), 'utf8')).toContain(
      `server: https://${vip}:${PORT}`,
    );
    const healthz = inside(
      'h4',
      `printf 'GET /healthz HTTP/1.1\\r\\nHost: ${vip}\\r\\n\\r\\n' | timeout 10 openssl s_client -quiet ` +
        `-connect ${vip}:${PORT} -CAfile /etc/kubernetes/pki/ca.crt -verify_return_error -verify_ip ${vip} 2>/dev/null`,
    );
    expect(healthz).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
    expect(throughVip()).toBe(true);
  });

  it("joined the other control planes one at a time with this run's certificate key, then the worker", () => {
    expect(
      firstRunTitles.slice(
        firstRunTitles.indexOf('Initialise the control plane (kubeadm init)'),
        firstRunTitles.indexOf('Pod network (Weave Net)'),
      ),
    ).toEqual([
      'Initialise the control plane (kubeadm init)',
      'Fetch the admin kubeconfig',
      'Join control-plane nodes (kubeadm join, one at a time)',
      firstRunTitles.find((t) => t.startsWith('Control-plane endpoint on the other')),
      'kubectl for the login user (~/.kube/config)',
      'Join workers (kubeadm join)',
    ]);
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
      const sans = inside(cp, 'openssl x509 -in /etc/kubernetes/pki/apiserver.crt -noout -ext subjectAltName');
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
        start: calledAt(cp, 'kubeadm join --config /etc/kubernetes/kubestrap-join.conf')[0]!,
        end: calledAt(cp, 'done kubeadm join')[0]!,
      }))
      .sort((a, b) => a.start - b.start);
    expect(cpJoins[0]!.end).toBeLessThanOrEqual(cpJoins[1]!.start);
    expect(calledAt('h4', 'kubeadm join --config /etc/kubernetes/kubeadm.conf')[0]!).toBeGreaterThan(cpJoins[1]!.end);
  });

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

  it('moves the VIP to another control plane when keepalived stops on the holder', { timeout: 120_000 }, () => {
    expect(throughVip()).toBe(true);
    const stopped = Date.now();
    inside('h1', 'systemctl stop keepalived');
    const window = until(throughVip, 30_000);
    const firstOk = Date.now() - stopped;
    until(() => holders().length === 1 && holders()[0] !== 'h1', 30_000);
    console.log(
      `failover (keepalived stopped on h1): ${firstOk} ms from the stop to the first ok through the VIP ` +
        `(${window.failed} failed requests, 1 s timeout, 100 ms apart); holder now ${holders().join()}`,
    );
    // The next priority: h2.
    expect(holders()).toEqual(['h2']);
    expect(endpointStatus(inside('h1', `${ENDPOINT_STATUS_PROBE} || true`), vip)).toEqual({
      holdsVip: false,
      down: ['keepalived'],
    });
    inside('h1', 'systemctl start keepalived');
    // Back to the init node, which outranks the others while healthy.
    until(() => holders().join() === 'h1', 30_000);
    expect(throughVip()).toBe(true);
  });

  it('gives the VIP up when the holder’s API server turns unhealthy', { timeout: 120_000 }, () => {
    expect(holders()).toEqual(['h1']);
    writeFileSync(healthzFail('h1'), 'etcd\n');
    try {
      expect(inside('h1', 'curl -sk https://127.0.0.1:6443/healthz')).toContain('[-]etcd failed');
      const start = Date.now();
      const moved = until(() => holders().length === 1 && holders()[0] !== 'h1', 60_000);
      console.log(`failover (unhealthy holder): VIP moved after ${moved.ms} ms (${Date.now() - start} ms)`);
      expect(holders()).toEqual(['h2']);
      expect(throughVip()).toBe(true);
    } finally {
      rmSync(healthzFail('h1'), { force: true });
    }
    until(() => holders().join() === 'h1', 60_000);
  });

  it(
    'powering the holder’s host off moves the VIP to another control plane, ' +
      'and requests through the VIP keep succeeding apart from a measured window',
    { timeout: 180_000 },
    async () => {
      expect(holders()).toEqual(['h1']);
      expect(throughVip()).toBe(true);
      const start = Date.now();
      await harness.powerOff(harness.host('h1'));
      const survivors = CONTROL_PLANES.filter((cp) => cp !== 'h1');
      let window: ReturnType<typeof outage>;
      let holder: string[];
      let booting: number;
      try {
        // No goodbye advert from a dead host: the others take over once its adverts stop
        // (3 × advert_int + skew). Bounded well below what a slower advert_int would need.
        window = outage(15_000);
        holder = holders(survivors);
      } finally {
        // Booted again even when the above failed, so that the later tests run on all hosts.
        booting = Date.now();
        await harness.powerOn(harness.host('h1'));
        // The SSH connections to h1 died with it, unnoticed (no reset from a dead host).
        await pool.close();
        pool = newPool();
      }
      console.log(
        `failover (h1 powered off): ${window.firstOkMs} ms from the power-off to the first ok through the VIP, ` +
          `steady (10 ok in a row) after ${window.steadyMs} ms, ${window.failed} failed requests ` +
          `(1 s timeout, 100 ms apart); holder then ${holder.join()}`,
      );
      expect(holder).toEqual(['h2']);

      // keepalived and haproxy are enabled: they come back with the host.
      until(() => inside('h1', 'systemctl is-active keepalived haproxy || true') === 'active\nactive\n', 30_000);
      // The kubelet starts the static-pod kube-apiserver at boot; its double is a plain unit.
      inside('h1', 'systemctl start kubestrap-apiserver-double.service');
      until(() => holders().join() === 'h1', 60_000);
      expect(throughVip()).toBe(true);
      console.log(
        `power-off test: ${Date.now() - start} ms in all, ` +
          `of which ${Date.now() - booting} ms h1 booting and taking the VIP back`,
      );
    },
  );

  it('a second run changes nothing', { timeout: 600_000 }, async () => {
    const result = await runPhases(phases(), nodeHosts(model, pool, harness));
    expect(failureSummary(result)).toBe('');
    for (const phase of result.phases)
      for (const host of phase.hosts)
        expect(`${phase.title}/${host.host}: ${host.status}`).toBe(`${phase.title}/${host.host}: unchanged`);
    expect(holders()).toEqual(['h1']);
    expect(calls('h1').filter((c) => c.includes('upload-certs'))).toHaveLength(1);
  });

  it(
    'status shows the VIP holder and every backend, and asks another control plane when the first cannot',
    {
      timeout: 120_000,
    },
    async () => {
      const status = async () => {
        const ran = await runAsync(
          process.execPath,
          [join(REPO_ROOT, 'dist/cli/main.js'), 'status', '-f', 'cluster.yaml', '--json'],
          {
            cwd: work,
            env: { ...process.env, HOME: work, SSH_AUTH_SOCK: '' },
            timeoutMs: 90_000,
          },
        );
        return {
          code: ran.status,
          stderr: ran.stderr,
          json: jsonResult<{
            healthy: boolean;
            nodes: { node: string; kubernetes: string; endpoint: string }[];
            endpoint: { vip: string; holders: string[] };
          }>(ran.stdout),
        };
      };
      const healthy = await status();
      expect(healthy.code, healthy.stderr).toBe(0);
      expect(healthy.json.endpoint).toEqual({ vip, holders: ['h1'] });
      expect(healthy.json.nodes.map((n) => `${n.node}: ${n.kubernetes}; ${n.endpoint}`)).toEqual([
        `h1: Ready v${VERSION}; VIP holder, backends 3/3 up`,
        `h2: Ready v${VERSION}; standby, backends 3/3 up`,
        `h3: Ready v${VERSION}; standby, backends 3/3 up`,
        `h4: Ready v${VERSION}; -`,
      ]);
      // The init node's kubectl fails (its admin.conf gone): the nodes come from h2's.
      inside('h1', 'mv /etc/kubernetes/admin.conf /etc/kubernetes/admin.conf.away');
      try {
        const fallback = await status();
        expect(fallback.code, fallback.stderr).toBe(0);
        expect(fallback.json.nodes.map((n) => n.kubernetes)).toEqual(Array(4).fill(`Ready v${VERSION}`));
      } finally {
        inside('h1', 'mv /etc/kubernetes/admin.conf.away /etc/kubernetes/admin.conf');
      }
    },
  );

  it('refuses a control-plane node that joined as a worker, naming the fix', { timeout: 300_000 }, async () => {
    inside('h3', 'rm /etc/kubernetes/manifests/kube-apiserver.yaml');
    const result = await runPhases(phases(), nodeHosts(model, pool, harness));
    expect(failureSummary(result)).toMatch(
      new RegExp(
        /h3: joined the cluster, but as a worker /.source +
          /\(no \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml\); reset this node/.source,
      ),
    );
    expect(calls('h3').filter((c) => c.startsWith('kubeadm join'))).toHaveLength(1);
  });

  it(
    'reset stops keepalived and haproxy, the VIP with them, and removes their files',
    { timeout: 300_000 },
    async () => {
      const result = await runPhases([new ResetPhase(model)], nodeHosts(model, pool, harness));
      expect(failureSummary(result)).toBe('');
      expect(holders()).toEqual([]);
      for (const cp of CONTROL_PLANES) {
        expect(inside(cp, 'systemctl is-active keepalived haproxy || true').trim().split('\n'), cp).toEqual([
          'inactive',
          'inactive',
        ]);
        for (const file of [KEEPALIVED_CONF, ...ENDPOINT_LEFTOVERS])
          expect(existsSync(join(harness.host(cp).root, file)), `${cp}:${file}`).toBe(false);
      }
    },
  );
});
