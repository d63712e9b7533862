// The Rook v1.20 custom resources kubestrap renders, written from Rook's CRD schemas
// (schemas/rook-v1.20.6/ in the shared reference). Only the part of each spec we fill
// is typed, with every field the schema allows at those levels; a misspelt key fails
// the typecheck, and a block not here must be added from the schema before it is set.
import type { INodeAffinity } from 'kubernetes-models/v1/NodeAffinity';
import type { IPodAffinity } from 'kubernetes-models/v1/PodAffinity';
import type { IPodAntiAffinity } from 'kubernetes-models/v1/PodAntiAffinity';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import type { ObjectMeta } from './kubernetes-api.js';

export const CEPH_API_VERSION = 'ceph.rook.io/v1';

export interface CephVersionSpec {
  allowUnsupported?: boolean;
  image?: string;
  imagePullPolicy?: 'IfNotPresent' | 'Always' | 'Never' | '';
}

export interface MonSpec {
  allowMultiplePerNode?: boolean;
  count?: number;
  externalMonIDs?: string[];
  failureDomainLabel?: string;
}

export interface MgrModule {
  enabled?: boolean;
  name?: string;
  settings?: { balancerMode?: '' | 'crush-compat' | 'upmap' | 'read' | 'upmap-read' };
}

export interface MgrSpec {
  allowMultiplePerNode?: boolean;
  count?: number;
  hostNetwork?: boolean;
  modules?: MgrModule[] | null;
}

export interface DashboardSpec {
  enabled?: boolean;
  port?: number;
  prometheusEndpoint?: string;
  prometheusEndpointSSLVerify?: boolean;
  ssl?: boolean;
  urlPrefix?: string;
}

export interface CrashCollectorSpec {
  daysToRetain?: number;
  disable?: boolean;
}

export interface Device {
  config?: { [option: string]: string } | null;
  fullpath?: string;
  name?: string;
}

export interface StorageNode {
  config?: { [option: string]: string } | null;
  deviceFilter?: string;
  devicePathFilter?: string;
  devices?: Device[] | null;
  name?: string;
  useAllDevices?: boolean;
}

export interface StorageSpec {
  allowDeviceClassUpdate?: boolean;
  allowOsdCrushWeightUpdate?: boolean;
  backfillFullRatio?: number | null;
  config?: { [option: string]: string } | null;
  deviceFilter?: string;
  devicePathFilter?: string;
  devices?: Device[] | null;
  flappingRestartIntervalHours?: number;
  fullRatio?: number | null;
  nearFullRatio?: number | null;
  nodes?: StorageNode[] | null;
  onlyApplyOSDPlacement?: boolean;
  osdMaxUpdatesInParallel?: number;
  scheduleAlways?: boolean;
  useAllDevices?: boolean;
  useAllNodes?: boolean;
}

export interface Placement {
  nodeAffinity?: INodeAffinity;
  podAffinity?: IPodAffinity;
  podAntiAffinity?: IPodAntiAffinity;
  tolerations?: IToleration[];
  topologySpreadConstraints?: ITopologySpreadConstraint[];
}

export interface DisruptionManagementSpec {
  machineDisruptionBudgetNamespace?: string;
  manageMachineDisruptionBudgets?: boolean;
  managePodBudgets?: boolean;
  osdMaintenanceTimeout?: number;
  pgHealthCheckTimeout?: number;
  pgHealthyRegex?: string;
}

export type CephxKeyType = 'aes' | 'aes256k';

export interface CephxConfig {
  keepPriorKeyCountMax?: number;
  keyGeneration?: number;
  keyRotationPolicy?: '' | 'Disabled' | 'KeyGeneration';
  keyType?: CephxKeyType;
}

export interface ClusterCephxConfig {
  allowedCiphers?: CephxKeyType[];
  csi?: CephxConfig;
  daemon?: CephxConfig;
  rbdMirrorPeer?: CephxConfig;
}

export interface KeyRotationSpec {
  enabled?: boolean;
  schedule?: string;
}

export interface KeyManagementServiceSpec {
  connectionDetails?: { [key: string]: string } | null;
  tokenSecretName?: string;
}

export interface SecuritySpec {
  cephx?: ClusterCephxConfig;
  keyRotation?: KeyRotationSpec | null;
  kms?: KeyManagementServiceSpec | null;
}

export interface LogCollectorSpec {
  enabled?: boolean;
  /** A quantity of at least 1M, e.g. 500M. */
  maxLogSize?: number | string;
  periodicity?: '' | 'hourly' | 'daily' | 'weekly' | 'monthly' | '1h' | '24h' | '1d';
}

export interface CephClusterSpec {
  cephConfig?: { [section: string]: { [option: string]: string } } | null;
  cephVersion?: CephVersionSpec | null;
  crashCollector?: CrashCollectorSpec | null;
  dashboard?: DashboardSpec | null;
  dataDirHostPath?: string;
  disruptionManagement?: DisruptionManagementSpec | null;
  logCollector?: LogCollectorSpec | null;
  mgr?: MgrSpec | null;
  mon?: MonSpec | null;
  /** Keyed by component (all, mon, mgr, osd, …). */
  placement?: { [component: string]: Placement } | null;
  /** Keyed by component (all, mon, mgr, osd, …). */
  priorityClassNames?: { [component: string]: string } | null;
  security?: SecuritySpec | null;
  storage?: StorageSpec | null;
}

export interface CephCluster {
  apiVersion: typeof CEPH_API_VERSION;
  kind: 'CephCluster';
  metadata: ObjectMeta;
  spec: CephClusterSpec;
}

export interface ReplicatedSpec {
  replicasPerFailureDomain?: number;
  requireSafeReplicaSize?: boolean;
  size: number;
  subFailureDomain?: string;
  targetSizeRatio?: number;
}

export interface CephBlockPoolSpec {
  application?: string;
  compressionMode?: 'none' | 'passive' | 'aggressive' | 'force' | '' | null;
  crushRoot?: string | null;
  deviceClass?: string | null;
  enableCrushUpdates?: boolean | null;
  enableRBDStats?: boolean;
  failureDomain?: string;
  /** Only for Ceph's own pools; otherwise the pool takes the resource's name. */
  name?: '.rgw.root' | '.nfs' | '.mgr';
  parameters?: { [parameter: string]: string } | null;
  replicated?: ReplicatedSpec;
}

export interface CephBlockPool {
  apiVersion: typeof CEPH_API_VERSION;
  kind: 'CephBlockPool';
  metadata: ObjectMeta;
  spec: CephBlockPoolSpec;
}
