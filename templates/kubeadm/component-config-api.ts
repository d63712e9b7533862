// The component configs kubeadm passes on: KubeletConfiguration
// (kubelet.config.k8s.io/v1beta1) and KubeProxyConfiguration
// (kubeproxy.config.k8s.io/v1alpha1), written from the strict schemas in the shared
// reference (schemas/kubeadm/). Every field the schema allows is here and nothing
// else, so a misspelt key fails the typecheck; value patterns stay the validator's job.
import type { Duration, Taint } from './api-shared.js';

export const KUBELET_API_VERSION = 'kubelet.config.k8s.io/v1beta1';
export const KUBE_PROXY_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';

export interface KubeletConfiguration {
  apiVersion: typeof KUBELET_API_VERSION;
  kind: 'KubeletConfiguration';
  enableServer?: boolean;
  staticPodPath?: string;
  podLogsDir?: string;
  syncFrequency?: Duration;
  fileCheckFrequency?: Duration;
  httpCheckFrequency?: Duration;
  staticPodURL?: string;
  staticPodURLHeader?: { [key: string]: string[] };
  address?: string;
  port?: number;
  readOnlyPort?: number;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsCipherSuites?: string[];
  tlsCurvePreferences?: number[];
  tlsMinVersion?: '' | 'VersionTLS10' | 'VersionTLS11' | 'VersionTLS12' | 'VersionTLS13';
  rotateCertificates?: boolean;
  serverTLSBootstrap?: boolean;
  authentication?: KubeletAuthentication;
  authorization?: KubeletAuthorization;
  registryPullQPS?: number;
  registryBurst?: number;
  imagePullCredentialsVerificationPolicy?:
    '' | 'NeverVerify' | 'NeverVerifyPreloadedImages' | 'NeverVerifyAllowlistedImages' | 'AlwaysVerify';
  preloadedImagesVerificationAllowlist?: string[];
  eventRecordQPS?: number;
  eventBurst?: number;
  enableDebuggingHandlers?: boolean;
  enableContentionProfiling?: boolean;
  healthzPort?: number;
  healthzBindAddress?: string;
  oomScoreAdj?: number;
  clusterDomain?: string;
  clusterDNS?: string[];
  streamingConnectionIdleTimeout?: Duration;
  nodeStatusUpdateFrequency?: Duration;
  nodeStatusReportFrequency?: Duration;
  nodeLeaseDurationSeconds?: number;
  imageMinimumGCAge?: Duration;
  imageMaximumGCAge?: Duration;
  imageGCHighThresholdPercent?: number;
  imageGCLowThresholdPercent?: number;
  volumeStatsAggPeriod?: Duration;
  kubeletCgroups?: string;
  systemCgroups?: string;
  cgroupRoot?: string;
  cgroupsPerQOS?: boolean;
  cgroupDriver?: '' | 'cgroupfs' | 'systemd';
  cpuManagerPolicy?: '' | 'none' | 'static';
  singleProcessOOMKill?: boolean;
  cpuManagerPolicyOptions?: { [key: string]: string };
  cpuManagerReconcilePeriod?: Duration;
  memoryManagerPolicy?: '' | 'None' | 'Static';
  topologyManagerPolicy?: '' | 'none' | 'best-effort' | 'restricted' | 'single-numa-node';
  topologyManagerScope?: '' | 'container' | 'pod';
  topologyManagerPolicyOptions?: { [key: string]: string };
  qosReserved?: { [key: string]: string };
  runtimeRequestTimeout?: Duration;
  hairpinMode?: '' | 'promiscuous-bridge' | 'hairpin-veth' | 'none';
  maxPods?: number;
  podCIDR?: string;
  podPidsLimit?: number;
  resolvConf?: string;
  runOnce?: boolean;
  cpuCFSQuota?: boolean;
  cpuCFSQuotaPeriod?: Duration;
  nodeStatusMaxImages?: number;
  maxOpenFiles?: number;
  contentType?: string;
  kubeAPIQPS?: number;
  kubeAPIBurst?: number;
  serializeImagePulls?: boolean;
  maxParallelImagePulls?: number;
  evictionHard?: { [key: string]: string };
  evictionSoft?: { [key: string]: string };
  evictionSoftGracePeriod?: { [key: string]: string };
  evictionPressureTransitionPeriod?: Duration;
  evictionMaxPodGracePeriod?: number;
  evictionMinimumReclaim?: { [key: string]: string };
  mergeDefaultEvictionSettings?: boolean;
  podsPerCore?: number;
  enableControllerAttachDetach?: boolean;
  protectKernelDefaults?: boolean;
  makeIPTablesUtilChains?: boolean;
  iptablesMasqueradeBit?: number;
  iptablesDropBit?: number;
  featureGates?: { [key: string]: boolean };
  failSwapOn?: boolean;
  memorySwap?: {
    swapBehavior?: '' | 'NoSwap' | 'LimitedSwap';
  };
  containerLogMaxSize?: string;
  containerLogMaxFiles?: number;
  containerLogMaxWorkers?: number;
  containerLogMonitorInterval?: Duration;
  configMapAndSecretChangeDetectionStrategy?: '' | 'Get' | 'Cache' | 'Watch';
  systemReserved?: { [key: string]: string };
  kubeReserved?: { [key: string]: string };
  reservedSystemCPUs?: string;
  showHiddenMetricsForVersion?: string;
  systemReservedCgroup?: string;
  kubeReservedCgroup?: string;
  enforceNodeAllocatable?: (
    | 'none'
    | 'pods'
    | 'system-reserved'
    | 'system-reserved-compressible'
    | 'kube-reserved'
    | 'kube-reserved-compressible'
  )[];
  allowedUnsafeSysctls?: string[];
  defaultPodSysctls?: { [key: string]: string };
  volumePluginDir?: string;
  providerID?: string;
  kernelMemcgNotification?: boolean;
  logging?: LoggingConfiguration;
  enableSystemLogHandler?: boolean;
  enableSystemLogQuery?: boolean;
  shutdownGracePeriod?: Duration;
  shutdownGracePeriodCriticalPods?: Duration;
  shutdownGracePeriodByPodPriority?: {
    priority?: number;
    shutdownGracePeriodSeconds?: number;
  }[];
  crashLoopBackOff?: {
    maxContainerRestartPeriod?: Duration;
  };
  reservedMemory?: {
    numaNode?: number;
    limits: { [key: string]: number | string } | null;
  }[];
  enableProfilingHandler?: boolean;
  enableDebugFlagsHandler?: boolean;
  seccompDefault?: boolean;
  memoryThrottlingFactor?: number;
  memoryReservationPolicy?: '' | 'None' | 'TieredReservation';
  registerWithTaints?: Taint[];
  registerNode?: boolean;
  tracing?: {
    endpoint?: string;
    samplingRatePerMillion?: number;
  };
  localStorageCapacityIsolation?: boolean;
  containerRuntimeEndpoint?: string;
  imageServiceEndpoint?: string;
  failCgroupV1?: boolean;
  userNamespaces?: {
    idsPerPod?: number;
  };
}

export interface KubeletAuthentication {
  x509?: {
    clientCAFile?: string;
  };
  webhook?: {
    enabled?: boolean;
    cacheTTL?: Duration;
  };
  anonymous?: {
    enabled?: boolean;
  };
}

export interface KubeletAuthorization {
  mode?: '' | 'AlwaysAllow' | 'Webhook';
  webhook?: {
    cacheAuthorizedTTL?: Duration;
    cacheUnauthorizedTTL?: Duration;
  };
}

export interface KubeProxyConfiguration {
  apiVersion: typeof KUBE_PROXY_API_VERSION;
  kind: 'KubeProxyConfiguration';
  featureGates?: { [key: string]: boolean };
  clientConnection?: {
    kubeconfig?: string;
    acceptContentTypes?: string;
    contentType?: string;
    qps?: number;
    burst?: number;
  };
  logging?: LoggingConfiguration;
  hostnameOverride?: string;
  bindAddress?: string;
  healthzBindAddress?: string;
  metricsBindAddress?: string;
  bindAddressHardFail?: boolean;
  enableProfiling?: boolean;
  showHiddenMetricsForVersion?: string;
  mode?: '' | 'iptables' | 'ipvs' | 'nftables' | 'kernelspace';
  iptables?: {
    masqueradeBit?: number | null;
    masqueradeAll?: boolean;
    localhostNodePorts?: boolean | null;
    syncPeriod?: Duration;
    minSyncPeriod?: Duration;
  };
  ipvs?: {
    syncPeriod?: Duration;
    minSyncPeriod?: Duration;
    scheduler?: string;
    excludeCIDRs?: string[] | null;
    strictARP?: boolean;
    tcpTimeout?: Duration;
    tcpFinTimeout?: Duration;
    udpTimeout?: Duration;
  };
  nftables?: {
    masqueradeBit?: number | null;
    masqueradeAll?: boolean;
    syncPeriod?: Duration;
    minSyncPeriod?: Duration;
  };
  winkernel?: {
    networkName?: string;
    sourceVip?: string;
    enableDSR?: boolean;
    rootHnsEndpointName?: string;
    forwardHealthCheckVip?: boolean;
  };
  detectLocalMode?: '' | 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';
  detectLocal?: {
    bridgeInterface?: string;
    interfaceNamePrefix?: string;
  };
  clusterCIDR?: string;
  nodePortAddresses?: string[] | null;
  oomScoreAdj?: number | null;
  conntrack?: {
    maxPerCore?: number | null;
    min?: number | null;
    tcpEstablishedTimeout?: Duration | null;
    tcpCloseWaitTimeout?: Duration | null;
    tcpBeLiberal?: boolean;
    udpTimeout?: Duration;
    udpStreamTimeout?: Duration;
  };
  configSyncPeriod?: Duration;
  portRange?: string;
  windowsRunAsService?: boolean;
}

export interface LoggingConfiguration {
  format?: string;
  flushFrequency?: number | string;
  verbosity?: number;
  vmodule?: {
    filePattern: string;
    verbosity?: number;
  }[];
  options?: {
    text?: {
      splitStream?: boolean;
      infoBufferSize?: number | string;
    };
    json?: {
      splitStream?: boolean;
      infoBufferSize?: number | string;
    };
  };
}
