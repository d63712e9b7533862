// Facts that follow from the Kubernetes version. Each minor's pause tag is kubeadm's
// constants.PauseVersion for that release; the sandbox image must match it or
// kubeadm preflight warns and the kubelet pulls a second pause image.

export const SUPPORTED_MINORS = [29, 30, 31, 32, 33, 34, 35, 36] as const;
export const KUBERNETES_VERSION_PATTERN = /^1\.(\d+)\.(0|[1-9]\d*)$/;
export const DEFAULT_KUBERNETES_VERSION = '1.35.0';

const PAUSE_BY_MINOR: Record<number, string> = {
  29: '3.9',
  30: '3.9',
  31: '3.10',
  32: '3.10',
  33: '3.10',
  34: '3.10.1',
  35: '3.10.1',
  36: '3.10.2',
};

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
  return (SUPPORTED_MINORS as readonly number[]).includes(minor);
}

/** kubeadm.k8s.io/v1beta4 arrived in 1.31; v1beta3 is removed in 1.36. */
export function kubeadmApiVersion(version: KubernetesVersion): 'v1beta3' | 'v1beta4' {
  return version.minor >= 31 ? 'v1beta4' : 'v1beta3';
}

export function pauseImage(version: KubernetesVersion): string {
  const tag = PAUSE_BY_MINOR[version.minor];
  if (!tag) throw new Error(`no pause image known for Kubernetes 1.${version.minor}`);
  return `registry.k8s.io/pause:${tag}`;
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

/** Rook's upstream manifests, in the order they are applied. */
export const ROOK_FILES = ['crds.yaml', 'common.yaml', 'csi-operator.yaml', 'operator.yaml'] as const;
