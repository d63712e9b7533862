// Rook-Ceph custom resources sized to the storage nodes: one node gets one mon and
// pools of size 1 (as upstream's cluster-test.yaml); three or more get three mons
// and size-3 pools spread across hosts.
import type { IStorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ClusterModel, NodeModel } from '../spec/model.js';
import type { ObjectMeta } from './kubernetes-api.js';
import { CEPH_API_VERSION, type CephBlockPool, type CephCluster, type Device, type StorageNode } from './rook-api.js';

export const ROOK_NAMESPACE = 'rook-ceph';
export const STORAGE_CLASS = 'rook-ceph-block';
export const BLOCK_POOL = 'replicapool';

const meta = (name: string): ObjectMeta => ({ name, namespace: ROOK_NAMESPACE });

function storageNodes(model: ClusterModel): NodeModel[] {
  return model.nodes.filter((n) => n.storage);
}

/** Rook names devices relative to /dev; deeper paths (by-id) are given whole. */
function deviceName(device: string): string {
  return /^\/dev\/[^/]+$/.test(device) ? device.slice('/dev/'.length) : device;
}

/** Tolerate every taint a storage node carries, or Rook will not run its OSD there. */
function tolerations(model: ClusterModel): IToleration[] {
  const seen = new Map<string, IToleration>();
  for (const node of storageNodes(model)) {
    for (const taint of node.taints)
      seen.set(`${taint.key}:${taint.effect}`, { key: taint.key, operator: 'Exists', effect: taint.effect });
  }
  return [...seen.values()];
}

/**
 * A one-mon cluster follows upstream's cluster-test.yaml, three mons its cluster.yaml;
 * test/upstream.test.ts lists, with the reason, every field where either differs.
 */
export function cephCluster(model: ClusterModel): CephCluster {
  const r = model.rook;
  const small = r.monCount < 3;
  const tolerate = tolerations(model);
  return {
    apiVersion: CEPH_API_VERSION,
    kind: 'CephCluster',
    metadata: meta(ROOK_NAMESPACE),
    spec: {
      cephVersion: { image: r.cephImage },
      // Ceph-CSI's default cephx key type needs the kernel RBD client of Linux 7.0 or
      // later; Debian 12 and EL9 run older kernels, where mapping a volume would fail.
      security: { cephx: { csi: { keyType: 'aes' } } },
      dataDirHostPath: '/var/lib/rook',
      mon: { count: r.monCount, allowMultiplePerNode: small },
      mgr: { count: small ? 1 : 2, allowMultiplePerNode: small, modules: [{ name: 'rook', enabled: false }] },
      dashboard: { enabled: true, ssl: true },
      crashCollector: { disable: small },
      logCollector: small ? undefined : { enabled: true, periodicity: 'daily', maxLogSize: '500M' },
      storage: {
        useAllNodes: false,
        useAllDevices: false,
        nodes: storageNodes(model).map((n): StorageNode =>
          r.deviceFilter
            ? { name: n.hostname, deviceFilter: r.deviceFilter }
            : { name: n.hostname, devices: n.disks.map((d): Device => ({ name: deviceName(d.device) })) },
        ),
      },
      placement: tolerate.length ? { all: { tolerations: tolerate } } : undefined,
      priorityClassNames: small
        ? { all: 'system-node-critical', mgr: 'system-cluster-critical' }
        : { mon: 'system-node-critical', osd: 'system-node-critical', mgr: 'system-cluster-critical' },
      disruptionManagement: { managePodBudgets: true },
      cephConfig:
        r.replicas === 1
          ? { global: { osd_pool_default_size: '1', mon_warn_on_pool_no_redundancy: 'false' } }
          : undefined,
    },
  };
}

function pool(name: string, poolName: CephBlockPool['spec']['name'], model: ClusterModel): CephBlockPool {
  const r = model.rook;
  return {
    apiVersion: CEPH_API_VERSION,
    kind: 'CephBlockPool',
    metadata: meta(name),
    spec: {
      name: poolName,
      failureDomain: r.failureDomain,
      replicated: { size: r.replicas, requireSafeReplicaSize: r.replicas > 1 },
    },
  };
}

export function blockPools(model: ClusterModel): CephBlockPool[] {
  // Ceph creates the .mgr pool with size 3 unless told otherwise; a smaller cluster
  // would stay HEALTH_WARN (undersized) forever.
  return model.rook.replicas < 3
    ? [pool('builtin-mgr', '.mgr', model), pool(BLOCK_POOL, undefined, model)]
    : [pool(BLOCK_POOL, undefined, model)];
}

export function storageClass(model: ClusterModel): IStorageClass {
  const secret = (kind: string, name: string): IStorageClass['parameters'] => ({
    [`csi.storage.k8s.io/${kind}-secret-name`]: name,
    [`csi.storage.k8s.io/${kind}-secret-namespace`]: ROOK_NAMESPACE,
  });
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: STORAGE_CLASS,
      annotations: model.rook.defaultStorageClass
        ? { 'storageclass.kubernetes.io/is-default-class': 'true' }
        : undefined,
    },
    provisioner: 'rook-ceph.rbd.csi.ceph.com',
    parameters: {
      clusterID: ROOK_NAMESPACE,
      pool: BLOCK_POOL,
      imageFormat: '2',
      imageFeatures: 'layering',
      ...secret('provisioner', 'rook-csi-rbd-provisioner'),
      ...secret('controller-expand', 'rook-csi-rbd-provisioner'),
      ...secret('controller-publish', 'rook-csi-rbd-provisioner'),
      ...secret('node-stage', 'rook-csi-rbd-node'),
      'csi.storage.k8s.io/fstype': 'ext4',
    },
    allowVolumeExpansion: true,
    reclaimPolicy: 'Delete',
  };
}

export function rookResources(model: ClusterModel): (CephCluster | CephBlockPool | IStorageClass)[] {
  return [cephCluster(model), ...blockPools(model), storageClass(model)];
}

/** The claim the Rook phase makes to prove that storage works; it names the class, default or not. */
export function storageProbeClaim(
  name: string,
): IPersistentVolumeClaim & { apiVersion: 'v1'; kind: 'PersistentVolumeClaim' } {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: STORAGE_CLASS,
      resources: { requests: { storage: '1Gi' } },
    },
  };
}
