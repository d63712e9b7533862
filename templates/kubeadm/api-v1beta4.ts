// kubeadm.k8s.io/v1beta4 InitConfiguration, ClusterConfiguration and JoinConfiguration,
// from the strict schema (schemas/kubeadm/kubeadm-v1beta4.json). What sets it apart
// from v1beta3: extra args are lists of {name, value} (a flag may repeat), components
// take extraEnvs, and the timeouts live in one Timeouts block.
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
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

export const API_VERSION = 'kubeadm.k8s.io/v1beta4';

export interface Arg {
  name: string;
  value?: string;
}

/** core/v1 EnvVar, as the schema says (its fileKeyRef source is newer than kubernetes-models). */
export type EnvVar = IEnvVar;

export interface NodeRegistrationOptions {
  name?: string;
  criSocket?: string;
  taints?: Taint[] | null;
  kubeletExtraArgs?: Arg[];
  ignorePreflightErrors?: string[];
  imagePullPolicy?: ImagePullPolicy;
  imagePullSerial?: boolean;
}

export interface LocalEtcd {
  imageRepository?: string;
  imageTag?: string;
  dataDir?: string;
  extraArgs?: Arg[];
  extraEnvs?: EnvVar[];
  serverCertSANs?: string[];
  peerCertSANs?: string[];
}

export interface Etcd {
  local?: LocalEtcd;
  external?: ExternalEtcd;
}

export interface ControlPlaneComponent {
  extraArgs?: Arg[];
  extraVolumes?: HostPathMount[];
  extraEnvs?: EnvVar[];
}

export interface APIServer extends ControlPlaneComponent {
  certSANs?: string[];
}

export interface DNS {
  imageRepository?: string;
  imageTag?: string;
  disabled?: boolean;
}

export interface Proxy {
  disabled?: boolean;
}

export interface Discovery {
  bootstrapToken?: BootstrapTokenDiscovery;
  file?: FileDiscovery;
  tlsBootstrapToken?: string;
}

export interface Timeouts {
  controlPlaneComponentHealthCheck?: Duration;
  kubeletHealthCheck?: Duration;
  kubernetesAPICall?: Duration;
  etcdAPICall?: Duration;
  tlsBootstrap?: Duration;
  discovery?: Duration;
  upgradeManifests?: Duration;
}

export interface InitConfiguration {
  apiVersion: typeof API_VERSION;
  kind: 'InitConfiguration';
  bootstrapTokens?: BootstrapToken[];
  dryRun?: boolean;
  nodeRegistration?: NodeRegistrationOptions;
  localAPIEndpoint?: APIEndpoint;
  certificateKey?: string;
  skipPhases?: string[];
  patches?: Patches;
  timeouts?: Timeouts;
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
  proxy?: Proxy;
  certificatesDir?: string;
  imageRepository?: string;
  featureGates?: { [gate: string]: boolean };
  clusterName?: string;
  encryptionAlgorithm?: '' | 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'ECDSA-P256' | 'ECDSA-P384';
  certificateValidityPeriod?: Duration;
  caCertificateValidityPeriod?: Duration;
}

export interface JoinConfiguration {
  apiVersion: typeof API_VERSION;
  kind: 'JoinConfiguration';
  dryRun?: boolean;
  nodeRegistration?: NodeRegistrationOptions;
  caCertPath?: string;
  discovery: Discovery;
  controlPlane?: JoinControlPlane;
  skipPhases?: string[];
  patches?: Patches;
  timeouts?: Timeouts;
}
