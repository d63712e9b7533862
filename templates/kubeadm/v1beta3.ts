// kubeadm.k8s.io/v1beta3 (Kubernetes 1.29-1.30): extra args are a map of flag: value,
// and there is no timeouts block (v1beta4 moved discovery.timeout there).
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import { DISCOVERY_KUBECONFIG } from '../node-paths.js';
import * as common from './common.js';

const API = 'kubeadm.k8s.io/v1beta3';

function nodeRegistration(node: NodeModel): object {
  return {
    name: node.hostname,
    criSocket: common.CRI_SOCKET,
    kubeletExtraArgs: Object.fromEntries(common.kubeletArgs(node)),
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
    discovery: { file: { kubeConfigPath: DISCOVERY_KUBECONFIG }, timeout: '5m0s' },
    nodeRegistration: nodeRegistration(node),
    ...(node.role === 'control-plane' ? { controlPlane: common.joinControlPlane(node, certificateKey) } : {}),
  };
}
