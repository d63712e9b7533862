// The spec text the fast tests load when they need a model of existing hosts: one place
// for the boilerplate (provider, network, ssh), each test saying only what it varies.

export interface ExistingHostsSpec {
  readonly name: string;
  readonly version: string;
  /** Further lines under spec.kubernetes, indented four spaces. */
  readonly kubernetes?: string;
  /** The node list's items, indented six spaces. */
  readonly nodes: string;
  readonly rook: boolean;
}

/** A node list item on 10.213.9.0/24: `node('cp', 'control-plane', 11, '        storage: false')`. */
export const node = (name: string, role: string, host: number, ...more: string[]) =>
  [`      - name: ${name}`, `        role: ${role}`, `        ip: 10.213.9.${host}`, ...more].join('\n') + '\n';

export const existingHostsSpec = (s: ExistingHostsSpec) => `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: ${s.name}
spec:
  kubernetes:
    version: ${s.version}
${s.kubernetes ?? ''}  machines:
    provider: existing
    network: 10.213.9.0/24
    ssh:
      user: kube
      keyPath: /dev/null
    nodes:
${s.nodes}  storage:
    rook:
      enabled: ${s.rook}
`;
