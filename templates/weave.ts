// The Weave Net DaemonSet and RBAC as one v1 List, shaped like the upstream
// weave-daemonset-k8s-1.11 manifest, with the spec's knobs as env on the weave container.
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IRoleRef } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleRef';
import type { ISubject } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Subject';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import type { ClusterModel } from '../spec/model.js';
import type { KubernetesList, ObjectMeta } from './kubernetes-api.js';

export const WEAVE_PASSWORD_SECRET = 'weave-passwd';
export const WEAVE_PASSWORD_KEY = 'weave-passwd';

const NAMESPACE = 'kube-system';
const labels = { name: 'weave-net' };
const metadata = (namespaced: boolean): ObjectMeta => ({
  name: 'weave-net',
  namespace: namespaced ? NAMESPACE : undefined,
  labels,
});
const hostnameEnv: IEnvVar = {
  name: 'HOSTNAME',
  valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } },
};
const readOnly = (name: string, mountPath: string): IVolumeMount => ({ name, mountPath, readOnly: true });
const hostPath = (name: string, path: string, type?: NonNullable<IVolume['hostPath']>['type']): IVolume => ({
  name,
  hostPath: { path, type },
});
const xtablesLock: IVolumeMount = { name: 'xtables-lock', mountPath: '/run/xtables.lock', readOnly: false };

export type WeaveObject = IServiceAccount | IClusterRole | IClusterRoleBinding | IRole | IRoleBinding | IDaemonSet;

function weaveEnv(model: ClusterModel): IEnvVar[] {
  const w = model.weave;
  return [
    { name: 'INIT_CONTAINER', value: 'true' },
    hostnameEnv,
    { name: 'IPALLOC_RANGE', value: w.ipallocRange },
    { name: 'WEAVE_MTU', value: String(w.mtu) },
    { name: 'IPTABLES_BACKEND', value: w.iptablesBackend },
    { name: 'CHECKPOINT_DISABLE', value: '1' },
    ...(w.encryption
      ? [
          {
            name: 'WEAVE_PASSWORD',
            valueFrom: { secretKeyRef: { name: WEAVE_PASSWORD_SECRET, key: WEAVE_PASSWORD_KEY } },
          },
        ]
      : []),
  ];
}

const weaveImage = (model: ClusterModel, name: 'weave-kube' | 'weave-npc') =>
  `${model.weave.imageRepository}/${name}:${model.weave.version}`;

/** The images Weave Net runs (what a bundle must carry). */
export function weaveImages(model: ClusterModel): string[] {
  return [weaveImage(model, 'weave-kube'), weaveImage(model, 'weave-npc')];
}

export function weaveManifest(model: ClusterModel): KubernetesList<WeaveObject> {
  const image = (name: 'weave-kube' | 'weave-npc') => weaveImage(model, name);
  const readRules = (apiGroup: string, resources: string[]): IPolicyRule => ({
    apiGroups: [apiGroup],
    resources,
    verbs: ['get', 'list', 'watch'],
  });
  const binding = (kind: 'ClusterRole' | 'Role'): IRoleRef => ({
    kind,
    name: 'weave-net',
    apiGroup: 'rbac.authorization.k8s.io',
  });
  const subjects: ISubject[] = [{ kind: 'ServiceAccount', name: 'weave-net', namespace: NAMESPACE }];
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(true) },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: metadata(false),
        rules: [
          readRules('', ['pods', 'namespaces', 'nodes']),
          readRules('extensions', ['networkpolicies']),
          readRules('networking.k8s.io', ['networkpolicies']),
          { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch', 'update'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: metadata(false),
        roleRef: binding('ClusterRole'),
        subjects,
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: metadata(true),
        rules: [
          { apiGroups: [''], resources: ['configmaps'], resourceNames: ['weave-net'], verbs: ['get', 'update'] },
          { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: metadata(true),
        roleRef: binding('Role'),
        subjects,
      },
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: metadata(true),
        spec: {
          selector: { matchLabels: labels },
          // Let each pod connect to its peers before the rollout moves on.
          minReadySeconds: 5,
          template: {
            metadata: { labels },
            spec: {
              initContainers: [
                {
                  name: 'weave-init',
                  image: image('weave-kube'),
                  command: ['/home/weave/init.sh'],
                  securityContext: { privileged: true },
                  volumeMounts: [
                    { name: 'cni-bin', mountPath: '/host/opt' },
                    { name: 'cni-bin2', mountPath: '/host/home' },
                    { name: 'cni-conf', mountPath: '/host/etc' },
                    { name: 'lib-modules', mountPath: '/lib/modules' },
                    xtablesLock,
                  ],
                },
              ],
              containers: [
                {
                  name: 'weave',
                  command: ['/home/weave/launch.sh'],
                  env: weaveEnv(model),
                  image: image('weave-kube'),
                  readinessProbe: { httpGet: { host: '127.0.0.1', path: '/status', port: 6784 } },
                  resources: { requests: { cpu: '50m' } },
                  securityContext: { privileged: true },
                  volumeMounts: [
                    { name: 'weavedb', mountPath: '/weavedb' },
                    readOnly('dbus', '/host/var/lib/dbus'),
                    readOnly('cni-machine-id', '/host/etc/machine-id'),
                    xtablesLock,
                  ],
                },
                {
                  name: 'weave-npc',
                  env: [hostnameEnv],
                  image: image('weave-npc'),
                  resources: { requests: { cpu: '50m' } },
                  securityContext: { privileged: true },
                  volumeMounts: [xtablesLock],
                },
              ],
              hostNetwork: true,
              dnsPolicy: 'ClusterFirstWithHostNet',
              hostPID: false,
              restartPolicy: 'Always',
              securityContext: { seLinuxOptions: {} },
              serviceAccountName: 'weave-net',
              tolerations: [
                { effect: 'NoSchedule', operator: 'Exists' },
                { effect: 'NoExecute', operator: 'Exists' },
              ],
              volumes: [
                hostPath('weavedb', '/var/lib/weave'),
                hostPath('cni-bin', '/opt'),
                hostPath('cni-bin2', '/home'),
                hostPath('cni-conf', '/etc'),
                hostPath('cni-machine-id', '/etc/machine-id'),
                hostPath('dbus', '/var/lib/dbus'),
                hostPath('lib-modules', '/lib/modules'),
                hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
              ],
              priorityClassName: 'system-node-critical',
            },
          },
          updateStrategy: { type: 'RollingUpdate' },
        },
      },
    ],
  };
}

/**
 * The Secret the weave phase creates at deploy time. The password is generated on
 * the user's machine and never rendered to disk with the other artifacts.
 */
export function weavePasswordSecret(password: string): ISecret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: WEAVE_PASSWORD_SECRET, namespace: NAMESPACE, labels },
    type: 'Opaque',
    data: { [WEAVE_PASSWORD_KEY]: Buffer.from(password, 'utf8').toString('base64') },
  };
}
