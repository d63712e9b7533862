// Which OS packages a node runs, per family: read by the runtime and packages phases
// (what to install online) and by the bundle (what to carry offline), so an offline
// install gets exactly what an online one would.

/** Installed at the spec's exact Kubernetes version and held there. */
export const PINNED_KUBERNETES_PACKAGES = ['kubelet', 'kubeadm', 'kubectl'] as const;
/** From the same repository, at whatever version it pairs with the pinned ones. */
export const KUBERNETES_HELPER_PACKAGES = ['cri-tools', 'kubernetes-cni'] as const;
export const KUBERNETES_PACKAGES = [...PINNED_KUBERNETES_PACKAGES, ...KUBERNETES_HELPER_PACKAGES] as const;

/** containerd (runc comes as its dependency); RHEL-like hosts run Docker's containerd.io. */
export const CONTAINERD_PACKAGE = { debian: 'containerd', rhel: 'containerd.io' } as const;

export type OsFamily = keyof typeof CONTAINERD_PACKAGE;

/**
 * A command kubeadm's preflight looks for on PATH (check `FileExisting-<command>`,
 * checks_linux.go `addExecChecks`) that a minimal OS install may lack. pkgs.k8s.io's kubelet
 * package only Recommends iptables and no longer declares conntrack or ethtool
 * (kubernetes/release, krel templates), and kubestrap installs without recommends: so it
 * installs them itself, for the minors whose kubeadm looks for them.
 */
export interface PreflightTool {
  readonly command: string;
  /** An ERROR stops `kubeadm init`/`join`; a WARNING is only printed. */
  readonly severity: 'error' | 'warning';
  /** The last minor whose kubeadm checks it. */
  readonly lastMinor: number;
  /** Debian: a package. EL: what dnf installs by, a name or a capability (EL8's iptables is EL9's iptables-nft). */
  readonly package: Readonly<Record<OsFamily, string>>;
}

export const PREFLIGHT_TOOLS: readonly PreflightTool[] = [
  // 1.33 dropped the checks for ip, iptables, ethtool and tc (kubernetes#129131).
  { command: 'iptables', severity: 'error', lastMinor: 32, package: { debian: 'iptables', rhel: 'iptables' } },
  { command: 'ethtool', severity: 'warning', lastMinor: 32, package: { debian: 'ethtool', rhel: 'ethtool' } },
  // From 1.32 only for a target below 1.32 (kubernetes#126953), never kubestrap's: it runs the target's kubeadm.
  {
    command: 'conntrack',
    severity: 'error',
    lastMinor: 31,
    package: { debian: 'conntrack', rhel: 'conntrack-tools' },
  },
];

/**
 * kubeadm's other FileExisting commands, and why kubestrap installs nothing for them:
 * a Kubernetes package brings it, or every install of both families has it (Debian:
 * Priority required or important; EL: the core group).
 */
export const PREFLIGHT_COMMANDS_PRESENT: Readonly<Record<string, string>> = {
  crictl: 'cri-tools, one of KUBERNETES_HELPER_PACKAGES',
  ip: 'iproute2 (Debian: important) / iproute (EL: core)',
  tc: 'iproute2 (Debian: important) / iproute-tc (EL: core)',
  mount: 'mount (Debian: required) / util-linux (EL: core)',
  losetup: 'mount (Debian: required) / util-linux (EL: core)',
  nsenter: 'util-linux (Debian: required; EL: core)',
  cp: 'coreutils (essential)',
  touch: 'coreutils (essential)',
};

/** The tools kubeadm of this minor looks for that kubestrap installs. */
export function preflightTools(minor: number): PreflightTool[] {
  return PREFLIGHT_TOOLS.filter((t) => minor <= t.lastMinor);
}

/**
 * The managed control-plane endpoint (controlPlaneEndpoint managed: keepalived-haproxy), on
 * control-plane nodes only. keepalived's check script runs curl: Debian's keepalived does
 * not depend on it and a minimal Debian lacks it; EL minimal installs have curl-minimal.
 */
export const ENDPOINT_PACKAGES: Readonly<Record<OsFamily, readonly string[]>> = {
  debian: ['keepalived', 'haproxy', 'curl'],
  rhel: ['keepalived', 'haproxy'],
};

/**
 * Every package kubestrap installs on a host of this family for Kubernetes 1.`minor`;
 * `endpoint`: the host is a control plane of a cluster whose endpoint kubestrap runs.
 */
export function hostPackages(family: OsFamily, minor: number, endpoint = false): string[] {
  return [
    ...KUBERNETES_PACKAGES,
    CONTAINERD_PACKAGE[family],
    ...preflightTools(minor).map((t) => t.package[family]),
    ...(endpoint ? ENDPOINT_PACKAGES[family] : []),
  ];
}
