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

/** Every package kubestrap installs on a host of this family. */
export function hostPackages(family: keyof typeof CONTAINERD_PACKAGE): string[] {
  return [...KUBERNETES_PACKAGES, CONTAINERD_PACKAGE[family]];
}
