// kubeadm.k8s.io/v1beta4 (Kubernetes 1.31+): extra args are lists of {name, value}.
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import { DISCOVERY_KUBECONFIG } from '../node-paths.js';
import * as common from './common.js';

const API = 'kubeadm.k8s.io/v1beta4';

function nodeRegistration(node: NodeModel): object {
  return {
    name: node.hostname,
    criSocket: common.CRI_SOCKET,
    kubeletExtraArgs: common.kubeletArgs(node).map(([name, value]) => ({ name, value })),
    // Always written: an absent list gives a control-plane node kubeadm's default taint.
    taints: common.taints(node),
  };
}

export function initConfiguration(_model: ClusterModel, node: NodeModel, certificateKey?: string): object {
  return common.initConfiguration(API, node, nodeRegistration(node), certificateKey);
}

export function clusterConfiguration(model: ClusterModel): object {
  return common.clusterConfiguration(API, model);
}

export function joinConfiguration(_model: ClusterModel, node: NodeModel, certificateKey?: string): object {
  return {
    apiVersion: API,
    kind: 'JoinConfiguration',
    discovery: { file: { kubeConfigPath: DISCOVERY_KUBECONFIG } },
    nodeRegistration: nodeRegistration(node),
    ...(node.role === 'control-plane' ? { controlPlane: common.joinControlPlane(node, certificateKey) } : {}),
    timeouts: { discovery: '5m0s', tlsBootstrap: '5m0s' },
  };
}
