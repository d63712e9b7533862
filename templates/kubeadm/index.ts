// kubeadm.conf for one node, in the API version its Kubernetes release reads.
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import { toYamlDocuments } from '../yaml.js';
import { kubeletConfiguration, kubeProxyConfiguration } from './common.js';
import * as v1beta3 from './v1beta3.js';
import * as v1beta4 from './v1beta4.js';

export function kubeadmFor(model: ClusterModel): typeof v1beta3 | typeof v1beta4 {
  return model.kubernetes.kubeadmApi === 'v1beta4' ? v1beta4 : v1beta3;
}

/** The first control-plane node runs `kubeadm init`; every other node joins. */
export function isInitNode(model: ClusterModel, node: NodeModel): boolean {
  return model.nodes.find((n) => n.role === 'control-plane') === node;
}

export function renderKubeadmConfig(model: ClusterModel, node: NodeModel): string {
  const api = kubeadmFor(model);
  if (isInitNode(model, node)) {
    return toYamlDocuments([
      api.initConfiguration(model, node),
      api.clusterConfiguration(model),
      kubeletConfiguration(model),
      kubeProxyConfiguration(model),
    ]);
  }
  return toYamlDocuments([api.joinConfiguration(model, node)]);
}

/**
 * The init node's configuration with this run's certificate key, for
 * `kubeadm init phase upload-certs`. Holds a secret: never part of the render.
 */
export function renderUploadCertsConfig(model: ClusterModel, initNode: NodeModel, certificateKey: string): string {
  const api = kubeadmFor(model);
  return toYamlDocuments([api.initConfiguration(model, initNode, certificateKey), api.clusterConfiguration(model)]);
}

/** A further control-plane node's JoinConfiguration with this run's certificate key (a secret). */
export function renderControlPlaneJoinConfig(model: ClusterModel, node: NodeModel, certificateKey: string): string {
  if (node.role !== 'control-plane' || isInitNode(model, node))
    throw new Error(`${node.name} is not a joining control-plane node`);
  return toYamlDocuments([kubeadmFor(model).joinConfiguration(model, node, certificateKey)]);
}
