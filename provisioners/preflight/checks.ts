// Preflight verdicts from facts: pure, so every threshold is unit-tested without a
// host. Failures block the run, warnings do not; `--ignore-preflight NAME` turns a
// named failure into a warning.
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import type { Facts } from './facts.js';

export type Verdict = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  readonly name: string;
  readonly verdict: Verdict;
  readonly detail: string;
}

/**
 * Failures --ignore-preflight cannot turn into warnings: going on would break the cluster,
 * not just run it below a recommendation.
 */
export const MANDATORY_CHECKS: ReadonlySet<string> = new Set(['kubernetes-version']);

/**
 * Two profiles, as peers.md advises: production thresholds for existing hosts (an
 * appliance), laptop-lab thresholds for Vagrant VMs with 20-40 GB disks.
 */
export interface Thresholds {
  readonly minFreeGiB: number; // kubelet/containerd: below this warns (lab) or fails (production)
  readonly freeFails: boolean;
  readonly rookMinFreeGiB: number;
  readonly maxUsedPercent: number; // above this fails: the kubelet evicts at 85 %
  readonly memoryWarnMiB: number;
}

export const THRESHOLDS: Record<'lab' | 'production', Thresholds> = {
  lab: { minFreeGiB: 10, freeFails: false, rookMinFreeGiB: 5, maxUsedPercent: 80, memoryWarnMiB: 2048 },
  production: { minFreeGiB: 30, freeFails: true, rookMinFreeGiB: 10, maxUsedPercent: 80, memoryWarnMiB: 8192 },
};

export function profileFor(model: ClusterModel): 'lab' | 'production' {
  return model.machines.provider === 'existing' ? 'production' : 'lab';
}

const SUPPORTED = {
  debian: {
    ids: ['debian', 'ubuntu'],
    versions: { debian: ['11', '12', '13'], ubuntu: ['22.04', '24.04'] } as Record<string, string[]>,
  },
  rhel: { ids: ['rhel', 'centos', 'rocky', 'almalinux', 'ol', 'fedora'], versions: {} as Record<string, string[]> },
};

/** The ports a node's role listens on (kubeadm's preflight Port-* checks); doctor checks them too. */
export const CONTROL_PLANE_PORTS = [6443, 2379, 2380, 10250, 10257, 10259];
export const WORKER_PORTS = [10250];
/** Our own components may hold the ports on a re-run; that is not a conflict. */
const OURS = new Set([
  'kube-apiserver',
  'etcd',
  'kubelet',
  'kube-controller',
  'kube-scheduler',
  'kube-proxy',
  'weaver',
  'weave-npc',
]);
const GiB = 1024 ** 3;

export function evaluate(facts: Facts, node: NodeModel, model: ClusterModel, thresholds: Thresholds): CheckResult[] {
  const out: CheckResult[] = [];
  const add = (name: string, verdict: Verdict, detail: string) => out.push({ name, verdict, detail });

  // OS family and version.
  const family = SUPPORTED[model.os.family];
  const ids = [facts.os.id, ...facts.os.idLike];
  if (!ids.some((id) => family.ids.includes(id) || (model.os.family === 'rhel' && id === 'rhel'))) {
    add(
      'os',
      'fail',
      `${facts.os.prettyName || facts.os.id || 'unknown OS'} is not ${model.os.family}-like, ` +
        `as the spec says (spec.os.family)`,
    );
  } else {
    const known = family.versions[facts.os.id];
    const major = facts.os.versionId.split('.')[0] ?? '';
    const tested =
      model.os.family === 'rhel' ? ['8', '9', '10'].includes(major) : (known?.includes(facts.os.versionId) ?? false);
    add('os', tested ? 'pass' : 'warn', `${facts.os.prettyName}${tested ? '' : ' (not a tested release)'}`);
  }

  // CPU and memory: kubeadm's own floor on control planes.
  const controlPlane = node.role === 'control-plane';
  if (controlPlane && facts.cpus < 2) add('cpu', 'fail', `${facts.cpus} CPU; kubeadm needs 2 on a control-plane node`);
  else add('cpu', 'pass', `${facts.cpus} CPU`);
  if (controlPlane && facts.memoryMiB < 1700)
    add('memory', 'fail', `${facts.memoryMiB} MiB; kubeadm needs 1700 MiB on a control-plane node`);
  else if (facts.memoryMiB < thresholds.memoryWarnMiB)
    add('memory', 'warn', `${facts.memoryMiB} MiB; ${thresholds.memoryWarnMiB} MiB or more recommended`);
  else add('memory', 'pass', `${facts.memoryMiB} MiB`);

  // Disk space where the cluster keeps its data.
  const paths = [
    '/var/lib/kubelet',
    '/var/lib/containerd',
    ...(controlPlane ? ['/var/lib/etcd'] : []),
    ...(node.storage ? ['/var/lib/rook'] : []),
  ];
  for (const path of paths) {
    const fs = facts.filesystems[path];
    const name = `disk:${path}`;
    if (!fs) {
      add(name, 'warn', 'could not measure');
      continue;
    }
    const free = fs.availBytes / GiB;
    const min =
      path === '/var/lib/rook' ? thresholds.rookMinFreeGiB : path === '/var/lib/etcd' ? 2 : thresholds.minFreeGiB;
    if (fs.usedPercent > thresholds.maxUsedPercent)
      add(
        name,
        'fail',
        `${fs.mount} is ${fs.usedPercent}% full; ` +
          `above ${thresholds.maxUsedPercent}% the kubelet soon evicts pods (85%)`,
      );
    else if (free < min)
      add(
        name,
        path === '/var/lib/rook' || thresholds.freeFails ? 'fail' : 'warn',
        `${free.toFixed(1)} GiB free on ${fs.mount}; ${min} GiB wanted`,
      );
    else add(name, 'pass', `${free.toFixed(1)} GiB free on ${fs.mount}`);
  }

  // Rook needs every disk the spec names: whole, raw, unpartitioned, >= 5 GiB. On a node
  // already in the cluster the disk is its OSD by now (ceph-volume's raw mode writes a
  // BlueStore label at its start): that is the disk in use as meant, not a conflict.
  if (node.storage) {
    for (const disk of node.disks) {
      const lsblk = facts.disks.find((d) => d.path === disk.device || `/dev/${d.name}` === disk.device);
      const found = lsblk && { ...lsblk, fstype: facts.signatures[disk.device] || lsblk.fstype };
      const name = `rook-disk:${disk.device}`;
      if (!found)
        add(
          name,
          'fail',
          `${disk.device} does not exist on this host; ` +
            `lsblk shows ${facts.disks.map((d) => d.path).join(', ') || 'no disks'}`,
        );
      else if (found.type !== 'disk') add(name, 'fail', `${disk.device} is a ${found.type}, not a whole disk`);
      else if (found.fstype === 'ceph_bluestore' && !found.hasChildren && !found.mountpoint)
        add(
          name,
          facts.joined ? 'pass' : 'fail',
          facts.joined
            ? `${disk.device}: a Ceph OSD already (BlueStore label), on a node in the cluster`
            : `${disk.device} holds a Ceph OSD of an earlier cluster (BlueStore label); Rook skips it — ` +
                '`kubestrap reset` wipes the disks the spec names, or wipefs -a it if its data is not needed',
        );
      else if (found.hasChildren || found.fstype || found.mountpoint)
        add(
          name,
          'fail',
          `${disk.device} is not raw ` +
            `(${found.hasChildren ? 'partitioned' : found.fstype ? `has a ${found.fstype} filesystem` : 'mounted'}); ` +
            `Rook only uses empty disks — wipe it (wipefs -a) if its data is not needed`,
        );
      else if (found.sizeBytes < 5 * GiB)
        add(name, 'fail', `${disk.device} is ${(found.sizeBytes / GiB).toFixed(1)} GiB; Rook needs 5 GiB or more`);
      else add(name, 'pass', `${disk.device}: ${(found.sizeBytes / GiB).toFixed(0)} GiB, raw`);
    }
  }

  add(
    'swap',
    facts.swapOn ? 'warn' : 'pass',
    facts.swapOn ? 'swap is on; host prep turns it off now and at boot' : 'off',
  );
  add(
    'selinux',
    facts.selinux === 'enforcing' ? 'warn' : 'pass',
    facts.selinux === 'enforcing' ? 'enforcing; host prep sets it to permissive' : facts.selinux,
  );
  add(
    'firewall',
    facts.firewalls.length ? 'warn' : 'pass',
    facts.firewalls.length
      ? `${facts.firewalls.join(', ')} active; host prep opens the cluster's ports`
      : 'none active',
  );

  const wanted = [
    ...(controlPlane ? CONTROL_PLANE_PORTS : WORKER_PORTS).map((port) => ({ proto: 'tcp' as const, port })),
    { proto: 'tcp' as const, port: 6783 },
    { proto: 'udp' as const, port: 6783 },
    { proto: 'udp' as const, port: 6784 },
  ];
  const taken = wanted.flatMap((w) => {
    const holder = facts.listening.find((l) => l.proto === w.proto && l.port === w.port);
    return holder && !OURS.has(holder.process) ? [`${w.proto}/${w.port} (${holder.process || 'unknown process'})`] : [];
  });
  if (facts.joined) add('ports', 'pass', 'node already in the cluster; its components hold the ports');
  else
    add(
      'ports',
      taken.length ? 'fail' : 'pass',
      taken.length ? `in use: ${taken.join(', ')}` : `${wanted.map((w) => `${w.proto}/${w.port}`).join(' ')} free`,
    );

  add(
    'time-sync',
    facts.timeSynced === true ? 'pass' : 'warn',
    facts.timeSynced === true
      ? 'synchronised'
      : facts.timeSynced === false
        ? 'clock not synchronised; host prep enables time sync (certificates need agreeing clocks)'
        : 'cannot tell (no timedatectl)',
  );

  const missing = [
    ...(facts.capabilities.overlay || facts.capabilities.canLoadModules.includes('overlay') ? [] : ['overlay']),
    ...(facts.capabilities.brNetfilter || facts.capabilities.canLoadModules.includes('br_netfilter')
      ? []
      : ['br_netfilter']),
  ];
  add(
    'kernel-modules',
    missing.length ? 'fail' : 'pass',
    missing.length
      ? `cannot load ${missing.join(', ')}; install the kernel's extra modules package`
      : 'overlay, br_netfilter available',
  );

  add(
    'private-ip',
    facts.addresses.includes(node.ip) ? 'pass' : 'fail',
    facts.addresses.includes(node.ip)
      ? `${node.ip} present`
      : `${node.ip} is on no interface (found ${facts.addresses.join(', ')}); check the private network`,
  );
  add(
    'hostname',
    facts.resolves ? 'pass' : 'warn',
    facts.resolves
      ? `${node.hostname} resolves`
      : `${node.hostname} does not resolve yet; host prep adds it to /etc/hosts`,
  );

  // up installs the spec's packages: on a node already in the cluster at another version
  // that would upgrade its kubelet ahead of the control plane (or downgrade it), which the
  // version skew policy forbids. Changing a running cluster's version is upgrade's job.
  const spec = model.kubernetes.version.text;
  if (facts.joined && facts.kubeletVersion !== null && facts.kubeletVersion !== spec)
    add(
      'kubernetes-version',
      'fail',
      `this node runs Kubernetes ${facts.kubeletVersion} and the spec says ${spec}: up never changes the ` +
        `version of a running cluster; run kubestrap upgrade, or set spec.kubernetes.version back to ` +
        facts.kubeletVersion,
    );
  else if (facts.joined)
    add('kubernetes-version', 'pass', `node in the cluster at ${facts.kubeletVersion ?? 'an unknown version'}`);
  return out;
}

/** Applies --ignore-preflight: an ignored failure is reported as a warning, unless it is mandatory. */
export function applyIgnores(results: readonly CheckResult[], ignore: readonly string[]): CheckResult[] {
  return results.map((r) =>
    r.verdict === 'fail' &&
    !MANDATORY_CHECKS.has(r.name) &&
    ignore.some((name) => r.name === name || r.name.startsWith(`${name}:`))
      ? { ...r, verdict: 'warn', detail: `${r.detail} (ignored)` }
      : r,
  );
}
