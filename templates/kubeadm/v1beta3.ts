// kubeadm.k8s.io/v1beta3 (Kubernetes 1.29-1.30): extra args are a map of flag: value,
// and there is no timeouts block (v1beta4 moved discovery.timeout there).
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import {
  API_VERSION,
  type ClusterConfiguration,
  type InitConfiguration,
  type JoinConfiguration,
  type NodeRegistrationOptions,
} from './api-v1beta3.js';
import { DISCOVERY_KUBECONFIG } from '../node-paths.js';
import * as common from './common.js';

function nodeRegistration(model: ClusterModel, node: NodeModel): NodeRegistrationOptions {
  const ignore = common.ignorePreflightErrors(model);
  return {
    name: node.hostname,
    criSocket: common.CRI_SOCKET,
    kubeletExtraArgs: Object.fromEntries(common.kubeletArgs(node)),
    taints: common.taints(node),
    ...(ignore ? { ignorePreflightErrors: ignore } : {}),
  };
}

export function initConfiguration(model: ClusterModel, node: NodeModel, certificateKey?: string): InitConfiguration {
  return {
    apiVersion: API_VERSION,
    kind: 'InitConfiguration',
    localAPIEndpoint: common.localAPIEndpoint(node),
    nodeRegistration: nodeRegistration(model, node),
    certificateKey,
  };
}

export function clusterConfiguration(model: ClusterModel): ClusterConfiguration {
  return { apiVersion: API_VERSION, kind: 'ClusterConfiguration', ...common.clusterSettings(model) };
}

export function joinConfiguration(model: ClusterModel, node: NodeModel, certificateKey?: string): JoinConfiguration {
  return {
    apiVersion: API_VERSION,
    kind: 'JoinConfiguration',
    discovery: { file: { kubeConfigPath: DISCOVERY_KUBECONFIG }, timeout: '5m0s' },
    nodeRegistration: nodeRegistration(model, node),
    controlPlane: node.role === 'control-plane' ? common.joinControlPlane(node, certificateKey) : undefined,
  };
}
