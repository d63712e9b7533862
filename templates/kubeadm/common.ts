// What every kubeadm API version renders the same way: the node's registration
// inputs and the component configs (KubeletConfiguration, KubeProxyConfiguration).
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import { CONTAINERD_SOCKET } from '../node-paths.js';

export const CRI_SOCKET = `unix://${CONTAINERD_SOCKET}`;
export const API_SERVER_PORT = 6443;

// The kubelet may not set labels in these namespaces on itself (NodeRestriction);
// the join phase applies the others through the API instead.
const RESTRICTED_LABEL = /(^|\.)(kubernetes\.io|k8s\.io)\//;
// NodeRestriction's allow-list: these two prefixes and a few well-known keys.
const KUBELET_ALLOWED_PREFIX = /^(kubelet\.kubernetes\.io|node\.kubernetes\.io)\//;
const KUBELET_ALLOWED_KEYS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
]);

export function kubeletSettableLabels(node: NodeModel): [string, string][] {
  return Object.entries(node.labels).filter(([key]) => !RESTRICTED_LABEL.test(key) || KUBELET_ALLOWED_PREFIX.test(key) || KUBELET_ALLOWED_KEYS.has(key));
}

/** kubelet flags kubeadm writes to kubeadm-flags.env, in a fixed order. */
export function kubeletArgs(node: NodeModel): [string, string][] {
  const args: [string, string][] = [['node-ip', node.ip]];
  const labels = kubeletSettableLabels(node);
  if (labels.length) args.push(['node-labels', labels.map(([k, v]) => `${k}=${v}`).join(',')]);
  return args;
}

export function taints(node: NodeModel): { key: string; value?: string; effect: string }[] {
  return node.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect }));
}

export function certSANs(model: ClusterModel): string[] {
  const endpointHost = model.kubernetes.controlPlaneEndpoint.slice(0, model.kubernetes.controlPlaneEndpoint.lastIndexOf(':'));
  const sans = new Set<string>([endpointHost]);
  for (const node of model.nodes) {
    if (node.role !== 'control-plane') continue;
    sans.add(node.ip);
    sans.add(node.hostname);
  }
  return [...sans];
}

export function localAPIEndpoint(node: NodeModel): { advertiseAddress: string; bindPort: number } {
  return { advertiseAddress: node.ip, bindPort: API_SERVER_PORT };
}

export function kubeletConfiguration(model: ClusterModel): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
    containerRuntimeEndpoint: CRI_SOCKET,
    // hostprep turns swap off now and at boot, so the kubelet's default check stays on.
    failSwapOn: true,
    rotateCertificates: true,
    clusterDomain: model.kubernetes.dnsDomain,
  };
}

export function kubeProxyConfiguration(model: ClusterModel): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clusterCIDR: model.kubernetes.podSubnet,
  };
}

function kubernetesVersionTag(model: ClusterModel): string {
  return `v${model.kubernetes.version.text}`;
}

// InitConfiguration and ClusterConfiguration have the same shape in v1beta3 and
// v1beta4 as far as kubestrap fills them; only apiVersion and nodeRegistration differ.
export function initConfiguration(apiVersion: string, node: NodeModel, nodeRegistration: object, certificateKey?: string): object {
  return { apiVersion, kind: 'InitConfiguration', localAPIEndpoint: localAPIEndpoint(node), nodeRegistration, ...(certificateKey ? { certificateKey } : {}) };
}

export function joinControlPlane(node: NodeModel, certificateKey?: string): object {
  return { localAPIEndpoint: localAPIEndpoint(node), ...(certificateKey ? { certificateKey } : {}) };
}

export function clusterConfiguration(apiVersion: string, model: ClusterModel): object {
  return {
    apiVersion,
    kind: 'ClusterConfiguration',
    clusterName: model.name,
    kubernetesVersion: kubernetesVersionTag(model),
    controlPlaneEndpoint: model.kubernetes.controlPlaneEndpoint,
    networking: { podSubnet: model.kubernetes.podSubnet, serviceSubnet: model.kubernetes.serviceSubnet, dnsDomain: model.kubernetes.dnsDomain },
    apiServer: { certSANs: certSANs(model) },
  };
}
