// Doctor's verdicts on one node from its facts: pure, so every threshold and fix is
// unit-tested without a host.
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import { SYSCTLS } from '../../templates/host-files.js';
import { KUBELET_CLIENT_PEM, missingModules, type DoctorFacts, type FilesystemFact } from './host-facts.js';
import { below, describeThreshold, kubeletThresholds } from './kubelet-thresholds.js';
import { worst, type DoctorCheck, type DoctorStatus } from './check.js';
import { CONTROL_PLANE_PORTS, WORKER_PORTS } from '../preflight/checks.js';

/** VirtualBox's and libvirt's user-mode NAT give every guest this address (kubeadm #593, k0sctl #178). */
export const NAT_ADDRESS = '10.0.2.15';
const GiB = 1024 ** 3;
const DAY_MS = 86_400_000;
/** Certificates expiring sooner than these many days warn, then fail. */
export const CERT_WARN_DAYS = 30;
export const CERT_FAIL_DAYS = 7;
/** Above this use a filesystem the kubelet does not manage warns. */
const GENERIC_USED_PERCENT = 85;
/** The storage checklist's floor for etcd's filesystem. */
const ETCD_MIN_FREE_BYTES = GiB;
const PORT_OWNERS: Record<number, string> = {
  6443: 'kube-apiserver',
  2379: 'etcd',
  2380: 'etcd peers',
  10250: 'kubelet',
  10257: 'kube-controller-manager',
  10259: 'kube-scheduler',
};

function size(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/** "chronyc Not synchronised" or "timedatectl no", said as the tool says it. */
function timeAnswer(source: string): string {
  const [tool, ...said] = source.split(' ');
  return tool === 'chronyc'
    ? `chronyc tracking: leap status ${said.join(' ')}`
    : `timedatectl NTPSynchronized=${said.join(' ')}`;
}

export function evaluateHost(facts: DoctorFacts, node: NodeModel, model: ClusterModel, now: Date): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const add = (check: string, status: DoctorStatus, seen: string, fix = '') =>
    out.push({ scope: node.name, check, status, seen, fix: status === 'ok' ? '' : fix });
  const controlPlane = node.role === 'control-plane';
  const thresholds = kubeletThresholds(facts.kubeletConfig);
  const applied = `thresholds: ${thresholds.source}`;

  // Disks: one row per filesystem, naming the checked paths it holds.
  const byPath = new Map(facts.filesystems.map((f) => [f.path, f]));
  const nodefs = byPath.get('/var/lib/kubelet')?.mount;
  const imagefs = byPath.get('/var/lib/containerd')?.mount;
  const mounts = new Map<string, FilesystemFact[]>();
  for (const f of facts.filesystems) {
    if (f.path === '/var/lib/etcd' && !controlPlane) continue;
    mounts.set(f.mount, [...(mounts.get(f.mount) ?? []), f]);
  }
  for (const [mount, facts_] of mounts) {
    const f = facts_[0]!;
    const paths = facts_.map((x) => x.path).join(', ');
    const roles = [mount === nodefs ? 'nodefs' : '', mount === imagefs ? 'imagefs' : ''].filter(Boolean);
    const usage = `${f.usedPercent}% used, ${size(f.availBytes)} free of ${size(f.sizeBytes)} (holds ${paths})`;
    const fix =
      `free space on ${mount}: crictl rmi --prune removes unused images, journalctl --vacuum-size=200M ` +
      `trims journals; or grow the filesystem`;
    const problems: [DoctorStatus, string][] = [];
    if (mount === imagefs && below(thresholds.imagefsAvailable, f.availBytes, f.sizeBytes))
      problems.push([
        'fail',
        `below imagefs.available ${describeThreshold(thresholds.imagefsAvailable)} free: the kubelet evicts pods`,
      ]);
    if (mount === nodefs && below(thresholds.nodefsAvailable, f.availBytes, f.sizeBytes))
      problems.push([
        'fail',
        `below nodefs.available ${describeThreshold(thresholds.nodefsAvailable)} free: the kubelet evicts pods`,
      ]);
    if (mount === imagefs && f.usedPercent >= thresholds.imageGcHighPercent)
      problems.push([
        'warn',
        `at or above imageGCHighThresholdPercent ${thresholds.imageGcHighPercent}%: the kubelet removes images`,
      ]);
    if (!roles.length && f.usedPercent >= GENERIC_USED_PERCENT)
      problems.push(['warn', `above ${GENERIC_USED_PERCENT}% used`]);
    if (controlPlane && facts_.some((x) => x.path === '/var/lib/etcd') && f.availBytes < ETCD_MIN_FREE_BYTES)
      problems.push(['warn', `etcd needs at least ${size(ETCD_MIN_FREE_BYTES)} free`]);
    const status = worst(problems.map(([s]) => s));
    add(
      `disk ${mount}`,
      status,
      `${usage}${problems.map(([, p]) => `; ${p}`).join('')} (${[...roles, applied].join(', ')})`,
      fix,
    );

    const inodeFloor = mount === imagefs ? thresholds.imagefsInodesFree : thresholds.nodefsInodesFree;
    if (f.inodes > 0) {
      const low = (mount === imagefs || mount === nodefs) && below(inodeFloor, f.inodesFree, f.inodes);
      const usedPercent = Math.round(((f.inodes - f.inodesFree) / f.inodes) * 100);
      add(
        `inodes ${mount}`,
        low ? 'fail' : usedPercent >= GENERIC_USED_PERCENT ? 'warn' : 'ok',
        `${usedPercent}% of ${f.inodes} inodes used` +
          (low ? `; below ${describeThreshold(inodeFloor)} free: the kubelet evicts pods` : ''),
        `find what holds many small files on ${mount} (du --inodes -x ${mount} | sort -n | tail) and remove it`,
      );
    }
  }

  const { totalKiB, availableKiB } = facts.memory;
  const availBytes = availableKiB * 1024;
  add(
    'memory',
    below(thresholds.memoryAvailable, availBytes, totalKiB * 1024)
      ? 'fail'
      : totalKiB > 0 && availableKiB / totalKiB < 0.1
        ? 'warn'
        : 'ok',
    `${size(availBytes)} available of ${size(totalKiB * 1024)} (eviction below ` +
      `${describeThreshold(thresholds.memoryAvailable)}, ${applied})`,
    'find the largest consumers (ps aux --sort=-rss | head) or give the node more memory',
  );
  const swapAllowed = facts.kubeletConfig?.failSwapOn === false;
  add(
    'swap',
    facts.swapOn && !swapAllowed ? 'fail' : 'ok',
    facts.swapOn ? `swap is on${swapAllowed ? ' (the kubelet allows it: failSwapOn false)' : ''}` : 'swap is off',
    'swapoff -a and comment the swap lines of /etc/fstab out (kubestrap up does both)',
  );
  add(
    'time-sync',
    facts.timeSynced === true ? 'ok' : 'warn',
    facts.timeSynced === true
      ? `the clock is synchronised (${timeAnswer(facts.timeSource)})`
      : facts.timeSynced === false
        ? `the clock is not synchronised (${timeAnswer(facts.timeSource)})`
        : 'cannot tell: neither timedatectl nor chronyc answered',
    'run a time service against your time server: chrony (chronyc sources) or systemd-timesyncd ' +
      '(timedatectl timesync-status)',
  );

  for (const [name, service] of Object.entries(facts.services)) {
    const errors = service.errors.length ? `; last errors: ${service.errors.slice(-3).join(' | ')}` : '';
    add(
      name,
      service.state === 'active' ? 'ok' : 'fail',
      `${service.state}${service.state === 'active' ? '' : errors}`,
      `systemctl restart ${name}; journalctl -u ${name} -n 50 shows why it stopped`,
    );
  }

  const ip = facts.nodeIp;
  const ipFix =
    `set --node-ip=${node.ip} in /var/lib/kubelet/kubeadm-flags.env (and not in KUBELET_EXTRA_ARGS), ` +
    'then systemctl restart kubelet';
  add(
    'node-ip',
    ip === node.ip ? 'ok' : ip === null && model.machines.provider === 'existing' ? 'warn' : 'fail',
    ip === null
      ? `the kubelet has no --node-ip: it takes the default route's address` +
          (model.machines.provider === 'existing' ? '' : `, on Vagrant the NAT address ${NAT_ADDRESS}`)
      : ip === NAT_ADDRESS
        ? `--node-ip=${ip} is the NAT address every VM has; the spec says ${node.ip}`
        : `--node-ip=${ip}${ip === node.ip ? '' : `; the spec says ${node.ip}`}`,
    ipFix,
  );

  const missing = missingModules(facts);
  add(
    'kernel-modules',
    missing.length ? 'fail' : 'ok',
    missing.length ? `not loaded: ${missing.join(', ')}` : 'overlay and br_netfilter loaded',
    `modprobe ${missing.join(' ')} now; kubestrap up loads them again and keeps them loaded at boot`,
  );
  const wrong = SYSCTLS.filter(([key, value]) => facts.sysctls[key] !== value).map(
    ([key, value]) => `${key} = ${facts.sysctls[key] ?? 'absent'} (want ${value})`,
  );
  add(
    'sysctls',
    wrong.length ? 'fail' : 'ok',
    wrong.length ? wrong.join('; ') : SYSCTLS.map(([k, v]) => `${k} = ${v}`).join('; '),
    'sysctl --system re-reads /etc/sysctl.d (with br_netfilter loaded first); kubestrap up does both',
  );

  const expiring = facts.certificates
    .map((c) => ({ ...c, days: Math.floor((c.notAfter.getTime() - now.getTime()) / DAY_MS) }))
    .filter((c) => c.days < CERT_WARN_DAYS)
    .sort((a, b) => a.days - b.days);
  const certStatus: DoctorStatus = facts.certificateErrors.length
    ? 'fail'
    : expiring.some((c) => c.days < CERT_FAIL_DAYS)
      ? 'fail'
      : expiring.length || !facts.certificates.length
        ? 'warn'
        : 'ok';
  const soonest = [...facts.certificates].sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())[0];
  const kubeletOnly = expiring.length > 0 && expiring.every((c) => c.path === KUBELET_CLIENT_PEM);
  add(
    'certificates',
    certStatus,
    [
      ...expiring.map((c) => `${c.path} ${c.days < 0 ? `expired ${-c.days} days ago` : `expires in ${c.days} days`}`),
      ...facts.certificateErrors,
      ...(expiring.length || facts.certificateErrors.length
        ? []
        : [
            soonest
              ? `${facts.certificates.length} certificates; the first to expire, ${soonest.path}, in ` +
                `${Math.floor((soonest.notAfter.getTime() - now.getTime()) / DAY_MS)} days`
              : 'no certificates found',
          ]),
    ].join('; '),
    kubeletOnly
      ? 'the kubelet renews its client certificate itself: its journal says why it has not (journalctl -u kubelet)'
      : 'kubeadm certs renew all on this node, then restart the control-plane static pods ' +
          '(kubeadm certs check-expiration lists them all)',
  );

  const want = controlPlane ? CONTROL_PLANE_PORTS : WORKER_PORTS;
  const closed = want.filter((p) => !facts.listening.includes(p));
  add(
    'ports',
    closed.length ? 'fail' : 'ok',
    closed.length
      ? `not listening: ${closed.map((p) => `${p} (${PORT_OWNERS[p] ?? 'unknown'})`).join(', ')}`
      : `listening: ${want.join(', ')}`,
    'crictl ps -a shows whether the component runs; crictl logs <id> and journalctl -u kubelet say why not',
  );
  return out;
}
