// Everything preflight needs from a host, gathered by one read-only script in one
// round trip, then parsed into plain data. Sections are `@@name` lines.
import { shellQuote } from '../../base/quote.js';
import { script } from '../../base/script.js';
import { KUBELET_CONF } from '../../templates/node-paths.js';

export const FACT_PATHS = ['/var/lib/etcd', '/var/lib/containerd', '/var/lib/kubelet', '/var/lib/rook'] as const;

export interface DiskFact {
  readonly name: string;
  readonly path: string;
  readonly sizeBytes: number;
  readonly type: string;
  readonly fstype: string | null;
  readonly mountpoint: string | null;
  readonly hasChildren: boolean;
}

export interface Facts {
  readonly os: { id: string; idLike: string[]; versionId: string; prettyName: string };
  readonly cpus: number;
  readonly memoryMiB: number;
  /** Per path: the filesystem that holds it (the path or its nearest existing parent). */
  readonly filesystems: Record<string, { sizeBytes: number; availBytes: number; usedPercent: number; mount: string }>;
  readonly swapOn: boolean;
  readonly selinux: 'enforcing' | 'permissive' | 'disabled' | 'absent';
  readonly firewalls: string[];
  /** Listening TCP/UDP ports with the owning process name when known. */
  readonly listening: { proto: 'tcp' | 'udp'; port: number; process: string }[];
  readonly timeSynced: boolean | null;
  readonly capabilities: { overlay: boolean; brNetfilter: boolean; canLoadModules: string[] };
  readonly addresses: string[];
  readonly resolves: boolean;
  readonly disks: DiskFact[];
  /**
   * The spec's disks' signatures as blkid probes them (TYPE, '' for none): lsblk's FSTYPE
   * comes from udev's database, which a host without udev or a disk written since lacks.
   */
  readonly signatures: Record<string, string>;
  /** The node already belongs to a cluster (it has a kubelet.conf). */
  readonly joined: boolean;
  /** A joined node's kubelet version (`kubelet --version`, without the v), when it answers. */
  readonly kubeletVersion: string | null;
}

export function factsScript(hostname: string, disks: readonly string[] = []): string {
  const paths = FACT_PATHS.map((p) => shellQuote(p)).join(' ');
  // A fact a host cannot give is left empty (`|| true`), never the end of the report.
  return `${script(
    'echo @@os; cat /etc/os-release 2>/dev/null || true',
    'echo @@cpus; nproc',
    "echo @@mem; grep -E '^MemTotal:' /proc/meminfo || true",
    'echo @@df',
    `for p in ${paths}; do`,
    '  q="$p"; while [ ! -e "$q" ]; do q=$(dirname "$q"); done',
    `  printf '%s ' "$p"; df -P -B1 "$q" | awk 'NR==2 { print $2, $4, $5, $6 }'`,
    'done',
    'echo @@swap; tail -n +2 /proc/swaps || true',
    'echo @@selinux; if command -v getenforce >/dev/null 2>&1; then getenforce; else echo absent; fi',
    'echo @@firewall',
    'for s in firewalld ufw nftables iptables; do systemctl is-active --quiet "$s" 2>/dev/null && echo "$s"; done',
    'echo @@listen; ss -Hlntup 2>/dev/null || true',
    'echo @@time; timedatectl show -p NTPSynchronized --value 2>/dev/null || echo unknown',
    'echo @@caps',
    'grep -qw overlay /proc/filesystems && echo overlay',
    '[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo br_netfilter',
    'for m in overlay br_netfilter; do modprobe -n "$m" >/dev/null 2>&1 && echo "loadable:$m"; done',
    "echo @@addr; ip -o -4 addr show | awk '{ print $4 }'",
    '# IPv4 only: an IPv6 miss in /etc/hosts falls through to DNS, which may be unreachable.',
    `echo @@resolve; getent ahostsv4 ${shellQuote(hostname)} >/dev/null && echo yes || echo no`,
    `echo @@joined; test -f ${KUBELET_CONF} && echo yes || echo no`,
    `echo @@kubelet; if test -f ${KUBELET_CONF}; then kubelet --version 2>/dev/null || true; fi`,
    "echo @@disks; lsblk -J -b -o NAME,PATH,SIZE,TYPE,FSTYPE,MOUNTPOINT 2>/dev/null || echo '{}'",
    'echo @@signatures',
    ...disks.map((d) => {
      const q = shellQuote(d);
      const type = `"$(blkid -c /dev/null -p -o value -s TYPE ${q} 2>/dev/null)"`;
      return `if [ -b ${q} ]; then printf '%s %s\\n' ${q} ${type}; fi`;
    }),
  )}\n`;
}

/** The `@@name` sections of a probe script's output (doctor's probe uses the same form). */
export function sections(output: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const header = /^@@(\w+)$/.exec(line);
    if (header) map.set(header[1]!, (current = []));
    else if (current && line.trim() !== '') current.push(line);
  }
  return map;
}

interface LsblkDevice {
  name: string;
  path?: string;
  size: number | string;
  type: string;
  fstype?: string | null;
  mountpoint?: string | null;
  children?: LsblkDevice[];
}

export function parseFacts(output: string): Facts {
  const s = sections(output);
  const get = (name: string) => s.get(name) ?? [];
  const osRelease = Object.fromEntries(
    get('os').map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1).replace(/^"|"$/g, '')];
    }),
  );
  const filesystems: Facts['filesystems'] = {};
  for (const line of get('df')) {
    const [path, size, avail, used, mount] = line.split(/\s+/);
    if (path && size)
      filesystems[path] = {
        sizeBytes: Number(size),
        availBytes: Number(avail),
        usedPercent: Number(String(used).replace('%', '')),
        mount: mount ?? '',
      };
  }
  const listening = get('listen').flatMap((line) => {
    const fields = line.trim().split(/\s+/);
    const proto = fields[0] === 'tcp' || fields[0] === 'udp' ? fields[0] : undefined;
    const port = Number((fields[4] ?? '').split(':').at(-1));
    const process = /users:\(\("([^"]+)"/.exec(line)?.[1] ?? '';
    return proto && port ? [{ proto, port, process } as const] : [];
  });
  const caps = get('caps');
  let disks: DiskFact[] = [];
  try {
    const tree = JSON.parse(get('disks').join('\n') || '{}') as { blockdevices?: LsblkDevice[] };
    disks = (tree.blockdevices ?? []).map((d) => ({
      name: d.name,
      path: d.path ?? `/dev/${d.name}`,
      sizeBytes: Number(d.size),
      type: d.type,
      fstype: d.fstype ?? null,
      mountpoint: d.mountpoint ?? null,
      hasChildren: (d.children ?? []).length > 0,
    }));
  } catch {
    disks = [];
  }
  const selinux = (get('selinux')[0] ?? 'absent').toLowerCase();
  const time = get('time')[0];
  return {
    os: {
      id: osRelease.ID ?? '',
      idLike: (osRelease.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
      versionId: osRelease.VERSION_ID ?? '',
      prettyName: osRelease.PRETTY_NAME ?? '',
    },
    cpus: Number(get('cpus')[0] ?? 0),
    memoryMiB: Math.floor(Number(/(\d+)/.exec(get('mem')[0] ?? '')?.[1] ?? 0) / 1024),
    filesystems,
    swapOn: get('swap').length > 0,
    selinux: selinux === 'enforcing' || selinux === 'permissive' || selinux === 'disabled' ? selinux : 'absent',
    firewalls: get('firewall'),
    listening,
    timeSynced: time === 'yes' ? true : time === 'no' ? false : null,
    capabilities: {
      overlay: caps.includes('overlay'),
      brNetfilter: caps.includes('br_netfilter'),
      canLoadModules: caps.filter((c) => c.startsWith('loadable:')).map((c) => c.slice('loadable:'.length)),
    },
    addresses: get('addr').map((a) => a.split('/')[0]!),
    resolves: get('resolve')[0] === 'yes',
    disks,
    signatures: Object.fromEntries(
      get('signatures').map((line) => {
        const [path = '', type = ''] = line.trim().split(/\s+/);
        return [path, type];
      }),
    ),
    joined: get('joined')[0] === 'yes',
    kubeletVersion: /^Kubernetes v(\S+)$/.exec(get('kubelet')[0] ?? '')?.[1] ?? null,
  };
}
