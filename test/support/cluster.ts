// A cluster spec for the harness hosts (existing provider, their real addresses),
// and the NodeHosts the provisioning phases run on.
import { readFileSync } from 'node:fs';
import type { NodeHost } from '../../provisioners/cluster-host.js';
import { loadSpecText } from '../../spec/load.js';
import type { ClusterModel } from '../../spec/model.js';
import type { SshPool } from '../../ssh/pool.js';
import type { Harness } from '../harness/hosts.js';

export interface HarnessClusterOptions {
  readonly workers?: number;
  readonly rook?: boolean;
  readonly extraNodeYaml?: (name: string) => string;
  readonly version?: string;
  /** spec.packages.kubernetesRepository (a test mirror). */
  readonly kubernetesRepository?: string;
  /** Hostname for a node; default: its name. */
  readonly hostname?: (name: string) => string;
  /** How many of the hosts, from the first, are control-plane nodes; default 1. */
  readonly controlPlanes?: number;
  /** spec.kubernetes.controlPlaneEndpoint (needed with several control-plane nodes). */
  readonly controlPlaneEndpoint?: string;
  /** A controlPlaneEndpoint kubestrap runs (keepalived + haproxy) on this VIP and port. */
  readonly managedEndpoint?: { readonly address: string; readonly port: number };
}

export function harnessSpec(harness: Harness, options: HarnessClusterOptions = {}): string {
  const controlPlanes = harness.hosts.slice(0, options.controlPlanes ?? 1);
  const rest = harness.hosts.slice(controlPlanes.length);
  const workers = rest.slice(0, options.workers ?? rest.length);
  const node = (name: string, ip: string, role: string) =>
    `      - name: ${name}\n        role: ${role}\n        ip: ${ip}\n` +
    `        hostname: ${options.hostname?.(name) ?? name}\n` +
    (options.extraNodeYaml?.(name) ?? '        storage: false\n');
  const nodes =
    controlPlanes.map((c) => node(c.name, c.ip, 'control-plane')).join('') +
    workers.map((w) => node(w.name, w.ip, 'worker')).join('');
  const managed = options.managedEndpoint;
  const endpoint = managed
    ? `    controlPlaneEndpoint:\n      address: ${managed.address}\n      port: ${managed.port}\n` +
      '      managed: keepalived-haproxy\n'
    : options.controlPlaneEndpoint
      ? `    controlPlaneEndpoint: ${JSON.stringify(options.controlPlaneEndpoint)}\n`
      : '';
  const packages = options.kubernetesRepository
    ? `  packages:\n    kubernetesRepository: ${JSON.stringify(options.kubernetesRepository)}\n` +
      // The test mirrors serve plain HTTP on addresses the tests made.
      `    insecureHttpKey: ${options.kubernetesRepository.startsWith('http:')}\n`
    : '';
  return `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: harness
spec:
  kubernetes:
    version: ${options.version ?? '1.34.2'}
${endpoint}  machines:
    provider: existing
    network: 10.213.${harness.id}.0/24
    ssh:
      user: kube
      keyPath: ${harness.clientKeyPath}
    nodes:
${nodes}
${packages}  storage:
    rook:
      enabled: ${options.rook ?? false}
`;
}

export function harnessModel(harness: Harness, options: HarnessClusterOptions = {}): ClusterModel {
  return loadSpecText(harnessSpec(harness, options), 'harness.yaml').model;
}

export function nodeHosts(model: ClusterModel, pool: SshPool, harness: Harness): NodeHost[] {
  const key = readFileSync(harness.clientKeyPath);
  return model.nodes.map((node) => ({
    name: node.name,
    node,
    ssh: pool.host({ name: node.name, address: node.ip, port: 22, user: 'kube', privateKey: key }),
  }));
}
