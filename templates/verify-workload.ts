// The workload verify runs to prove the cluster works rather than that it was asked to:
// a pod on each worker writes to and reads back a Rook volume, a pod fetches over HTTP
// from a pod on another node (the pod network), and cluster DNS resolves a Service.
// Pure: the nonce and the server pod's address are inputs, so the same inputs give the
// same bytes. Pods name their node (spec.nodeName): the check is about that node, and
// the scheduler must not move it elsewhere.
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import type { ClusterModel, NodeModel } from '../spec/model.js';
import { shellQuote } from '../base/quote.js';
import { isInitNode } from './kubeadm/index.js';
import { STORAGE_CLASS } from './rook.js';

export const VERIFY_NAMESPACE = 'kubestrap-verify';
/**
 * One small image with a shell, an HTTP server and client, and a DNS client. Bundles
 * carry it (bundle/build.ts), so an airgapped install verifies with what it was given.
 */
export const VERIFY_IMAGE = 'docker.io/library/busybox:1.37.0';
export const SERVER_POD = 'verify-server';
export const CLIENT_POD = 'verify-client';
export const SERVER_PORT = 8080;

export type VerifyObject =
  | (INamespace & { apiVersion: 'v1'; kind: 'Namespace' })
  | (IPod & { apiVersion: 'v1'; kind: 'Pod' })
  | (IService & { apiVersion: 'v1'; kind: 'Service' })
  | (IPersistentVolumeClaim & { apiVersion: 'v1'; kind: 'PersistentVolumeClaim' });

/** The nodes the workload uses: storage pods, and the two ends of the network check. */
export interface VerifyPlacement {
  /** A pod with a Rook volume on each (empty without Rook). */
  readonly storage: readonly NodeModel[];
  readonly server: NodeModel;
  /** Another node than the server's, or none on a one-node cluster. */
  readonly client: NodeModel | undefined;
}

export function verifyPlacement(model: ClusterModel): VerifyPlacement {
  const workers = model.nodes.filter((n) => n.role === 'worker');
  const init = model.nodes.find((n) => isInitNode(model, n)) ?? model.nodes[0]!;
  const server = workers[0] ?? init;
  const client = workers.find((n) => n !== server) ?? model.nodes.find((n) => n !== server);
  return {
    storage: model.rook.enabled ? (workers.length > 0 ? workers : [init]) : [],
    server,
    client,
  };
}

export const storageClaimName = (node: NodeModel) => `verify-${node.hostname}`;
export const storagePodName = (node: NodeModel) => `verify-storage-${node.hostname}`;
export const serviceName = SERVER_POD;
export const serviceFqdn = (model: ClusterModel) =>
  `${serviceName}.${VERIFY_NAMESPACE}.svc.${model.kubernetes.dnsDomain}`;

const NONCE = /^[0-9a-f]{16}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function pod(
  name: string,
  node: NodeModel,
  container: string,
  script: string,
): IPod & { apiVersion: 'v1'; kind: 'Pod' } {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: VERIFY_NAMESPACE, labels: { 'kubestrap.io/verify': container } },
    spec: {
      nodeName: node.hostname,
      restartPolicy: 'Never',
      // The check is about this node whatever taints the spec gives it.
      tolerations: [{ operator: 'Exists' }],
      containers: [{ name: container, image: VERIFY_IMAGE, command: ['/bin/sh', '-c', script] }],
    },
  };
}

/** The namespace, the server pod and its Service, and each storage node's claim and pod. */
export function verifyWorkload(model: ClusterModel, nonce: string): VerifyObject[] {
  if (!NONCE.test(nonce)) throw new Error(`verify nonce "${nonce}" is not 16 hex digits`);
  const placement = verifyPlacement(model);
  const server = pod(
    SERVER_POD,
    placement.server,
    'server',
    `mkdir -p /tmp/www && echo ${nonce} > /tmp/www/verify && exec httpd -f -p ${SERVER_PORT} -h /tmp/www`,
  );
  server.spec!.containers[0]!.ports = [{ containerPort: SERVER_PORT, protocol: 'TCP' }];
  const objects: VerifyObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: VERIFY_NAMESPACE } },
    server,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: serviceName, namespace: VERIFY_NAMESPACE },
      spec: {
        selector: { 'kubestrap.io/verify': 'server' },
        ports: [{ port: SERVER_PORT, targetPort: SERVER_PORT, protocol: 'TCP' }],
      },
    },
  ];
  for (const node of placement.storage) {
    objects.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: storageClaimName(node), namespace: VERIFY_NAMESPACE },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: STORAGE_CLASS,
        resources: { requests: { storage: '64Mi' } },
      },
    });
    const storage = pod(
      storagePodName(node),
      node,
      'storage',
      `echo ${nonce} > /data/verify && sync && cat /data/verify`,
    );
    storage.spec!.containers[0]!.volumeMounts = [{ name: 'data', mountPath: '/data' }];
    storage.spec!.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: storageClaimName(node) } }];
    objects.push(storage);
  }
  return objects;
}

/** Lookups the client makes before the DNS check fails, and the pause between them. */
const DNS_ATTEMPTS = 5;
const DNS_RETRY_SECONDS = 2;
const ATTEMPTS = Array.from({ length: DNS_ATTEMPTS }, (_, i) => i + 1).join(' ');

/**
 * The client, made once the server pod has an address: it fetches the nonce from the
 * server pod across the pod network, then looks the Service up in cluster DNS. The
 * lookup is tried a few times: CoreDNS answers from a watch cache that can trail a
 * Service created a moment ago, and a UDP query can be lost; a cluster whose DNS never
 * answers still fails, after five lookups (each up to nslookup's own timeout).
 */
export function verifyClient(model: ClusterModel, client: NodeModel, serverIp: string): VerifyObject {
  if (!IPV4.test(serverIp)) throw new Error(`verify server pod address "${serverIp}" is not an IPv4 address`);
  const lookup = `nslookup ${shellQuote(serviceFqdn(model))}`;
  return pod(
    CLIENT_POD,
    client,
    'client',
    `wget -q -O - -T 10 http://${serverIp}:${SERVER_PORT}/verify && ` +
      `for attempt in ${ATTEMPTS}; do ${lookup} && exit 0; sleep ${DNS_RETRY_SECONDS}; done; exit 1`,
  );
}
