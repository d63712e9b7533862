// kubeadm.k8s.io/v1beta3 InitConfiguration, ClusterConfiguration and JoinConfiguration,
// from the strict schema (schemas/kubeadm/kubeadm-v1beta3.json). What sets it apart
// from v1beta4: extra args are a map of flag: value, no extraEnvs, and the only
// timeouts are discovery.timeout and apiServer.timeoutForControlPlane.
import type {
  APIEndpoint,
  BootstrapToken,
  BootstrapTokenDiscovery,
  Duration,
  ExternalEtcd,
  FileDiscovery,
  HostPathMount,
  ImagePullPolicy,
  JoinControlPlane,
  Networking,
  Patches,
  Taint,
} from './api-shared.js';

export const API_VERSION = 'kubeadm.k8s.io/v1beta3';

/** flag name (without --) to value. */
export type ExtraArgs = { [flag: string]: string };

export interface NodeRegistrationOptions {
  name?: string;
  criSocket?: string;
  taints?: Taint[] | null;
  kubeletExtraArgs?: ExtraArgs;
  ignorePreflightErrors?: string[];
  imagePullPolicy?: ImagePullPolicy;
}

export interface LocalEtcd {
  imageRepository?: string;
  imageTag?: string;
  dataDir?: string;
  extraArgs?: ExtraArgs;
  serverCertSANs?: string[];
  peerCertSANs?: string[];
}

export interface Etcd {
  local?: LocalEtcd;
  external?: ExternalEtcd;
}

export interface ControlPlaneComponent {
  extraArgs?: ExtraArgs;
  extraVolumes?: HostPathMount[];
}

export interface APIServer extends ControlPlaneComponent {
  certSANs?: string[];
  timeoutForControlPlane?: Duration;
}

export interface DNS {
  imageRepository?: string;
  imageTag?: string;
}

export interface Discovery {
  bootstrapToken?: BootstrapTokenDiscovery;
  file?: FileDiscovery;
  tlsBootstrapToken?: string;
  timeout?: Duration;
}

export interface InitConfiguration {
  apiVersion: typeof API_VERSION;
  kind: 'InitConfiguration';
  bootstrapTokens?: BootstrapToken[];
  nodeRegistration?: NodeRegistrationOptions;
  localAPIEndpoint?: APIEndpoint;
  certificateKey?: string;
  skipPhases?: string[];
  patches?: Patches;
}

export interface ClusterConfiguration {
  apiVersion: typeof API_VERSION;
  kind: 'ClusterConfiguration';
  etcd?: Etcd;
  networking?: Networking;
  kubernetesVersion?: string;
  controlPlaneEndpoint?: string;
  apiServer?: APIServer;
  controllerManager?: ControlPlaneComponent;
  scheduler?: ControlPlaneComponent;
  dns?: DNS;
  certificatesDir?: string;
  imageRepository?: string;
  featureGates?: { [gate: string]: boolean };
  clusterName?: string;
}

export interface JoinConfiguration {
  apiVersion: typeof API_VERSION;
  kind: 'JoinConfiguration';
  nodeRegistration?: NodeRegistrationOptions;
  caCertPath?: string;
  discovery: Discovery;
  controlPlane?: JoinControlPlane;
  skipPhases?: string[];
  patches?: Patches;
}
