// What every kubeadm API version renders the same way: the node's registration
// inputs and the component configs (KubeletConfiguration, KubeProxyConfiguration).
import { API_SERVER_PORT, type ClusterModel, type NodeModel } from '../../spec/model.js';
import type { APIEndpoint, JoinControlPlane, Taint } from './api-shared.js';
import type * as V1beta3 from './api-v1beta3.js';
import type * as V1beta4 from './api-v1beta4.js';
import {
  KUBE_PROXY_API_VERSION,
  KUBELET_API_VERSION,
  type KubeletConfiguration,
  type KubeProxyConfiguration,
} from './component-config-api.js';
import { CONTAINERD_SOCKET } from '../node-paths.js';

export const CRI_SOCKET = `unix://${CONTAINERD_SOCKET}`;

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
  return Object.entries(node.labels).filter(
    ([key]) => !RESTRICTED_LABEL.test(key) || KUBELET_ALLOWED_PREFIX.test(key) || KUBELET_ALLOWED_KEYS.has(key),
  );
}

/** kubelet flags kubeadm writes to kubeadm-flags.env, in a fixed order. */
export function kubeletArgs(node: NodeModel): [string, string][] {
  const args: [string, string][] = [['node-ip', node.ip]];
  const labels = kubeletSettableLabels(node);
  if (labels.length) args.push(['node-labels', labels.map(([k, v]) => `${k}=${v}`).join(',')]);
  return args;
}

export function taints(node: NodeModel): Taint[] {
  // An absent value is left out of the YAML (toYaml drops undefined), not written empty.
  return node.taints.map((t): Taint => ({ key: t.key, value: t.value, effect: t.effect }));
}

export function certSANs(model: ClusterModel): string[] {
  const endpointHost = model.kubernetes.controlPlaneEndpoint.slice(
    0,
    model.kubernetes.controlPlaneEndpoint.lastIndexOf(':'),
  );
  const sans = new Set<string>([endpointHost, ...model.kubernetes.endpoint.dnsNames]);
  for (const node of model.nodes) {
    if (node.role !== 'control-plane') continue;
    sans.add(node.ip);
    sans.add(node.hostname);
  }
  return [...sans];
}

export function localAPIEndpoint(node: NodeModel): APIEndpoint {
  return { advertiseAddress: node.ip, bindPort: API_SERVER_PORT };
}

export function kubeletConfiguration(model: ClusterModel): KubeletConfiguration {
  return {
    apiVersion: KUBELET_API_VERSION,
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
    containerRuntimeEndpoint: CRI_SOCKET,
    // hostprep turns swap off now and at boot, so the kubelet's default check stays on.
    failSwapOn: true,
    rotateCertificates: true,
    clusterDomain: model.kubernetes.dnsDomain,
    ...(model.kubernetes.failCgroupV1 !== undefined ? { failCgroupV1: model.kubernetes.failCgroupV1 } : {}),
  };
}

/**
 * kubeadm preflight errors to ignore. With failCgroupV1: false the kubelet runs on a
 * cgroup v1 host, but kubeadm's SystemVerification (system-validators 1.12.1, #134744)
 * still fails there for kubelet 1.35+: upstream's message says to skip it explicitly.
 */
export function ignorePreflightErrors(model: ClusterModel): string[] | undefined {
  return model.kubernetes.failCgroupV1 === false ? ['SystemVerification'] : undefined;
}

export function kubeProxyConfiguration(model: ClusterModel): KubeProxyConfiguration {
  return {
    apiVersion: KUBE_PROXY_API_VERSION,
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clusterCIDR: model.kubernetes.podSubnet,
  };
}

function kubernetesVersionTag(model: ClusterModel): string {
  return `v${model.kubernetes.version.text}`;
}

export function joinControlPlane(node: NodeModel, certificateKey?: string): JoinControlPlane {
  return { localAPIEndpoint: localAPIEndpoint(node), certificateKey };
}

/** Keys typed alike in both versions' ClusterConfiguration; a literal must fit both. */
type BothVersions<K extends keyof V1beta3.ClusterConfiguration & keyof V1beta4.ClusterConfiguration> = Required<
  Pick<V1beta3.ClusterConfiguration, K> & Pick<V1beta4.ClusterConfiguration, K>
>;

// ClusterConfiguration is filled the same way in v1beta3 and v1beta4 as far as
// kubestrap fills it; each version adds apiVersion and kind in front.
export function clusterSettings(
  model: ClusterModel,
): BothVersions<'clusterName' | 'kubernetesVersion' | 'controlPlaneEndpoint' | 'networking' | 'apiServer'> {
  return {
    clusterName: model.name,
    kubernetesVersion: kubernetesVersionTag(model),
    controlPlaneEndpoint: model.kubernetes.controlPlaneEndpoint,
    networking: {
      podSubnet: model.kubernetes.podSubnet,
      serviceSubnet: model.kubernetes.serviceSubnet,
      dnsDomain: model.kubernetes.dnsDomain,
    },
    apiServer: { certSANs: certSANs(model) },
  };
}
