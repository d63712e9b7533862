// Control-plane endpoint failover (root; systemd namespace hosts; the real keepalived and
// haproxy from the test mirror): 3 control planes + 1 worker brought up by kubestrap with
// a managed endpoint, then, RUNS times each (10; KUBESTRAP_BENCH_RUNS for a quick look),
// a steady loop of requests through the VIP (curl https://VIP:8443/healthz, 1 s timeout,
// 100 ms apart) while the VIP's holder dies:
//  (a) keepalived stopped on the holder (it says goodbye: a priority-0 advert)
//  (b) the holder's host powered off (link gone, every process killed: silence)
// Figures: milliseconds from the kill to the first ok through the VIP, to the start of 10
// ok in a row, and the failed requests in between; median and max. Side by side in the
// same run, the peer: the same cluster with keepalived.conf as kubeadm's HA guide
// (kubernetes/kubeadm docs/ha-considerations.md) renders it: one MASTER at priority 101
// and BACKUPs at 100, preempting, multicast, advert_int left at keepalived's default (1),
// its vrrp_script timing (interval 3, weight -2, fall 10, rise 2); the check script stays
// kubestrap's, since the guide's checks a haproxy port on localhost that ours does not bind.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureSummary, runPhases } from '../engine/index.js';
import { interfaceCarrying } from '../provisioners/endpoint.js';
import { upPhases } from '../provisioners/index.js';
import type { ClusterModel } from '../spec/model.js';
import { SshPool } from '../ssh/pool.js';
import { KEEPALIVED_CHECK_SCRIPT, KEEPALIVED_CONF } from '../templates/node-paths.js';
import { renderCluster } from '../templates/render.js';
import { AptMirror } from '../test/harness/apt-mirror.js';
import { Harness, harnessUnavailable } from '../test/harness/hosts.js';
import { harnessModel, nodeHosts } from '../test/support/cluster.js';
import { sharedReferenceMissing } from '../test/support/fixtures.js';
import { measureOutage, type Outage } from '../test/support/vip-outage.js';

const reason = harnessUnavailable() ?? sharedReferenceMissing();
if (reason) {
  console.log(`failover bench skipped: ${reason}`);
  process.exit(0);
}

const RUNS = Number(process.env.KUBESTRAP_BENCH_RUNS ?? 10);
const VERSION = '1.34.2';
const PORT = 8443;
const CONTROL_PLANES = ['h1', 'h2', 'h3'];
type Kill = 'keepalived stopped' | 'powered off';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const max = (values: number[]) => Math.max(...values);
const sleep = (seconds: number) => spawnSync('sleep', [String(seconds)]);

const work = mkdtempSync(join(tmpdir(), 'kubestrap-bench-failover-'));
const harness = await Harness.start(4, 'systemd');
let mirror: AptMirror | undefined;
const pool = new SshPool({ knownHostsPath: join(work, 'known_hosts') });
try {
  mirror = await AptMirror.start(harness, VERSION);
  for (const host of harness.hosts) mirror.configureHost(host);
  const vip = harness.hosts[0]!.ip.replace(/\.\d+$/, '.250');
  const model: ClusterModel = harnessModel(harness, {
    version: VERSION,
    kubernetesRepository: mirror.kubernetesRepository,
    controlPlanes: 3,
    managedEndpoint: { address: vip, port: PORT },
  });
  const phases = upPhases(model, renderCluster(model), {
    rookManifests: [],
    kubeconfigPath: join(work, 'kubeconfig'),
    saveKubeconfig: async () => false,
  });
  const up = await runPhases(phases, nodeHosts(model, pool, harness));
  if (!up.ok) throw new Error(`the cluster did not come up: ${failureSummary(up)}`);

  const inside = (host: string, command: string) => harness.inside(harness.host(host), command);
  const holders = () =>
    CONTROL_PLANES.filter((cp) => {
      try {
        return interfaceCarrying(inside(cp, 'ip -o -4 addr show'), vip) !== undefined;
      } catch {
        return false; // powered off
      }
    });
  const throughVip = () =>
    spawnSync('curl', ['-sk', '--max-time', '1', `https://${vip}:${PORT}/healthz`], { encoding: 'utf8' }).stdout ===
    'ok';
  const waitFor = (what: string, done: () => boolean, limitMs: number) => {
    for (const start = Date.now(); !done(); sleep(0.2))
      if (Date.now() - start > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
  };
  const outage = (limitMs: number, start = Date.now()) => measureOutage(throughVip, limitMs, start);
  const running = (cp: string) => inside(cp, 'systemctl is-active keepalived haproxy || true') === 'active\nactive\n';
  /** Back to the steady state: every keepalived and haproxy running, h1 the only holder, the VIP answering. */
  const steady = () => {
    waitFor('keepalived and haproxy running on every control plane', () => CONTROL_PLANES.every(running), 60_000);
    waitFor('h1 holding the VIP alone', () => holders().join() === 'h1', 60_000);
    outage(30_000);
  };
  const kill = async (how: Kill): Promise<Outage> => {
    steady();
    const start = Date.now();
    if (how === 'keepalived stopped') inside('h1', 'systemctl stop keepalived');
    else await harness.powerOff(harness.host('h1'));
    // From before the kill command: systemctl stop returns once keepalived has gone.
    const measured = outage(60_000, start);
    if (how === 'keepalived stopped') inside('h1', 'systemctl start keepalived');
    else {
      await harness.powerOn(harness.host('h1'));
      // The kubelet starts the static-pod kube-apiserver at boot; its double is a plain unit.
      waitFor('h1 booted', () => running('h1'), 60_000);
      inside('h1', 'systemctl start kubestrap-apiserver-double.service');
    }
    return measured;
  };
  const measure = async (label: string) => {
    const results = new Map<Kill, Outage[]>();
    for (const how of ['keepalived stopped', 'powered off'] as const) {
      const outages: Outage[] = [];
      for (let i = 0; i < RUNS; i++) outages.push(await kill(how));
      results.set(how, outages);
      const first = outages.map((o) => o.firstOkMs);
      console.log(
        `${label}, ${how}: first ok after median ${median(first)} ms (max ${max(first)}), ` +
          `10 ok in a row after median ${median(outages.map((o) => o.steadyMs))} ms ` +
          `(max ${max(outages.map((o) => o.steadyMs))}), failed requests median ` +
          `${median(outages.map((o) => o.failed))} (max ${max(outages.map((o) => o.failed))}); ` +
          `runs: ${first.join(' ')}`,
      );
    }
    return results;
  };

  // The peer first, so that a peer configuration that cannot elect a holder here fails
  // before the longer half; kubestrap's files are put back afterwards, as they were.
  const ourConfs = new Map(CONTROL_PLANES.map((cp) => [cp, inside(cp, `cat ${KEEPALIVED_CONF}`)]));
  const confPath = (cp: string) => join(harness.host(cp).root, KEEPALIVED_CONF);
  const useKeepalivedConfs = (conf: (cp: string, index: number) => string) => {
    // Through files, not arguments: the password stays out of process listings.
    for (const [index, cp] of CONTROL_PLANES.entries()) writeFileSync(confPath(cp), conf(cp, index), { mode: 0o600 });
    for (const cp of CONTROL_PLANES) inside(cp, 'systemctl restart keepalived');
  };
  // The peer's keepalived.conf, with this cluster's interface, router id, password and VIP.
  useKeepalivedConfs((cp, index) => {
    const conf = ourConfs.get(cp)!;
    const field = (name: string) => new RegExp(`^\\s*${name} (\\S+)$`, 'm').exec(conf)![1]!;
    const prefix = /virtual_ipaddress \{\n\s*\S+\/(\d+)/.exec(conf)![1]!;
    return [
      'global_defs {',
      '    router_id LVS_DEVEL',
      '}',
      'vrrp_script check_apiserver {',
      `  script "${KEEPALIVED_CHECK_SCRIPT}"`,
      '  interval 3',
      '  weight -2',
      '  fall 10',
      '  rise 2',
      '}',
      '',
      'vrrp_instance VI_1 {',
      `    state ${index === 0 ? 'MASTER' : 'BACKUP'}`,
      `    interface ${field('interface')}`,
      `    virtual_router_id ${field('virtual_router_id')}`,
      `    priority ${index === 0 ? 101 : 100}`,
      '    authentication {',
      '        auth_type PASS',
      `        auth_pass ${field('auth_pass')}`,
      '    }',
      '    virtual_ipaddress {',
      `        ${vip}/${prefix}`,
      '    }',
      '    track_script {',
      '        check_apiserver',
      '    }',
      '}',
      '',
    ].join('\n');
  });
  const peer = await measure('peer (kubeadm HA guide keepalived.conf)');
  useKeepalivedConfs((cp) => ourConfs.get(cp)!);
  const ours = await measure('kubestrap');

  for (const how of ['keepalived stopped', 'powered off'] as const) {
    const medians = (results: Map<Kill, Outage[]>, key: keyof Outage) => median(results.get(how)!.map((o) => o[key]));
    const [ourFirst, peerFirst] = [medians(ours, 'firstOkMs'), medians(peer, 'firstOkMs')];
    const [ourSteady, peerSteady] = [medians(ours, 'steadyMs'), medians(peer, 'steadyMs')];
    console.log(
      `${how}, median of ${RUNS}: first ok through the VIP kubestrap ${ourFirst} ms, peer ${peerFirst} ms: ` +
        `ratio ${(ourFirst / peerFirst).toFixed(2)} (target ≤ 1; goal < 3000 ms); 10 ok in a row ` +
        `kubestrap ${ourSteady} ms, peer ${peerSteady} ms: ratio ${(ourSteady / peerSteady).toFixed(2)}`,
    );
  }
} finally {
  await pool.close();
  await mirror?.stop();
  await harness.stop();
  rmSync(work, { recursive: true, force: true });
}
