// Doctor's verdicts across nodes and from the API: clock skew between the nodes, and
// what kubectl reports (nodes, versions, pods). Pure: the operation gathers the inputs.
import type { ClusterModel } from '../../spec/model.js';
import { parseKubernetesVersion } from '../../spec/versions.js';
import type { DoctorCheck, DoctorStatus } from './check.js';
import { NAT_ADDRESS } from './host-checks.js';
import { ROOK_NAMESPACE } from '../../templates/rook.js';

/** etcd logs peers' clock difference above 1 s; a minute off breaks certificates' and tokens' validity windows. */
export const SKEW_WARN_MS = 1_000;
export const SKEW_FAIL_MS = 60_000;

export interface ClockReading {
  readonly node: string;
  /** The node's clock minus this machine's, at the midpoint of the round trip. */
  readonly offsetMs: number;
  /** Half the round trip: the reading is good to within this. */
  readonly uncertaintyMs: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Each node's clock against the median of the nodes' (from three nodes on, one node off
 * stands out), else against this machine's.
 */
export function clockChecks(readings: readonly ClockReading[]): DoctorCheck[] {
  const byNodes = readings.length >= 3;
  const reference = byNodes ? median(readings.map((r) => r.offsetMs)) : 0;
  const against = byNodes ? 'the other nodes' : 'this machine';
  return readings.map((r) => {
    const off = r.offsetMs - reference;
    const sure = Math.max(0, Math.abs(off) - r.uncertaintyMs);
    const status: DoctorStatus = sure > SKEW_FAIL_MS ? 'fail' : sure > SKEW_WARN_MS ? 'warn' : 'ok';
    const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
    return {
      scope: r.node,
      check: 'clock-skew',
      status,
      seen: `${off >= 0 ? '+' : '-'}${seconds(Math.abs(off))} against ${against} (±${seconds(r.uncertaintyMs)})`,
      fix:
        status === 'ok'
          ? ''
          : 'point every node at the same time server (chrony or systemd-timesyncd) and let it step the clock ' +
            '(chronyc makestep); a VM that slept drifts until then',
    };
  });
}

/** Every pod's namespace, name, phase, node and its containers' waiting reasons. */
export const PODS_JSONPATH =
  `'{range .items[*]}{.metadata.namespace}{"\\t"}{.metadata.name}{"\\t"}{.status.phase}{"\\t"}` +
  `{.spec.nodeName}{"\\t"}{.status.containerStatuses[*].state.waiting.reason}{"\\n"}{end}'`;

export interface NodeSeen {
  readonly ready: string;
  readonly version: string;
  readonly address: string;
}

/** Nodes as the API reports them (provisioners/verify.ts parseNodes), against the spec. */
export function nodeChecks(model: ClusterModel, seen: ReadonlyMap<string, NodeSeen>): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  for (const node of model.nodes) {
    const n = seen.get(node.hostname);
    const add = (status: DoctorStatus, text: string, fix: string) =>
      out.push({ scope: 'cluster', check: `node ${node.name}`, status, seen: text, fix: status === 'ok' ? '' : fix });
    if (!n) {
      add('fail', `${node.hostname} is not a node of the cluster`, 'kubestrap up joins it');
      continue;
    }
    if (n.address !== node.ip) {
      add(
        'fail',
        `registered with ${n.address || 'no address'}${n.address === NAT_ADDRESS ? ' (the NAT address)' : ''}; ` +
          `the spec says ${node.ip}`,
        `fix the kubelet's --node-ip on ${node.name} (doctor's node-ip check there says where it comes from)`,
      );
      continue;
    }
    add(
      n.ready === 'True' ? 'ok' : 'fail',
      `Ready=${n.ready || 'unknown'} ${n.version}`,
      `on ${node.name}: journalctl -u kubelet -n 50, and kubectl describe node ${node.hostname} for its conditions`,
    );
  }
  return out;
}

/** The kubelets against the control plane: none newer, none more than three minors behind (the skew policy). */
export function versionSkewCheck(model: ClusterModel, seen: ReadonlyMap<string, NodeSeen>): DoctorCheck {
  const versions = model.nodes.flatMap((node) => {
    const v = parseKubernetesVersion((seen.get(node.hostname)?.version ?? '').replace(/^v/, ''));
    return v ? [{ node, v }] : [];
  });
  const planes = versions.filter((x) => x.node.role === 'control-plane').map((x) => x.v.minor);
  const base = planes.length ? Math.min(...planes) : undefined;
  const ahead = base === undefined ? [] : versions.filter((x) => x.v.minor > base);
  const behind = base === undefined ? [] : versions.filter((x) => base - x.v.minor > 3);
  const distinct = [...new Set(versions.map((x) => x.v.text))];
  const status: DoctorStatus =
    ahead.length || behind.length ? 'fail' : distinct.length > 1 || !versions.length ? 'warn' : 'ok';
  const list = (xs: typeof versions) => xs.map((x) => `${x.node.name} ${x.v.text}`).join(', ');
  return {
    scope: 'cluster',
    check: 'version-skew',
    status,
    seen: !versions.length
      ? 'no kubelet versions reported'
      : ahead.length
        ? `newer than the control plane (1.${base}): ${list(ahead)}`
        : behind.length
          ? `more than three minors behind the control plane (1.${base}): ${list(behind)}`
          : `kubelets at ${distinct.join(', ')}`,
    fix: status === 'ok' ? '' : "kubestrap upgrade brings every node to the spec's version, one minor at a time",
  };
}

/** Each node's name and the types of its conditions that are True. */
export const CONDITIONS_JSONPATH =
  `'{range .items[*]}{.metadata.name}{"\\t"}` +
  `{range .status.conditions[?(@.status=="True")]}{.type}{","}{end}{"\\n"}{end}'`;

/** The kubelet's pressure conditions and the network's: any True fails (the kubelet is evicting or tainted). */
const BAD_CONDITIONS = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

export function conditionChecks(output: string): DoctorCheck {
  const bad = output
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      const [node = '', types = ''] = line.split('\t');
      const found = types.split(',').filter((t) => BAD_CONDITIONS.includes(t));
      return found.length ? [`${node}: ${found.join(', ')}`] : [];
    });
  return {
    scope: 'cluster',
    check: 'node-conditions',
    status: bad.length ? 'fail' : 'ok',
    seen: bad.length ? bad.join('; ') : `no node reports ${BAD_CONDITIONS.join(', ')}`,
    fix:
      'the host checks of that node (disk, inodes, memory) name the cause; ' +
      'kubectl describe node shows the condition',
  };
}

/** Every claim's namespace, name and phase. */
export const PVCS_JSONPATH =
  `'{range .items[*]}{.metadata.namespace}{"\\t"}{.metadata.name}{"\\t"}` + `{.status.phase}{"\\n"}{end}'`;

/** Claims that are not Bound warn: a Pending claim leaves its pod Pending too. */
export function pvcChecks(output: string): DoctorCheck {
  const pending = output
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'))
    .filter(([, , phase]) => phase !== 'Bound');
  return {
    scope: 'cluster',
    check: 'pvcs',
    status: pending.length ? 'warn' : 'ok',
    seen: pending.length
      ? pending
          .slice(0, 10)
          .map(([ns, name, phase]) => `${ns}/${name} ${phase || 'without a phase'}`)
          .join('; ') + (pending.length > 10 ? `; and ${pending.length - 10} more` : '')
      : 'every claim Bound',
    fix: 'kubectl describe pvc -n NAMESPACE NAME: its events say why (no StorageClass, Ceph not healthy, no OSD)',
  };
}

/** The CephCluster's "phase health" (CEPH_HEALTH_PROBE): HEALTH_WARN warns, anything but Ready HEALTH_OK else fails. */
export function cephCheck(output: string, code: number, statusCommand: string): DoctorCheck {
  const [phase = '', health = ''] = output.trim().split(/\s+/);
  const status: DoctorStatus =
    code === 0 && phase === 'Ready' && health === 'HEALTH_OK'
      ? 'ok'
      : code === 0 && phase === 'Ready' && health === 'HEALTH_WARN'
        ? 'warn'
        : 'fail';
  return {
    scope: 'cluster',
    check: 'ceph',
    status,
    seen: code === 0 ? `CephCluster ${phase || 'without a phase'} ${health || 'without health'}` : output.trim(),
    fix: status === 'ok' ? '' : `ceph health detail says why: ${statusCommand}`,
  };
}

interface PodSeen {
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly node: string;
  /** The containers' waiting reasons (CrashLoopBackOff, ImagePullBackOff…), comma-joined. */
  readonly reason: string;
}

function parsePods(output: string): PodSeen[] {
  return output
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [namespace = '', name = '', phase = '', node = '', reasons = ''] = line.split('\t');
      return { namespace, name, phase, node, reason: reasons.trim().split(/\s+/).filter(Boolean).join(',') };
    });
}

/** Running with no container waiting: a crash-looping pod's phase stays Running. */
const podUp = (p: PodSeen) => p.phase === 'Running' && !p.reason;

/**
 * Pods not Running or Succeeded, or Running with a container waiting (CrashLoopBackOff):
 * kube-system's fail (the cluster's own parts), the rest warn.
 */
export function podChecks(output: string): DoctorCheck[] {
  const stuck = parsePods(output).filter((p) => p.phase !== 'Succeeded' && !podUp(p));
  if (!stuck.length)
    return [{ scope: 'cluster', check: 'pods', status: 'ok', seen: 'every pod Running or Completed', fix: '' }];
  const system = stuck.filter((p) => p.namespace === 'kube-system');
  return [
    {
      scope: 'cluster',
      check: 'pods',
      status: system.length ? 'fail' : 'warn',
      seen:
        stuck
          .slice(0, 10)
          .map(
            (p) => `${p.namespace}/${p.name} ${p.phase}${p.reason ? ` (${p.reason})` : ''} on ${p.node || 'no node'}`,
          )
          .join('; ') + (stuck.length > 10 ? `; and ${stuck.length - 10} more` : ''),
      fix: 'kubectl describe pod -n NAMESPACE NAME shows its events; kubectl logs for a crashing one',
    },
  ];
}

/** Rook's OSD pods are rook-ceph-osd-<id>-<hash>; its prepare jobs' are rook-ceph-osd-prepare-<node>-<hash>. */
const OSD_POD = /^rook-ceph-osd-\d+-/;

/**
 * Each storage node's OSDs up against its disks in the spec (with a deviceFilter, at
 * least one): Rook makes one OSD per disk it takes, and skips a disk that is not whole,
 * empty and 5 GiB or more without failing anything, so a missing OSD shows nowhere else.
 */
export function osdChecks(model: ClusterModel, output: string): DoctorCheck[] {
  if (!model.rook.enabled) return [];
  const osds = parsePods(output).filter((p) => p.namespace === ROOK_NAMESPACE && OSD_POD.test(p.name));
  return model.nodes
    .filter((n) => n.storage)
    .map((node): DoctorCheck => {
      const mine = osds.filter((p) => p.node === node.hostname);
      const up = mine.filter(podUp);
      const down = mine.filter((p) => !podUp(p));
      const disks = node.disks.map((d) => d.device).join(', ');
      const want = model.rook.deviceFilter ? 1 : node.disks.length;
      const wanted = model.rook.deviceFilter
        ? `at least 1 (deviceFilter ${model.rook.deviceFilter})`
        : `${want} (${disks || 'no disks in the spec'})`;
      const downSeen = down.map((p) => `${p.name} ${p.reason || p.phase}`).join(', ');
      return {
        scope: node.name,
        check: 'ceph-osds',
        status: up.length >= want ? 'ok' : 'fail',
        seen:
          `${up.length} OSD${up.length === 1 ? '' : 's'} up, ${wanted} wanted` +
          (downSeen ? `; down: ${downSeen}` : ''),
        fix:
          up.length >= want
            ? ''
            : down.length
              ? `kubectl -n ${ROOK_NAMESPACE} logs ${down[0]!.name} --previous says why ceph-osd stops (a disk that ` +
                'failed, was removed or was overwritten); ceph osd tree in the toolbox shows it down'
              : `kubectl -n ${ROOK_NAMESPACE} logs -l app=rook-ceph-osd-prepare --all-containers says why a disk ` +
                'was skipped: Rook takes only whole, empty disks of 5 GiB or more; ' +
                `wipefs -a the disk on ${node.name}, then kubectl -n ${ROOK_NAMESPACE} rollout restart ` +
                'deploy/rook-ceph-operator',
      };
    });
}
