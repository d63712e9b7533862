// Models for the fast bundle tests: two existing hosts (a control plane, a worker) of
// either family, with or without the endpoint kubestrap runs.
import { loadSpecText } from '../../spec/load.js';
import type { ClusterModel } from '../../spec/model.js';
import { existingHostsSpec, node } from './spec-text.js';

export function bundleModel(family: 'debian' | 'rhel', managedEndpoint: boolean): ClusterModel {
  const text = existingHostsSpec({
    name: 'bundled',
    version: '1.34.2',
    kubernetes: managedEndpoint
      ? '    controlPlaneEndpoint:\n      address: 10.213.9.250\n      managed: keepalived-haproxy\n'
      : '',
    nodes:
      node('cp', 'control-plane', 11, '        storage: false') + node('w1', 'worker', 12, '        storage: false'),
    rook: false,
  }).replace('  machines:\n', `  os:\n    family: ${family}\n  machines:\n`);
  return loadSpecText(text, 'bundled.yaml', 'existing').model;
}
