// Facts that follow from the Kubernetes version: one table, which validate, render,
// bundle, install and `kubestrap versions` all read.
//
// Per minor, from upstream (cmd/kubeadm/app/constants/constants.go at the minor's newest
// patch: PauseVersion, CoreDNSVersion, DefaultEtcdVersion), as the released kubeadm
// binaries print them with `kubeadm config images list` (minikube's generated
// pkg/minikube/constants/constants_kubeadm_images.go, commit 383c3aa, 2026-08-10; see
// shared/reference/kubeadm-behaviour.md §2). The sandbox image must match the pause tag or
// kubeadm preflight warns and the kubelet pulls a second pause image. etcd's tag changes
// within a minor; the bundle asks the bundled kubeadm itself, so etcd here only informs.
// End-of-life dates: kubernetes.io/releases (and its patch-releases page) for each minor.
// newestPatch: the newest patch known when the table was checked (VERSIONS_CHECKED);
// 1.36.5 rests on downstream evidence (kubeadm upgrade plan output and Kubernetes The
// Hard Way forks pinning it, September 2026), kubernetes.io confirmed 1.36.4.

export const KUBERNETES_VERSION_PATTERN = /^1\.(\d+)\.(0|[1-9]\d*)$/;

/** When the table below was last checked against upstream; end of life is judged on this date, not the clock. */
export const VERSIONS_CHECKED = '2026-12-02';

export type KubeadmApi = 'v1beta3' | 'v1beta4';

export interface MinorFacts {
  readonly newestPatch: number;
  readonly pause: string;
  readonly coredns: string;
  readonly etcd: string;
  /** The last day upstream patches it (YYYY-MM-DD). */
  readonly endOfLife: string;
}

export const KUBERNETES_MINORS: Readonly<Record<number, MinorFacts>> = {
  29: { newestPatch: 15, pause: '3.9', coredns: 'v1.11.1', etcd: '3.5.16-0', endOfLife: '2025-02-28' },
  30: { newestPatch: 14, pause: '3.9', coredns: 'v1.11.3', etcd: '3.5.15-0', endOfLife: '2025-06-28' },
  31: { newestPatch: 14, pause: '3.10', coredns: 'v1.11.3', etcd: '3.5.24-0', endOfLife: '2025-10-28' },
  32: { newestPatch: 13, pause: '3.10', coredns: 'v1.11.3', etcd: '3.5.24-0', endOfLife: '2026-02-28' },
  33: { newestPatch: 13, pause: '3.10', coredns: 'v1.12.0', etcd: '3.5.24-0', endOfLife: '2026-06-28' },
  34: { newestPatch: 10, pause: '3.10.1', coredns: 'v1.12.1', etcd: '3.6.5-0', endOfLife: '2026-10-27' },
  35: { newestPatch: 9, pause: '3.10.1', coredns: 'v1.13.1', etcd: '3.6.6-0', endOfLife: '2027-02-28' },
  36: { newestPatch: 5, pause: '3.10.2', coredns: 'v1.14.2', etcd: '3.6.8-0', endOfLife: '2027-06-28' },
  // 1.37.0-rc.0's constants; 1.37.1 was released 2026-09-15 (kubernetes.io/releases).
  37: { newestPatch: 1, pause: '3.10.2', coredns: 'v1.14.6', etcd: '3.7.0-0', endOfLife: '2027-10-28' },
};

export const SUPPORTED_MINORS: readonly number[] = Object.keys(KUBERNETES_MINORS)
  .map(Number)
  .sort((a, b) => a - b);
const OLDEST = SUPPORTED_MINORS[0]!;
const NEWEST = SUPPORTED_MINORS.at(-1)!;
/** "1.29.x to 1.37.x", for messages. */
export const SUPPORTED_RANGE = `1.${OLDEST}.x to 1.${NEWEST}.x`;

export interface KubernetesVersion {
  readonly text: string;
  readonly minor: number;
  readonly patch: number;
}

export function parseKubernetesVersion(text: string): KubernetesVersion | undefined {
  const match = KUBERNETES_VERSION_PATTERN.exec(text);
  if (!match) return undefined;
  return { text, minor: Number(match[1]), patch: Number(match[2]) };
}

export function isSupportedMinor(minor: number): boolean {
  return minor in KUBERNETES_MINORS;
}

function facts(version: KubernetesVersion): MinorFacts {
  const known = KUBERNETES_MINORS[version.minor];
  if (!known) throw new Error(`Kubernetes 1.${version.minor} is not in the version table (${SUPPORTED_RANGE})`);
  return known;
}

/**
 * kubeadm.k8s.io/v1beta4 arrived in 1.31 (v1beta3 deprecated then); 1.37 removed v1beta3
 * (kubernetes/kubernetes#136016, CHANGELOG-1.37 alpha.1). Every supported minor reads the
 * newest API it has, so nothing rendered needs v1beta3 past 1.30.
 */
export function kubeadmApiForMinor(minor: number): KubeadmApi {
  return minor >= 31 ? 'v1beta4' : 'v1beta3';
}

export function kubeadmApiVersion(version: KubernetesVersion): KubeadmApi {
  return kubeadmApiForMinor(version.minor);
}

export function pauseImage(version: KubernetesVersion): string {
  return `registry.k8s.io/pause:${facts(version).pause}`;
}

/** The minor's end-of-life date when it lies on or before VERSIONS_CHECKED. */
export function endOfLife(version: KubernetesVersion, checked = VERSIONS_CHECKED): string | undefined {
  const date = facts(version).endOfLife;
  return date <= checked ? date : undefined;
}

/** The pkgs.k8s.io-layout repository of a minor under `base`, e.g. BASE/v1.31/deb/ (one per minor). */
export function kubernetesPackageRepository(base: string, version: KubernetesVersion, kind: 'deb' | 'rpm'): string {
  return `${base}/v1.${version.minor}/${kind}/`;
}

export const WEAVE_VERSIONS = {
  // The maintained fork; 2.8.1 is the last Weaveworks release (known CVEs, misdetects iptables-nft).
  '2.9.0': { imageRepository: 'docker.io/rajchaudhuri' },
  '2.8.1': { imageRepository: 'docker.io/weaveworks' },
} as const;
export type WeaveVersion = keyof typeof WEAVE_VERSIONS;

export const ROOK_VERSIONS = {
  'v1.20.6': { cephImage: 'quay.io/ceph/ceph:v20.2.4', minMinor: 31, maxMinor: 36 },
} as const;
export type RookVersion = keyof typeof ROOK_VERSIONS;
export const DEFAULT_ROOK_VERSION: RookVersion = 'v1.20.6';

/**
 * The default: the newest patch of the newest minor every default component supports
 * (Rook's declared range caps it; 1.37 needs rook.enabled: false until a Rook release
 * that supports it is pinned).
 */
export const DEFAULT_KUBERNETES_VERSION = ((): string => {
  const minor = Math.max(...SUPPORTED_MINORS.filter((m) => m <= ROOK_VERSIONS[DEFAULT_ROOK_VERSION].maxMinor));
  return `1.${minor}.${KUBERNETES_MINORS[minor]!.newestPatch}`;
})();

/** Rook's upstream manifests, in the order they are applied. */
export const ROOK_FILES = ['crds.yaml', 'common.yaml', 'csi-operator.yaml', 'operator.yaml'] as const;

export interface MinorReport {
  readonly minor: string;
  /** The newest patch known on VERSIONS_CHECKED. */
  readonly newest: string;
  readonly kubeadmApi: KubeadmApi;
  readonly pause: string;
  readonly coredns: string;
  readonly etcd: string;
  readonly endOfLife: string;
  /** Whether upstream still patched it on VERSIONS_CHECKED. */
  readonly maintained: boolean;
  /** Whether the pinned Rook supports it (with Rook disabled every minor is accepted). */
  readonly rook: boolean;
  readonly default: boolean;
}

export interface VersionsReport {
  readonly checked: string;
  readonly defaultVersion: string;
  readonly rookVersion: RookVersion;
  readonly minors: readonly MinorReport[];
}

/** What `kubestrap versions` prints: the table, as validate and render read it. */
export function versionsReport(): VersionsReport {
  const rook = ROOK_VERSIONS[DEFAULT_ROOK_VERSION];
  const defaultMinor = parseKubernetesVersion(DEFAULT_KUBERNETES_VERSION)!.minor;
  return {
    checked: VERSIONS_CHECKED,
    defaultVersion: DEFAULT_KUBERNETES_VERSION,
    rookVersion: DEFAULT_ROOK_VERSION,
    minors: SUPPORTED_MINORS.map((minor) => {
      const known = KUBERNETES_MINORS[minor]!;
      return {
        minor: `1.${minor}`,
        newest: `1.${minor}.${known.newestPatch}`,
        kubeadmApi: kubeadmApiForMinor(minor),
        pause: known.pause,
        coredns: known.coredns,
        etcd: known.etcd,
        endOfLife: known.endOfLife,
        maintained: known.endOfLife > VERSIONS_CHECKED,
        rook: minor >= rook.minMinor && minor <= rook.maxMinor,
        default: minor === defaultMinor,
      };
    }),
  };
}
