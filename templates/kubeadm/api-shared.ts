// The kubeadm API types that are the same in v1beta3 and v1beta4, written from the
// strict JSON schemas in the shared reference (schemas/kubeadm/). Every field the
// schema allows is here and nothing else, so a misspelt key fails the typecheck;
// patterns and formats (durations, addresses) stay the validator's job.

/** A Go duration such as "5m0s". */
export type Duration = string;
/** An RFC 3339 timestamp (metav1.Time). */
export type Time = string;

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
export type ImagePullPolicy = '' | 'Always' | 'IfNotPresent' | 'Never';

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
  timeAdded?: Time;
}

export interface BootstrapToken {
  token?: string | null;
  description?: string;
  ttl?: Duration;
  expires?: Time;
  usages?: ('signing' | 'authentication')[];
  groups?: string[];
}

export interface APIEndpoint {
  advertiseAddress?: string;
  bindPort?: number;
}

export interface Networking {
  serviceSubnet?: string;
  podSubnet?: string;
  dnsDomain?: string;
}

export interface ExternalEtcd {
  endpoints: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface HostPathMount {
  name: string;
  hostPath: string;
  mountPath: string;
  readOnly?: boolean;
  pathType?: '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket' | 'CharDevice' | 'BlockDevice';
}

export interface Patches {
  directory?: string;
}

export interface JoinControlPlane {
  localAPIEndpoint?: APIEndpoint;
  certificateKey?: string;
}

export interface BootstrapTokenDiscovery {
  token: string;
  apiServerEndpoint: string;
  caCertHashes?: string[];
  unsafeSkipCAVerification?: boolean;
}

export interface FileDiscovery {
  kubeConfigPath: string;
}
