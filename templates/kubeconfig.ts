// The short-lived kubeconfig a joining node discovers the cluster with (kubeadm file
// discovery): the cluster CA, the API endpoint and a bootstrap token. It is the only
// place a join token is written; the join phase writes it 0600 and removes it after.
import { toYaml } from './yaml.js';

export interface DiscoveryInputs {
  readonly cluster: string;
  readonly server: string;
  /** base64 of the cluster CA certificate (PEM). */
  readonly caData: string;
  readonly token: string;
}

export function discoveryKubeconfig(inputs: DiscoveryInputs): string {
  const user = 'tls-bootstrap-token-user';
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: inputs.cluster, cluster: { 'certificate-authority-data': inputs.caData, server: inputs.server } }],
    contexts: [{ name: `${user}@${inputs.cluster}`, context: { cluster: inputs.cluster, user } }],
    'current-context': `${user}@${inputs.cluster}`,
    users: [{ name: user, user: { token: inputs.token } }],
  });
}

export const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
