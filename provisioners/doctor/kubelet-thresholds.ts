// The kubelet's own disk and memory thresholds, from its config file, or else the
// upstream defaults (pkg/kubelet/apis/config/v1beta1/defaults.go and defaults_linux.go:
// imageGCHighThresholdPercent 85; evictionHard memory.available 100Mi, nodefs.available
// 10%, nodefs.inodesFree 5%, imagefs.available 15%, imagefs.inodesFree 5%). The source
// checklist's 80 %/85 % are older defaults; doctor says which thresholds applied.

/** A threshold of free space: a share of the filesystem, or an amount. */
export type Threshold = { readonly percent: number } | { readonly bytes: number };

export interface KubeletThresholds {
  readonly imageGcHighPercent: number;
  readonly memoryAvailable: Threshold;
  readonly nodefsAvailable: Threshold;
  readonly nodefsInodesFree: Threshold;
  readonly imagefsAvailable: Threshold;
  readonly imagefsInodesFree: Threshold;
  /** "kubelet config" when any value came from the node's config, else "upstream defaults". */
  readonly source: string;
}

export const UPSTREAM_THRESHOLDS: KubeletThresholds = {
  imageGcHighPercent: 85,
  memoryAvailable: { bytes: 100 * 1024 ** 2 },
  nodefsAvailable: { percent: 10 },
  nodefsInodesFree: { percent: 5 },
  imagefsAvailable: { percent: 15 },
  imagefsInodesFree: { percent: 5 },
  source: 'upstream defaults',
};

const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** "10%", "100Mi", "1G" as the kubelet reads evictionHard (resource.Quantity or a percentage). */
export function parseThreshold(text: unknown): Threshold | undefined {
  if (typeof text !== 'string') return undefined;
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (percent) return { percent: Number(percent[1]) };
  const amount = /^(\d+(?:\.\d+)?)(|k|M|G|T|Ki|Mi|Gi|Ti)$/.exec(text.trim());
  return amount ? { bytes: Number(amount[1]) * SUFFIX[amount[2]!]! } : undefined;
}

/**
 * Thresholds the config sets replace the defaults one by one. (A kubelet before 1.34's
 * mergeDefaultEvictionSettings zeroes the evictionHard signals a partial map leaves out;
 * taking the default for them here errs towards warning, never towards silence.)
 */
export function kubeletThresholds(config: Record<string, unknown> | null): KubeletThresholds {
  if (!config) return UPSTREAM_THRESHOLDS;
  const hard = (config.evictionHard ?? {}) as Record<string, unknown>;
  const gc = config.imageGCHighThresholdPercent;
  const set = {
    ...(typeof gc === 'number' && gc > 0 && gc <= 100 ? { imageGcHighPercent: gc } : {}),
    ...pick('memoryAvailable', hard['memory.available']),
    ...pick('nodefsAvailable', hard['nodefs.available']),
    ...pick('nodefsInodesFree', hard['nodefs.inodesFree']),
    ...pick('imagefsAvailable', hard['imagefs.available']),
    ...pick('imagefsInodesFree', hard['imagefs.inodesFree']),
  };
  return Object.keys(set).length ? { ...UPSTREAM_THRESHOLDS, ...set, source: 'kubelet config' } : UPSTREAM_THRESHOLDS;
}

function pick(key: keyof KubeletThresholds, value: unknown): Partial<KubeletThresholds> {
  const threshold = parseThreshold(value);
  return threshold ? { [key]: threshold } : {};
}

/** Whether `free` of `total` is below the threshold. */
export function below(threshold: Threshold, free: number, total: number): boolean {
  return 'percent' in threshold ? total > 0 && (free / total) * 100 < threshold.percent : free < threshold.bytes;
}

export function describeThreshold(threshold: Threshold): string {
  if ('percent' in threshold) return `${threshold.percent}%`;
  const mib = threshold.bytes / 1024 ** 2;
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${Math.round(mib)} MiB`;
}
