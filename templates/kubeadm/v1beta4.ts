// kubeadm.k8s.io/v1beta4 (Kubernetes 1.31+): extra args are lists of {name, value}.
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import {
  API_VERSION,
  type Arg,
  type ClusterConfiguration,
  type InitConfiguration,
  type JoinConfiguration,
  type NodeRegistrationOptions,
} from './api-v1beta4.js';
import { DISCOVERY_KUBECONFIG } from '../node-paths.js';
import * as common from './common.js';

function nodeRegistration(model: ClusterModel, node: NodeModel): NodeRegistrationOptions {
  const ignore = common.ignorePreflightErrors(model);
  return {
    name: node.hostname,
    criSocket: common.CRI_SOCKET,
    kubeletExtraArgs: common.kubeletArgs(node).map(([name, value]): Arg => ({ name, value })),
    // Always written: an absent list gives a control-plane node kubeadm's default taint.
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
    discovery: { file: { kubeConfigPath: DISCOVERY_KUBECONFIG } },
    nodeRegistration: nodeRegistration(model, node),
    controlPlane: node.role === 'control-plane' ? common.joinControlPlane(node, certificateKey) : undefined,
    timeouts: { discovery: '5m0s', tlsBootstrap: '5m0s' },
  };
}
