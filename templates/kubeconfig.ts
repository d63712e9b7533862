// The short-lived kubeconfig a joining node discovers the cluster with (kubeadm file
// discovery): the cluster CA, the API endpoint and a bootstrap token. It is the only
// place a join token is written; the join phase writes it 0600 and removes it after.
import { toYaml } from './yaml.js';

// kubeconfig (client-go clientcmd/api/v1), the fields a static file can hold; exec
// and auth-provider credentials and extensions are left out until something writes them.
export interface KubeconfigCluster {
  server: string;
  'tls-server-name'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'proxy-url'?: string;
  'disable-compression'?: boolean;
}

export interface KubeconfigUser {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  as?: string;
  'as-uid'?: string;
  'as-groups'?: string[];
  'as-user-extra'?: { [key: string]: string[] };
  username?: string;
  password?: string;
}

export interface KubeconfigContext {
  cluster: string;
  user: string;
  namespace?: string;
}

export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  preferences?: { colors?: boolean };
  clusters: { name: string; cluster: KubeconfigCluster }[];
  users: { name: string; user: KubeconfigUser }[];
  contexts: { name: string; context: KubeconfigContext }[];
  'current-context': string;
}

export interface DiscoveryInputs {
  readonly cluster: string;
  readonly server: string;
  /** base64 of the cluster CA certificate (PEM). */
  readonly caData: string;
  readonly token: string;
}

export function discoveryKubeconfig(inputs: DiscoveryInputs): string {
  const user = 'tls-bootstrap-token-user';
  const config: Kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: inputs.cluster, cluster: { 'certificate-authority-data': inputs.caData, server: inputs.server } },
    ],
    contexts: [{ name: `${user}@${inputs.cluster}`, context: { cluster: inputs.cluster, user } }],
    'current-context': `${user}@${inputs.cluster}`,
    users: [{ name: user, user: { token: inputs.token } }],
  };
  return toYaml(config);
}

export const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
