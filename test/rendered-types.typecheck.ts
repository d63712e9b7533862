// Type-level checks, run by `npm run typecheck` (tsc over test/), not by vitest: every
// family of rendered object rejects a misspelt field. Each `@ts-expect-error` fails
// the typecheck if the line under it stops being an error, so loosening a renderer's
// return type (to `object`, or a type with an index signature) breaks this file.
// The types are taken from the renderers' own signatures, not imported beside them.
import type { Kubeconfig } from '../templates/kubeconfig.js';
import type { kubeletConfiguration, kubeProxyConfiguration } from '../templates/kubeadm/common.js';
import type * as v1beta3 from '../templates/kubeadm/v1beta3.js';
import type * as v1beta4 from '../templates/kubeadm/v1beta4.js';
import type { blockPools, cephCluster, storageClass } from '../templates/rook.js';
import type { weaveManifest, weavePasswordSecret } from '../templates/weave.js';

type V1beta3Init = ReturnType<typeof v1beta3.initConfiguration>;
type V1beta3Join = ReturnType<typeof v1beta3.joinConfiguration>;
type V1beta4Init = ReturnType<typeof v1beta4.initConfiguration>;
type V1beta4Join = ReturnType<typeof v1beta4.joinConfiguration>;
type V1beta4Cluster = ReturnType<typeof v1beta4.clusterConfiguration>;

// kubeadm v1beta3: a misspelt field, and v1beta4's timeouts block, which v1beta3 lacks.
({ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'InitConfiguration', localAPIEndpoint: { advertiseAddress: '10.0.0.1', bindPort: 6443 } }) satisfies V1beta3Init;
// @ts-expect-error advertiseAdress is misspelt
({ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'InitConfiguration', localAPIEndpoint: { advertiseAdress: '10.0.0.1' } }) satisfies V1beta3Init;
// @ts-expect-error v1beta3 has no timeouts block (its discovery timeout is discovery.timeout)
({ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'JoinConfiguration', discovery: {}, timeouts: { discovery: '5m0s' } }) satisfies V1beta3Join;
// @ts-expect-error v1beta3 extra args are a map, not v1beta4's {name, value} list
({ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'JoinConfiguration', discovery: {}, nodeRegistration: { kubeletExtraArgs: [{ name: 'node-ip', value: '10.0.0.1' }] } }) satisfies V1beta3Join;

// kubeadm v1beta4: a misspelt field, and v1beta3's map form of extra args.
({ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'JoinConfiguration', discovery: {}, nodeRegistration: { kubeletExtraArgs: [{ name: 'node-ip', value: '10.0.0.1' }] } }) satisfies V1beta4Join;
// @ts-expect-error kubeletExtraArg is misspelt
({ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration', nodeRegistration: { kubeletExtraArg: [] } }) satisfies V1beta4Init;
// @ts-expect-error v1beta4 extra args are a {name, value} list
({ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration', nodeRegistration: { kubeletExtraArgs: { 'node-ip': '10.0.0.1' } } }) satisfies V1beta4Init;
// @ts-expect-error discovery.timeout moved to timeouts.discovery in v1beta4
({ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'JoinConfiguration', discovery: { timeout: '5m0s' } }) satisfies V1beta4Join;
// @ts-expect-error podSubnet belongs in networking, which is misspelt here
({ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'ClusterConfiguration', netwroking: { podSubnet: '10.32.0.0/12' } }) satisfies V1beta4Cluster;

// KubeletConfiguration and KubeProxyConfiguration.
({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupDriver: 'systemd' }) satisfies ReturnType<typeof kubeletConfiguration>;
// @ts-expect-error cgroupsDriver is misspelt
({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupsDriver: 'systemd' }) satisfies ReturnType<typeof kubeletConfiguration>;
// @ts-expect-error clusterCidr is misspelt (clusterCIDR)
({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCidr: '10.32.0.0/12' }) satisfies ReturnType<typeof kubeProxyConfiguration>;

// Weave's List: a DaemonSet container field and an RBAC rule field.
type WeaveList = ReturnType<typeof weaveManifest>;
({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', spec: { selector: {}, template: { spec: { containers: [{ name: 'weave', image: 'x' }] } } } }] }) satisfies WeaveList;
// @ts-expect-error imagePullPolcy is misspelt
({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', spec: { selector: {}, template: { spec: { containers: [{ name: 'weave', imagePullPolcy: 'Always' }] } } } }] }) satisfies WeaveList;
// @ts-expect-error resource is misspelt (resources)
({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', rules: [{ verbs: ['get'], resource: ['pods'] }] }] }) satisfies WeaveList;

// Rook: CephCluster and CephBlockPool.
({ apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', metadata: {}, spec: { storage: { useAllNodes: false } } }) satisfies ReturnType<typeof cephCluster>;
// @ts-expect-error useAllNode is misspelt
({ apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', metadata: {}, spec: { storage: { useAllNode: false } } }) satisfies ReturnType<typeof cephCluster>;
// @ts-expect-error keyType is an enum of Ceph's ciphers (aes, aes256k)
({ apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', metadata: {}, spec: { security: { cephx: { csi: { keyType: 'aes128' } } } } }) satisfies ReturnType<typeof cephCluster>;
// @ts-expect-error keytype is misspelt
({ apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', metadata: {}, spec: { security: { cephx: { csi: { keytype: 'aes' } } } } }) satisfies ReturnType<typeof cephCluster>;
// @ts-expect-error failureDomian is misspelt
({ apiVersion: 'ceph.rook.io/v1', kind: 'CephBlockPool', metadata: {}, spec: { failureDomian: 'host' } }) satisfies ReturnType<typeof blockPools>[number];

// StorageClass.
({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', provisioner: 'rook-ceph.rbd.csi.ceph.com', reclaimPolicy: 'Delete' }) satisfies ReturnType<typeof storageClass>;
// @ts-expect-error reclaimPolicey is misspelt
({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', provisioner: 'rook-ceph.rbd.csi.ceph.com', reclaimPolicey: 'Delete' }) satisfies ReturnType<typeof storageClass>;

// Secret.
({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', data: {} }) satisfies ReturnType<typeof weavePasswordSecret>;
// @ts-expect-error dat is misspelt
({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', dat: {} }) satisfies ReturnType<typeof weavePasswordSecret>;

// The discovery kubeconfig (discoveryKubeconfig returns its YAML text, so the type is named here).
({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], 'current-context': 'x' }) satisfies Kubeconfig;
// @ts-expect-error certificate-authority-date is misspelt
({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'c', cluster: { server: 'https://x', 'certificate-authority-date': '' } }], users: [], contexts: [], 'current-context': 'x' }) satisfies Kubeconfig;
