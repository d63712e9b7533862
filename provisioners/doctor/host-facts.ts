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
  /** timedatectl's NTPSynchronized, or chrony's leap status; null when neither answers. */
  readonly timeSynced: boolean | null;
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

export function doctorScript(family: ClusterModel['os']['family']): string {
  const paths = DOCTOR_PATHS.map(shellQuote).join(' ');
  const sysctls = SYSCTLS.map(([k]) => shellQuote(k)).join(' ');
  const services = SERVICES.join(' ');
  const kubeconfigs = KUBECONFIGS.map(shellQuote).join(' ');
  return `${script(
    'echo @@df',
    `for p in ${paths}; do`,
    '  q="$p"; while [ ! -e "$q" ]; do q=$(dirname "$q"); done',
    `  b=$(df -P -B1 "$q" | awk 'NR==2 { print $2, $4, $5, $6 }')`,
    `  i=$(df -P -i "$q" | awk 'NR==2 { print $2, $4 }')`,
    '  printf \'%s %s %s\\n\' "$p" "$b" "$i"',
    'done',
    "echo @@mem; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo || true",
    'echo @@swap; tail -n +2 /proc/swaps || true',
    'echo @@time',
    'timedatectl show -p NTPSynchronized --value 2>/dev/null ||',
    "  { chronyc -n tracking 2>/dev/null | sed -n 's/^Leap status *: *//p'; } || true",
    'echo @@services',
    `for s in ${services}; do printf '%s %s\\n' "$s" "$(systemctl is-active "$s" 2>/dev/null || true)"; done`,
    ...SERVICES.flatMap((s) => [
      `echo @@journal_${s}`,
      `journalctl -u ${s} -p err -n 3 --no-pager -o cat --since -24h 2>/dev/null | tail -c ${JOURNAL_BYTES} || true`,
    ]),
    `echo @@kubelet_config; head -c 65536 ${KUBELET_CONFIG} 2>/dev/null || true`,
    `echo @@kubelet_flags; cat ${KUBEADM_FLAGS} ${KUBELET_DEFAULTS[family]} 2>/dev/null | head -c 16384 || true`,
    // Loaded or built in: a built-in module is not in /proc/modules, but what it provides
    // shows (overlay's filesystem, br_netfilter's bridge sysctls).
    "echo @@modules; cut -d' ' -f1 /proc/modules 2>/dev/null || true",
    'if grep -qw overlay /proc/filesystems; then echo overlay; fi',
    'if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then echo br_netfilter; fi',
    `echo @@sysctl; for k in ${sysctls}; do`,
    `  printf '%s %s\\n' "$k" "$(sysctl -n "$k" 2>/dev/null || echo absent)"`,
    'done',
    // Only certificates leave the host: kubeconfigs' client-certificate-data is decoded
    // alone, and of the kubelet's PEM (certificate and key) only CERTIFICATE blocks.
    'echo @@certs',
    `for f in ${PKI_DIR}/*.crt ${PKI_DIR}/etcd/*.crt; do [ -f "$f" ] && { echo "@cert $f"; head -c 16384 "$f"; }; done`,
    `for f in ${kubeconfigs}; do`,
    '  [ -f "$f" ] || continue; echo "@cert $f"',
    '  sed -n \'s/^ *client-certificate-data: *//p\' "$f" | head -n 1 | base64 -d 2>/dev/null | head -c 16384 || true',
    'done',
    `if [ -f ${KUBELET_CLIENT_PEM} ]; then echo "@cert ${KUBELET_CLIENT_PEM}";`,
    `  sed -n '/-BEGIN CERTIFICATE-/,/-END CERTIFICATE-/p' ${KUBELET_CLIENT_PEM} | head -c 16384; fi`,
    "echo @@listen; ss -Hltn 2>/dev/null | awk '{ print $4 }' || true",
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
  const files: { path: string; text: string[] }[] = [];
  for (const line of lines) {
    const header = /^@cert (\S+)$/.exec(line);
    if (header) files.push({ path: header[1]!, text: [] });
    else files.at(-1)?.text.push(line);
  }
  for (const file of files) {
    // A bundle file holds several certificates; the first is the leaf kubeadm issued.
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(file.text.join('\n'))?.[0];
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
  const filesystems = get('df').flatMap((line): FilesystemFact[] => {
    const [path, size, avail, used, mount, inodes, ifree] = line.trim().split(/\s+/);
    if (!path || !size || !mount) return [];
    return [
      {
        path,
        mount,
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
  const serviceStates = new Map(
    get('services').map((line) => {
      const [name, state] = line.trim().split(/\s+/);
      return [name ?? '', state || 'unknown'] as const;
    }),
  );
  const services = Object.fromEntries(
    SERVICES.map((name) => [name, { state: serviceStates.get(name) ?? 'unknown', errors: get(`journal_${name}`) }]),
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
    timeSynced: time === 'yes' || time === 'Normal' ? true : time === '' ? null : false,
    services,
    kubeletConfig: parseKubeletConfig(get('kubelet_config')),
    nodeIp: nodeIpOf(get('kubelet_flags')),
    modules: get('modules').map((m) => m.trim()),
    sysctls,
    certificates: certs,
    certificateErrors: errors,
    listening: [...new Set(get('listen').flatMap((a) => /:(\d+)$/.exec(a.trim())?.slice(1).map(Number) ?? []))],
  };
}

/** The modules kubestrap loads that are neither loaded nor built in. */
export function missingModules(facts: DoctorFacts): string[] {
  return KERNEL_MODULES.filter((m) => !facts.modules.includes(m));
}
