// `doctor`: read-only checks of every node in parallel, of the cluster through the API
// when it answers, and of this machine for Vagrant clusters. Nothing on a host changes:
// the probes only read (one script per node), and kubectl only gets. A host that does not
// answer, or an API that does not, is a finding, not the end of the report.
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { worst, type DoctorCheck, type DoctorStatus, type ServiceAnswer } from '../provisioners/doctor/check.js';
export { STATUS_ORDER } from '../provisioners/doctor/check.js';
import { CEPH_HEALTH_PROBE, CEPH_STATUS } from '../provisioners/rook.js';
import {
  cephCheck,
  clockChecks,
  conditionChecks,
  CONDITIONS_JSONPATH,
  nodeChecks,
  osdChecks,
  podChecks,
  PODS_JSONPATH,
  pvcChecks,
  PVCS_JSONPATH,
  versionSkewCheck,
  type ClockReading,
} from '../provisioners/doctor/cluster-checks.js';
import {
  clusterDnsIp,
  dnsAnswerComplete,
  dnsCheck,
  dnsQuery,
  DNS_PORT,
  DNS_TCP_MAX_BYTES,
  kubernetesServiceName,
} from '../provisioners/doctor/cluster-dns.js';
import { evaluateHost } from '../provisioners/doctor/host-checks.js';
import {
  WEAVE_STATUS_ADDRESS,
  WEAVE_STATUS_MAX_BYTES,
  WEAVE_STATUS_PORT,
  httpAnswerComplete,
  weaveCheck,
  weaveStatusRequest,
} from '../provisioners/doctor/weave-status.js';
import { doctorScript, parseDoctorFacts } from '../provisioners/doctor/host-facts.js';
import { ENDPOINT_STATUS_PROBE } from '../provisioners/endpoint.js';
import { KUBECTL } from '../provisioners/kubectl.js';
import { NODES_JSONPATH, parseNodes } from '../provisioners/verify.js';
import type { SshNodeHost } from '../provisioners/cluster-host.js';
import type { ClusterModel } from '../spec/model.js';
import { parseCidr } from '../spec/net.js';
import { managedEndpoint } from '../templates/endpoint.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import { allowedRanges, hostOnlyAllowed, VBOX_DEFAULT_RANGE, VBOX_NETWORKS_CONF } from '../vagrant/host-only.js';
import { virtualBoxPairing } from '../vagrant/requirements.js';
import { loadClusterSpec } from './cluster-spec.js';
import type { ClusterOptions, OperationContext } from './context.js';
import { clusterHosts, clusterPool } from './hosts.js';
import { endpointCell } from './status.js';
import { workDir } from './workdir.js';

/** Each probe's limit: a slow host never holds the report up longer than this. */
export const DOCTOR_HOST_TIMEOUT_MS = 20_000;
/** CoreDNS answers a cached name, and Weave its status page, in milliseconds; CoreDNS's own upstream timeout is 5 s. */
const SERVICE_TIMEOUT_MS = 5_000;

export interface DoctorResult {
  readonly cluster: string;
  /** The worst of all checks: the exit code follows it (ok 0, warn 3, fail 1). */
  readonly status: DoctorStatus;
  readonly checks: readonly DoctorCheck[];
}

export async function doctor(options: ClusterOptions, context: OperationContext): Promise<DoctorResult> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  const checks: DoctorCheck[] = [];
  let only: string[] | undefined;
  if (model.machines.provider !== 'existing') {
    const local = await localChecks(model, options.verbose ?? false, context.signal);
    checks.push(...local.checks);
    only = local.running;
  }
  const pool = clusterPool(model, options.file, { connectAttempts: 1, readyTimeoutMs: 10_000, signal: context.signal });
  try {
    const hosts = await clusterHosts(model, pool, options.verbose ?? false, only);
    const readings: ClockReading[] = [];
    const endpointRows: { node: string; text: string }[] = [];
    const reachable: SshNodeHost[] = [];
    const now = new Date();
    await Promise.all(
      hosts.map(async (host) => {
        try {
          const facts = await host.ssh.exec(doctorScript(model.os.family), {
            label: 'doctor probe',
            timeoutMs: DOCTOR_HOST_TIMEOUT_MS,
          });
          reachable.push(host);
          checks.push(...evaluateHost(parseDoctorFacts(facts.stdout), host.node, model, now));
          const t0 = Date.now();
          const date = await host.ssh.exec('date +%s%3N', { sudo: false, timeoutMs: 10_000 });
          const t1 = Date.now();
          const hostMs = Number(date.stdout.trim());
          if (Number.isFinite(hostMs))
            readings.push({ node: host.name, offsetMs: hostMs - (t0 + t1) / 2, uncertaintyMs: (t1 - t0) / 2 });
          if (managedEndpoint(model) && host.node.role === 'control-plane') {
            const probe = await host.ssh.exec(ENDPOINT_STATUS_PROBE, { check: false, timeoutMs: 10_000 });
            const cell = endpointCell(probe.stdout, model.kubernetes.endpoint.host);
            endpointRows.push({ node: host.name, text: cell.text });
            checks.push({
              scope: host.name,
              check: 'endpoint',
              status: cell.text.includes('not running') ? 'fail' : cell.degraded ? 'warn' : 'ok',
              seen: cell.text,
              fix:
                "systemctl status keepalived haproxy; a backend down is that control plane's API server " +
                '(crictl ps -a there)',
            });
          }
        } catch (error) {
          checks.push({
            scope: host.name,
            check: 'ssh',
            status: 'fail',
            seen: `unreachable: ${(error as Error).message.split('\n')[0]}`,
            fix: `is the machine up (kubestrap status), and does kubestrap ssh ${host.name} work?`,
          });
        }
      }),
    );
    for (const name of model.nodes.map((n) => n.name))
      if (!hosts.some((h) => h.name === name) && !checks.some((c) => c.scope === name))
        checks.push({
          scope: name,
          check: 'ssh',
          status: 'fail',
          seen: 'not checked: the machine is not running',
          fix: 'kubestrap up',
        });
    checks.push(...clockChecks(readings));
    if (managedEndpoint(model)) {
      const holders = endpointRows.filter((r) => r.text.startsWith('VIP holder')).map((r) => r.node);
      checks.push({
        scope: 'cluster',
        check: 'endpoint-vip',
        status: holders.length === 1 ? 'ok' : 'fail',
        seen: `${model.kubernetes.endpoint.host} held by ${holders.join(', ') || 'no control plane'}`,
        fix:
          holders.length > 1
            ? 'two holders: VRRP packets do not pass between them (firewall, or a different virtual_router_id)'
            : 'no holder: keepalived is down or its check script fails on every control plane ' +
              '(journalctl -u keepalived)',
      });
    }
    checks.push(...(await apiChecks(model, reachable)));
  } finally {
    await pool.close();
  }
  return { cluster: model.name, status: worst(checks.map((c) => c.status)), checks };
}

/** The cluster as the API reports it, asked through the first control plane that answers (the init node first). */
async function apiChecks(model: ClusterModel, reachable: readonly SshNodeHost[]): Promise<DoctorCheck[]> {
  const planes = reachable
    .filter((h) => h.node.role === 'control-plane')
    .sort((a, b) => Number(isInitNode(model, b.node)) - Number(isInitNode(model, a.node)));
  const tried: string[] = [];
  for (const plane of planes) {
    const nodes = await plane.ssh.exec(`${KUBECTL} get nodes -o jsonpath=${NODES_JSONPATH}`, {
      check: false,
      timeoutMs: DOCTOR_HOST_TIMEOUT_MS,
    });
    if (nodes.code !== 0) {
      tried.push(`${plane.name}: ${(nodes.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200)}`);
      continue;
    }
    const seen = parseNodes(nodes.stdout);
    const pods = await plane.ssh.exec(`${KUBECTL} get pods -A -o jsonpath=${PODS_JSONPATH}`, {
      check: false,
      timeoutMs: DOCTOR_HOST_TIMEOUT_MS,
    });
    const conditions = await plane.ssh.exec(`${KUBECTL} get nodes -o jsonpath=${CONDITIONS_JSONPATH}`, {
      check: false,
      timeoutMs: DOCTOR_HOST_TIMEOUT_MS,
    });
    const pvcs = await plane.ssh.exec(`${KUBECTL} get pvc -A -o jsonpath=${PVCS_JSONPATH}`, {
      check: false,
      timeoutMs: DOCTOR_HOST_TIMEOUT_MS,
    });
    const ceph = model.rook.enabled
      ? await plane.ssh.exec(CEPH_HEALTH_PROBE, { check: false, timeoutMs: DOCTOR_HOST_TIMEOUT_MS })
      : undefined;
    const id = randomInt(1, 0x10000);
    const dns = await ask(plane, clusterDnsIp(model), DNS_PORT, dnsQuery(kubernetesServiceName(model), id), {
      maxBytes: DNS_TCP_MAX_BYTES,
      complete: dnsAnswerComplete,
    });
    return [
      ...nodeChecks(model, seen),
      ...(conditions.code === 0 ? [conditionChecks(conditions.stdout)] : []),
      versionSkewCheck(model, seen),
      ...(pods.code === 0
        ? [...podChecks(pods.stdout), ...osdChecks(model, pods.stdout)]
        : [
            {
              scope: 'cluster',
              check: 'pods',
              status: 'fail' as const,
              seen: `kubectl get pods failed on ${plane.name}: ${pods.stderr.trim().split('\n').at(-1) ?? ''}`,
              fix: 'the API answered for nodes but not for pods: kubectl get pods -A on that node says why',
            },
          ]),
      pvcs.code === 0
        ? pvcChecks(pvcs.stdout)
        : {
            scope: 'cluster',
            check: 'pvcs',
            status: 'fail' as const,
            seen: `kubectl get pvc failed on ${plane.name}: ${pvcs.stderr.trim().split('\n').at(-1) ?? ''}`,
            fix: 'kubectl get pvc -A on that node says why',
          },
      ...(ceph ? [cephCheck(`${ceph.stdout}${ceph.code === 0 ? '' : ceph.stderr}`, ceph.code ?? -1, CEPH_STATUS)] : []),
      dnsCheck(model, plane.name, dns, id),
      ...(await Promise.all(reachable.map(async (host) => weaveCheck(model, host.node, await weaveStatus(host))))),
    ];
  }
  return [
    {
      scope: 'cluster',
      check: 'api',
      status: 'fail',
      seen: planes.length
        ? `the API server does not answer: ${tried.join('; ')}`
        : 'no control plane answered over SSH, so the API was not asked',
      fix:
        'on a control plane: crictl ps -a | grep kube-apiserver, crictl logs of it, and journalctl -u kubelet; ' +
        'the host checks above still apply',
    },
  ];
}

/** A page of the Weave router's status on the node's loopback (doctor, support-bundle). */
export async function weaveStatus(
  host: SshNodeHost,
  path: '/status' | '/status/connections' = '/status',
): Promise<ServiceAnswer> {
  return ask(host, WEAVE_STATUS_ADDRESS, WEAVE_STATUS_PORT, weaveStatusRequest(path), {
    maxBytes: WEAVE_STATUS_MAX_BYTES,
    complete: httpAnswerComplete,
  });
}

/** One request to a service the node reaches; a failure is an answer too, without the node's name (checks add it). */
async function ask(
  host: SshNodeHost,
  address: string,
  port: number,
  request: Buffer,
  limits: { readonly maxBytes: number; readonly complete: (answer: Buffer) => boolean },
): Promise<ServiceAnswer> {
  return host.ssh.exchange(address, port, request, { timeoutMs: SERVICE_TIMEOUT_MS, ...limits }).then(
    (answer) => ({ answer }),
    (error: Error) => ({ error: error.message.replace(`${host.name}: `, '') }),
  );
}

async function versionOf(command: string, args: string[], signal: AbortSignal): Promise<string | undefined> {
  const result = await execa(command, args, {
    reject: false,
    timeout: 30_000,
    cancelSignal: signal,
    env: { VAGRANT_CHECKPOINT_DISABLE: '1' },
  });
  return result.exitCode === 0 ? String(result.stdout) : undefined;
}

/** This machine, for Vagrant clusters: the Vagrant/VirtualBox pairing, the host-only range, the machines' state. */
async function localChecks(
  model: ClusterModel,
  verbose: boolean,
  signal: AbortSignal,
): Promise<{ checks: DoctorCheck[]; running: string[] }> {
  const checks: DoctorCheck[] = [];
  const add = (check: string, status: DoctorStatus, seen: string, fix = '') =>
    checks.push({ scope: 'local', check, status, seen, fix: status === 'ok' ? '' : fix });
  if (model.machines.provider === 'virtualbox') {
    const [vagrant, vbox] = await Promise.all([
      versionOf('vagrant', ['--version'], signal),
      versionOf('VBoxManage', ['--version'], signal),
    ]);
    const pairing = vagrant && vbox ? virtualBoxPairing(vagrant, vbox) : undefined;
    add(
      'vagrant-virtualbox',
      !vagrant || !vbox || pairing?.kind === 'refuse' ? 'fail' : pairing ? 'warn' : 'ok',
      !vagrant
        ? 'vagrant does not answer'
        : !vbox
          ? 'VBoxManage does not answer'
          : (pairing?.text ?? `${vagrant.trim()} with VirtualBox ${vbox.trim()}`),
      pairing?.text ?? 'install Vagrant and VirtualBox (kubestrap up lists what is missing)',
    );
    const network = parseCidr(model.machines.network);
    const conf = existsSync(VBOX_NETWORKS_CONF) ? readFileSync(VBOX_NETWORKS_CONF, 'utf8') : undefined;
    if (network.ok) {
      const ok = hostOnlyAllowed(network.cidr, allowedRanges(conf));
      add(
        'host-only-network',
        ok ? 'ok' : 'fail',
        `${model.machines.network} ${ok ? 'is' : 'is not'} within VirtualBox's allowed ranges ` +
          `(${conf === undefined ? `the default ${VBOX_DEFAULT_RANGE}` : VBOX_NETWORKS_CONF})`,
        `use addresses in ${VBOX_DEFAULT_RANGE}, or add "* ${model.machines.network}" to ${VBOX_NETWORKS_CONF}`,
      );
    }
  }
  const { vagrantDriver } = await import('./machines.js');
  const driver = vagrantDriver(model, verbose, signal);
  const states = driver.hasMachines() ? await driver.status() : [];
  const running: string[] = [];
  for (const node of model.nodes) {
    const state = states.find((s) => s.machine === node.name)?.state ?? 'not_created';
    if (state === 'running') running.push(node.name);
    add(
      `machine ${node.name}`,
      state === 'running' ? 'ok' : 'fail',
      state,
      state === 'not_created' ? 'kubestrap up creates it' : `kubestrap up starts it (vagrant reports ${state})`,
    );
  }
  for (const s of states)
    if (!model.nodes.some((n) => n.name === s.machine))
      add(
        `machine ${s.machine}`,
        'warn',
        `${s.state}, not in the spec`,
        `vagrant destroy ${s.machine} in ${workDir(model.name)} removes it`,
      );
  return { checks, running };
}
