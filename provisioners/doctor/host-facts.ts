// What doctor needs from a node, gathered by one read-only script in one round trip and
// parsed into plain data. The host is not trusted: every section is bounded on the host
// (head -c, -n) and parsed defensively here; a section a host cannot give stays empty.
import { X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { shellQuote } from '../../base/quote.js';
import { script } from '../../base/script.js';
import type { ClusterModel } from '../../spec/model.js';
import { KERNEL_MODULES, SYSCTLS } from '../../templates/host-files.js';
import { KUBELET_DEFAULTS, KUBERNETES_DIR, PKI_DIR } from '../../templates/node-paths.js';
import { sections } from '../preflight/facts.js';

/** The paths whose filesystems doctor checks: the root, the image store, etcd's data, the kubelet's. */
export const DOCTOR_PATHS = ['/', '/var/lib/containerd', '/var/lib/etcd', '/var/lib/kubelet'] as const;
export const KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';
export const KUBEADM_FLAGS = '/var/lib/kubelet/kubeadm-flags.env';
/** The kubelet's rotated client certificate and key in one file: only its CERTIFICATE blocks are read. */
export const KUBELET_CLIENT_PEM = '/var/lib/kubelet/pki/kubelet-client-current.pem';
/** kubeconfigs with an embedded client certificate (kubeadm's certs check-expiration lists them). */
const KUBECONFIGS = ['admin.conf', 'super-admin.conf', 'controller-manager.conf', 'scheduler.conf'].map(
  (f) => `${KUBERNETES_DIR}/${f}`,
);
const SERVICES = ['containerd', 'kubelet'] as const;
/** Bytes of a journal's last error lines kept per service. */
const JOURNAL_BYTES = 2000;

export interface FilesystemFact {
  /** The path asked about, and the existing path measured (the path or its nearest parent). */
  readonly path: string;
  readonly mount: string;
  readonly sizeBytes: number;
  readonly availBytes: number;
  readonly usedPercent: number;
  readonly inodes: number;
  readonly inodesFree: number;
}

export interface CertificateFact {
  readonly path: string;
  readonly subject: string;
  readonly notAfter: Date;
}

export interface DoctorFacts {
  readonly filesystems: readonly FilesystemFact[];
  readonly memory: { readonly totalKiB: number; readonly availableKiB: number };
  readonly swapOn: boolean;
  /** chronyd's leap status, or else timedatectl's NTPSynchronized; null when neither answers. */
  readonly timeSynced: boolean | null;
  /** Who answered and what it said, as "chronyc Normal" or "timedatectl no". */
  readonly timeSource: string;
  readonly services: Record<(typeof SERVICES)[number], { readonly state: string; readonly errors: string[] }>;
  /** The kubelet's config file, parsed; null when absent or unreadable. */
  readonly kubeletConfig: Record<string, unknown> | null;
  /** --node-ip as the kubelet gets it: the last of kubeadm's flags and the administrator's. */
  readonly nodeIp: string | null;
  /** Loaded modules, and overlay/br_netfilter when built in. */
  readonly modules: readonly string[];
  readonly sysctls: Record<string, string>;
  readonly certificates: readonly CertificateFact[];
  /** Problems reading certificates (a file that is not PEM): named, never thrown. */
  readonly certificateErrors: readonly string[];
  readonly listening: readonly number[];
}

/** A loop over a /proc file, skipped when the file is not there (a failed redirection would end the script). */
function readProc(file: string, loop: string): string[] {
  return [`if [ -r ${file} ]; then`, `  ${loop} < ${file}`, 'fi'];
}

// Few processes per run: doctor probes every node at once, and on a small lab the nodes
// share the laptop's cores, so the probe's cost is paid once per node. Shell builtins
// read /proc; one df, one awk per kind of certificate file; the rest is parsed here.
export function doctorScript(family: ClusterModel['os']['family']): string {
  const paths = DOCTOR_PATHS.map(shellQuote).join(' ');
  const services = SERVICES.join(' ');
  const kubeconfigs = KUBECONFIGS.map(shellQuote).join(' ');
  return `${script(
    // The nearest existing parent stands for a path that is not there (yet).
    'echo @@df_paths; set --',
    `for p in ${paths}; do`,
    '  q="$p"; while [ ! -e "$q" ]; do q="\${q%/*}"; q="\${q:-/}"; done',
    '  echo "$p $q"; set -- "$@" "$q"',
    'done',
    'echo @@df; df -B1 --output=file,size,avail,pcent,itotal,iavail,target "$@" 2>/dev/null || true',
    'echo @@mem',
    ...readProc(
      '/proc/meminfo',
      'while read -r k v _; do case "$k" in MemTotal:|MemAvailable:) echo "$k $v" ;; esac; done',
    ),
    'echo @@swap',
    ...readProc('/proc/swaps', '{ read -r _ || true; while read -r l; do echo "$l"; done; }'),
    // The time daemon first: chronyd knows whether it follows a server. timedatectl reads
    // the kernel's flag, which a container may not be allowed to read (nspawn's seccomp).
    'echo @@time',
    "t=$(chronyc -n tracking 2>/dev/null | sed -n 's/^Leap status *: *//p') || true",
    'if [ -n "$t" ]; then echo "chronyc $t"; else',
    '  printf \'timedatectl %s\\n\' "$(timedatectl show -p NTPSynchronized --value 2>/dev/null || true)"',
    'fi',
    // One line per unit, in the order asked.
    `echo @@services; systemctl is-active ${services} 2>/dev/null || true`,
    ...SERVICES.flatMap((s) => [
      `echo @@journal_${s}`,
      `journalctl -u ${s} -p err -n 3 --no-pager -o cat --since -24h 2>/dev/null | tail -c ${JOURNAL_BYTES} || true`,
    ]),
    `echo @@kubelet_config; head -c 65536 ${KUBELET_CONFIG} 2>/dev/null || true`,
    `echo @@kubelet_flags; head -q -c 16384 ${KUBEADM_FLAGS} ${KUBELET_DEFAULTS[family]} 2>/dev/null || true`,
    // Loaded or built in: a built-in module is not in /proc/modules, but what it provides
    // shows (overlay's filesystem, br_netfilter's bridge sysctls).
    'echo @@modules',
    ...readProc(
      '/proc/modules',
      `while read -r m _; do case "$m" in ${KERNEL_MODULES.join('|')}) echo "$m" ;; esac; done`,
    ),
    ...readProc('/proc/filesystems', 'while read -r a b; do if [ "\${b:-$a}" = overlay ]; then echo overlay; fi; done'),
    'if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then echo br_netfilter; fi',
    'echo @@sysctl',
    ...SYSCTLS.map(([k]) => {
      const file = shellQuote(`/proc/sys/${k.replace(/\./g, '/')}`);
      // dash's read returns 1 on /proc/sys files (no newline before EOF) yet sets v.
      return `v=; if [ -r ${file} ]; then read -r v < ${file} || true; fi; echo ${shellQuote(k)} "\${v:-absent}"`;
    }),
    // Only certificates leave the host: of the kubelet's PEM (certificate and key) only
    // CERTIFICATE blocks; kubeconfigs' client-certificate-data, still base64.
    'echo @@certs; set --',
    `for f in ${PKI_DIR}/*.crt ${PKI_DIR}/etcd/*.crt ${KUBELET_CLIENT_PEM}; do`,
    '  if [ -f "$f" ]; then set -- "$@" "$f"; fi',
    'done',
    `[ $# -eq 0 ] || awk -v pem=${KUBELET_CLIENT_PEM} '`,
    '  FNR == 1 { n = 0; keep = FILENAME != pem; print "@cert " FILENAME }',
    '  FILENAME == pem && /-BEGIN CERTIFICATE-/ { keep = 1 }',
    '  keep && (n += length($0) + 1) <= 16384 { print }',
    '  FILENAME == pem && /-END CERTIFICATE-/ { keep = 0 }\' "$@" || true',
    'set --',
    `for f in ${kubeconfigs}; do if [ -f "$f" ]; then set -- "$@" "$f"; fi; done`,
    '[ $# -eq 0 ] || awk \'$1 == "client-certificate-data:" && !seen[FILENAME]++ {',
    '  print "@cert64 " FILENAME; print substr($2, 1, 24000) }\' "$@" || true',
    'echo @@listen; ss -Hltn 2>/dev/null || true',
  )}\n`;
}

function numberOr(text: string | undefined, fallback = 0): number {
  const n = Number(text);
  return Number.isFinite(n) ? n : fallback;
}

function parseKubeletConfig(lines: readonly string[]): Record<string, unknown> | null {
  if (!lines.length) return null;
  try {
    const doc: unknown = parseYaml(lines.join('\n'), { maxAliasCount: 10 });
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The kubelet takes the last of a repeated flag: kubeadm's flags come first, the administrator's after. */
function nodeIpOf(lines: readonly string[]): string | null {
  let ip: string | null = null;
  for (const line of lines) for (const m of line.matchAll(/--node-ip[= ]([0-9a-fA-F.:,]+)/g)) ip = m[1]!;
  return ip;
}

function parseCertificates(lines: readonly string[]): { certs: CertificateFact[]; errors: string[] } {
  const certs: CertificateFact[] = [];
  const errors: string[] = [];
  const files: { path: string; base64: boolean; text: string[] }[] = [];
  for (const line of lines) {
    const header = /^@cert(64)? (\S+)$/.exec(line);
    if (header) files.push({ path: header[2]!, base64: header[1] !== undefined, text: [] });
    else files.at(-1)?.text.push(line);
  }
  for (const file of files) {
    const text = file.base64 ? Buffer.from(file.text.join(''), 'base64').toString('latin1') : file.text.join('\n');
    // A bundle file holds several certificates; the first is the leaf kubeadm issued.
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
    if (!pem) {
      errors.push(`${file.path}: no certificate`);
      continue;
    }
    try {
      const cert = new X509Certificate(pem);
      certs.push({ path: file.path, subject: cert.subject.replace(/\n/g, ', '), notAfter: new Date(cert.validTo) });
    } catch (error) {
      errors.push(`${file.path}: ${(error as Error).message}`);
    }
  }
  return { certs, errors };
}

export function parseDoctorFacts(output: string): DoctorFacts {
  const s = sections(output);
  const get = (name: string) => s.get(name) ?? [];
  // df's rows by the file measured (its --output=file column); the mount point is last and may hold spaces.
  const rows = new Map<string, string[]>();
  for (const line of get('df').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 7) rows.set(fields[0]!, fields);
  }
  const filesystems = get('df_paths').flatMap((line): FilesystemFact[] => {
    const [path, measured] = line.trim().split(/\s+/);
    const row = measured === undefined ? undefined : rows.get(measured);
    if (!path || !row) return [];
    const [, size, avail, used, inodes, ifree, ...mount] = row;
    return [
      {
        path,
        mount: mount.join(' '),
        sizeBytes: numberOr(size),
        availBytes: numberOr(avail),
        usedPercent: numberOr(String(used).replace('%', '')),
        inodes: numberOr(inodes),
        inodesFree: numberOr(ifree),
      },
    ];
  });
  const meminfo = get('mem').join('\n');
  const memory = {
    totalKiB: numberOr(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1]),
    availableKiB: numberOr(/^MemAvailable:\s+(\d+)/m.exec(meminfo)?.[1]),
  };
  const time = (get('time')[0] ?? '').trim();
  // systemctl is-active answers one line per unit, in the order asked.
  const states = get('services').map((line) => line.trim());
  const services = Object.fromEntries(
    SERVICES.map((name, i) => [name, { state: states[i] || 'unknown', errors: get(`journal_${name}`) }]),
  ) as DoctorFacts['services'];
  const sysctls = Object.fromEntries(
    get('sysctl').map((line) => {
      const at = line.indexOf(' ');
      return [line.slice(0, at), line.slice(at + 1).trim()];
    }),
  );
  const { certs, errors } = parseCertificates(get('certs'));
  return {
    filesystems,
    memory,
    swapOn: get('swap').length > 0,
    timeSynced: /^(chronyc Normal|timedatectl yes)$/.test(time) ? true : /^\S*$/.test(time) ? null : false,
    timeSource: time,
    services,
    kubeletConfig: parseKubeletConfig(get('kubelet_config')),
    nodeIp: nodeIpOf(get('kubelet_flags')),
    modules: get('modules').map((m) => m.trim()),
    sysctls,
    certificates: certs,
    certificateErrors: errors,
    // ss -Hltn: State Recv-Q Send-Q Local-Address:Port Peer-Address:Port
    listening: [
      ...new Set(
        get('listen').flatMap(
          (line) =>
            /:(\d+)$/
              .exec(line.trim().split(/\s+/)[3] ?? '')
              ?.slice(1)
              .map(Number) ?? [],
        ),
      ),
    ],
  };
}

/** The modules kubestrap loads that are neither loaded nor built in. */
export function missingModules(facts: DoctorFacts): string[] {
  return KERNEL_MODULES.filter((m) => !facts.modules.includes(m));
}
