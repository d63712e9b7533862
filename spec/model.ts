// The cluster model: the spec with groups expanded and every default and derived
// value filled in. Everything downstream (rendering, phases) reads only this plain data.
import { sha256 } from '../base/digest.js';
import { parseCidr, formatIPv4, parseIPv4 } from './net.js';
import type { ClusterSpec, NodeEntrySpec, RoleName, TaintSpec } from './schema.js';
import type { SpecPath } from './issues.js';
import {
  kubeadmApiVersion,
  parseKubernetesVersion,
  pauseImage,
  ROOK_VERSIONS,
  WEAVE_VERSIONS,
  type KubernetesVersion,
} from './versions.js';

export const CONTROL_PLANE_TAINT: TaintSpec = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
export const DEFAULT_BOXES = { debian: 'debian/bookworm64', rhel: 'almalinux/9' } as const;

/** How to reach an existing host, as the spec says it; unset fields fall back to ~/.ssh/config. */
export interface SshTarget {
  readonly address: string;
  readonly port?: number;
  readonly user?: string;
  readonly keyPath?: string;
  readonly bastion?: { address: string; port: number; user?: string; keyPath?: string };
}

export interface NodeDisk {
  readonly sizeGiB?: number;
  readonly device: string;
}

export interface NodeModel {
  /** Vagrant machine name and the handle users type (`kubestrap ssh NAME`). */
  readonly name: string;
  /** Hostname and Kubernetes node name. */
  readonly hostname: string;
  readonly role: RoleName;
  readonly ip: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly disks: readonly NodeDisk[];
  readonly storage: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly TaintSpec[];
  readonly ssh?: SshTarget;
  /** Where this node comes from in the spec, for error messages. */
  readonly source: SpecPath;
}

export interface ClusterModel {
  readonly name: string;
  readonly kubernetes: {
    readonly version: KubernetesVersion;
    readonly kubeadmApi: 'v1beta3' | 'v1beta4';
    readonly podSubnet: string;
    readonly serviceSubnet: string;
    readonly dnsDomain: string;
    /** endpoint as host:port: what kubeadm, joins and kubeconfigs are given. */
    readonly controlPlaneEndpoint: string;
    readonly endpoint: EndpointModel;
    /** KubeletConfiguration failCgroupV1 when the spec sets it; unset: the kubelet's default. */
    readonly failCgroupV1?: boolean;
  };
  readonly machines: {
    readonly provider: 'virtualbox' | 'libvirt' | 'existing';
    readonly box: {
      readonly name: string;
      readonly version?: string;
      readonly file?: string;
      readonly storageController: string;
    };
    readonly network: string;
    readonly netmask: string;
    readonly linkedClones: boolean;
    readonly libvirt: {
      readonly driver: 'kvm' | 'qemu';
      readonly storagePool: string;
      readonly emulatorPath?: string;
      readonly isolated: boolean;
    };
  };
  readonly os: { readonly family: 'debian' | 'rhel'; readonly architecture: 'amd64' | 'arm64' };
  readonly runtime: {
    readonly containerdVersion?: string;
    /** containerd 2.x reads config version 3; 1.x reads version 2. */
    readonly containerdConfigVersion: 2 | 3;
    readonly sandboxImage: string;
  };
  readonly weave: {
    readonly version: string;
    readonly imageRepository: string;
    readonly ipallocRange: string;
    readonly encryption: boolean;
    readonly iptablesBackend: 'nft' | 'legacy';
    readonly mtu: number;
  };
  readonly rook: {
    readonly enabled: boolean;
    readonly version: string;
    readonly cephImage: string;
    readonly deviceFilter?: string;
    readonly replicas: number;
    readonly monCount: number;
    readonly failureDomain: 'host' | 'osd';
    /** Whether the rook-ceph-block StorageClass carries the is-default-class annotation. */
    readonly defaultStorageClass: boolean;
    /** Directory URL of the release's deploy/examples (or a mirror of it). */
    readonly manifestBase: string;
  };
  readonly packages: {
    readonly source: 'online' | 'bundle';
    readonly bundle?: string;
    /** The public key the bundle must be signed with. */
    readonly bundleKey?: string;
    readonly kubernetesRepository: string;
    readonly osRepository: {
      readonly url: string;
      readonly suite: string;
      readonly components: readonly string[];
      readonly key: string;
    };
    readonly rpmRepositories: readonly { readonly url: string; readonly key: string }[];
    readonly binaryRepository: string;
    readonly registryMirrors: Readonly<Record<string, { readonly url: string }>>;
  };
  readonly nodes: readonly NodeModel[];
}

export type EndpointMode = 'first-node' | 'external' | 'keepalived-haproxy';

/**
 * The API endpoint. first-node: no endpoint in the spec, the first control plane's 6443.
 * external: the user's load balancer or VIP. keepalived-haproxy: kubestrap runs the VIP
 * (keepalived) and the load balancer (haproxy) on every control-plane node.
 */
export interface EndpointModel {
  readonly mode: EndpointMode;
  readonly host: string;
  readonly port: number;
  /** keepalived-haproxy: VRRP virtual_router_id, the spec's or derived from the cluster name. */
  readonly virtualRouterId?: number;
  /** keepalived-haproxy: the VIP's interface when the spec names it; else found on each host at run time. */
  readonly interface?: string;
  /** DNS names that lead to the endpoint: in the API server's certificate besides its host. */
  readonly dnsNames: readonly string[];
}

/** kube-apiserver's port on every control-plane node (kubeadm's default, which kubestrap keeps). */
export const API_SERVER_PORT = 6443;

/** Where haproxy listens when the spec names no port: 6443 is kube-apiserver's own on the same hosts. */
export const MANAGED_ENDPOINT_PORT = 8443;

/**
 * A stable VRRP id per cluster name, 1..255, so two clusters on one network differ unless
 * their names collide in 255 (the spec's virtualRouterId settles that).
 */
export function defaultVirtualRouterId(clusterName: string): number {
  return (parseInt(sha256(clusterName).slice(0, 8), 16) % 255) + 1;
}

/** The spec's endpoint in one shape, whichever form it was written in; port undefined when none is given. */
export interface SpecEndpoint {
  readonly mode: Exclude<EndpointMode, 'first-node'>;
  readonly host: string;
  readonly port: number | undefined;
  readonly form: 'text' | 'mapping';
  readonly virtualRouterId?: number;
  readonly interface?: string;
  readonly dnsNames: readonly string[];
}

export function specEndpoint(spec: ClusterSpec): SpecEndpoint | undefined {
  const endpoint = spec.spec.kubernetes.controlPlaneEndpoint;
  if (endpoint === undefined) return undefined;
  if (typeof endpoint === 'string') {
    const colon = endpoint.lastIndexOf(':');
    return {
      mode: 'external',
      host: endpoint.slice(0, colon),
      port: Number(endpoint.slice(colon + 1)),
      form: 'text',
      dnsNames: [],
    };
  }
  const managed = endpoint.managed === 'keepalived-haproxy';
  return {
    mode: endpoint.managed,
    host: endpoint.address,
    port: endpoint.port ?? (managed ? MANAGED_ENDPOINT_PORT : undefined),
    form: 'mapping',
    dnsNames: endpoint.dnsNames ?? [],
    ...(managed ? { virtualRouterId: endpoint.virtualRouterId ?? defaultVirtualRouterId(spec.metadata.name) } : {}),
    ...(managed && endpoint.interface !== undefined ? { interface: endpoint.interface } : {}),
  };
}

function endpointModel(spec: ClusterSpec, firstControlPlaneIp: string): EndpointModel {
  const fromSpec = specEndpoint(spec);
  if (!fromSpec) return { mode: 'first-node', host: firstControlPlaneIp, port: API_SERVER_PORT, dnsNames: [] };
  if (fromSpec.port === undefined) throw new Error('buildModel: unvalidated external endpoint without a port');
  const { form: _form, ...endpoint } = fromSpec;
  return { ...endpoint, port: fromSpec.port };
}

/** A node entry after group expansion, before defaults that depend on the whole cluster. */
export interface ExpandedNode {
  readonly entry: NodeEntrySpec;
  readonly source: SpecPath;
  readonly name: string;
  readonly hostname: string;
  readonly ip: string;
  /** True when a group's addresses ran past 255.255.255.255. */
  readonly ipOverflow: boolean;
}

/** `indices`: each entry's place in the file, when the list holds only some of the file's entries. */
export function expandNodes(spec: ClusterSpec, indices?: readonly number[]): ExpandedNode[] {
  const out: ExpandedNode[] = [];
  spec.spec.machines.nodes.forEach((entry, index) => {
    const source = ['spec', 'machines', 'nodes', indices?.[index] ?? index];
    const first = parseIPv4(entry.ip);
    const count = entry.count ?? 1;
    for (let i = 0; i < count; i++) {
      const name = entry.count === undefined ? entry.name : `${entry.name}${i + 1}`;
      const value = first === undefined ? undefined : first + i;
      out.push({
        entry,
        source,
        name,
        hostname: (entry.hostname ?? '{name}').replaceAll('{name}', name),
        ip: value === undefined ? entry.ip : formatIPv4(Math.min(value, 0xffffffff)),
        ipOverflow: value !== undefined && value > 0xffffffff,
      });
    }
  });
  return out;
}

export function isStorageNode(node: ExpandedNode, spec: ClusterSpec, hasWorkers: boolean): boolean {
  if (!spec.spec.storage.rook.enabled) return false;
  return node.entry.storage ?? (node.entry.role === 'worker' || !hasWorkers);
}

export function deviceFor(provider: string, index: number): string | undefined {
  const letter = String.fromCharCode('b'.charCodeAt(0) + index);
  if (provider === 'virtualbox') return `/dev/sd${letter}`;
  if (provider === 'libvirt') return `/dev/vd${letter}`;
  return undefined;
}

function sortedRecord(record: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sshTarget(spec: ClusterSpec, node: ExpandedNode): SshTarget | undefined {
  if (spec.spec.machines.provider !== 'existing') return undefined;
  const shared = spec.spec.machines.ssh ?? {};
  const own = node.entry.ssh ?? {};
  const user = own.user ?? shared.user;
  const port = own.port ?? shared.port;
  const keyPath = own.keyPath ?? shared.keyPath;
  const bastion = own.bastion ?? shared.bastion;
  const bastionUser = bastion?.user ?? user;
  const bastionKey = bastion?.keyPath ?? keyPath;
  return {
    address: node.entry.address ?? node.ip,
    ...(port !== undefined ? { port } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(keyPath ? { keyPath } : {}),
    ...(bastion
      ? {
          bastion: {
            address: bastion.address,
            port: bastion.port,
            ...(bastionUser ? { user: bastionUser } : {}),
            ...(bastionKey ? { keyPath: bastionKey } : {}),
          },
        }
      : {}),
  };
}

/** Builds the model from a spec that has passed validation (rules.ts). */
export function buildModel(spec: ClusterSpec): ClusterModel {
  const s = spec.spec;
  const version = parseKubernetesVersion(s.kubernetes.version);
  if (!version) throw new Error(`buildModel: unvalidated version ${s.kubernetes.version}`);
  // loadSpecText fills in the provider a spec leaves out.
  const provider = s.machines.provider ?? 'virtualbox';
  const expanded = expandNodes(spec);
  const hasWorkers = expanded.some((n) => n.entry.role === 'worker');
  const nodes: NodeModel[] = expanded.map((n) => {
    const storage = isStorageNode(n, spec, hasWorkers);
    const role = n.entry.role;
    const defaultTaints = role === 'control-plane' && hasWorkers ? [CONTROL_PLANE_TAINT] : [];
    const disks = (n.entry.disks ?? []).map((d, i) => ({
      ...(d.size !== undefined ? { sizeGiB: d.size } : {}),
      device: d.device ?? deviceFor(provider, i) ?? '',
    }));
    const ssh = sshTarget(spec, n);
    return {
      name: n.name,
      hostname: n.hostname,
      role,
      ip: n.ip,
      cpus: n.entry.cpus ?? 2,
      memoryMiB: n.entry.memory ?? (storage ? 4096 : 2048),
      disks,
      storage,
      labels: sortedRecord(n.entry.labels),
      taints: n.entry.taints ?? defaultTaints,
      ...(ssh ? { ssh } : {}),
      source: n.source,
    };
  });
  const firstControlPlane = nodes.find((n) => n.role === 'control-plane');
  const endpoint = endpointModel(spec, firstControlPlane?.ip ?? '');
  const storageCount = nodes.filter((n) => n.storage).length;
  const replicas = s.storage.rook.replicas ?? (storageCount >= 3 ? 3 : 1);
  const network = parseCidr(s.machines.network);
  const prefix = network.ok ? network.cidr.prefix : 24;
  const containerdMajor = s.runtime.containerd.version ? Number(s.runtime.containerd.version.split('.')[0]) : 1;
  const weaveDefaults = WEAVE_VERSIONS[s.cni.weave.version];
  const rookDefaults = ROOK_VERSIONS[s.storage.rook.version];
  return {
    name: spec.metadata.name,
    kubernetes: {
      version,
      kubeadmApi: kubeadmApiVersion(version),
      podSubnet: s.kubernetes.podSubnet,
      serviceSubnet: s.kubernetes.serviceSubnet,
      dnsDomain: s.kubernetes.dnsDomain,
      controlPlaneEndpoint: `${endpoint.host}:${endpoint.port}`,
      endpoint,
      ...(s.kubernetes.kubelet.failCgroupV1 !== undefined ? { failCgroupV1: s.kubernetes.kubelet.failCgroupV1 } : {}),
    },
    machines: {
      provider,
      box: {
        name: s.machines.box.name ?? DEFAULT_BOXES[s.os.family],
        ...(s.machines.box.version ? { version: s.machines.box.version } : {}),
        ...(s.machines.box.file ? { file: s.machines.box.file } : {}),
        storageController: s.machines.box.storageController,
      },
      network: s.machines.network,
      netmask: formatIPv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0),
      linkedClones: s.machines.linkedClones,
      libvirt: {
        driver: s.machines.libvirt.driver,
        storagePool: s.machines.libvirt.storagePool,
        ...(s.machines.libvirt.emulatorPath ? { emulatorPath: s.machines.libvirt.emulatorPath } : {}),
        isolated: s.machines.libvirt.isolated,
      },
    },
    os: { family: s.os.family, architecture: s.os.architecture },
    runtime: {
      ...(s.runtime.containerd.version ? { containerdVersion: s.runtime.containerd.version } : {}),
      containerdConfigVersion: containerdMajor >= 2 ? 3 : 2,
      sandboxImage: s.runtime.containerd.sandboxImage ?? pauseImage(version),
    },
    weave: {
      version: s.cni.weave.version,
      imageRepository: s.cni.weave.imageRepository ?? weaveDefaults.imageRepository,
      ipallocRange: s.cni.weave.ipallocRange ?? s.kubernetes.podSubnet,
      encryption: s.cni.weave.encryption,
      iptablesBackend: s.cni.weave.iptablesBackend,
      mtu: s.cni.weave.mtu,
    },
    rook: {
      enabled: s.storage.rook.enabled,
      version: s.storage.rook.version,
      cephImage: rookDefaults.cephImage,
      ...(s.storage.rook.deviceFilter ? { deviceFilter: s.storage.rook.deviceFilter } : {}),
      replicas,
      monCount: storageCount >= 3 ? 3 : 1,
      failureDomain: replicas > 1 ? 'host' : 'osd',
      // Without a default class, every claim that names none (most Helm charts' claims)
      // stays Pending on a cluster whose only provisioner is Rook.
      defaultStorageClass: s.storage.rook.defaultStorageClass ?? true,
      manifestBase: (
        s.storage.rook.manifestBase ??
        `https://raw.githubusercontent.com/rook/rook/${s.storage.rook.version}/deploy/examples`
      ).replace(/\/+$/, ''),
    },
    packages: {
      source: s.packages.source,
      ...(s.packages.bundle ? { bundle: s.packages.bundle } : {}),
      ...(s.packages.bundleKey ? { bundleKey: s.packages.bundleKey } : {}),
      kubernetesRepository: s.packages.kubernetesRepository.replace(/\/+$/, ''),
      osRepository: { ...s.packages.osRepository, url: s.packages.osRepository.url.replace(/\/+$/, '') },
      rpmRepositories: s.packages.rpmRepositories.map((r) => ({ url: r.url.replace(/\/+$/, ''), key: r.key })),
      binaryRepository: s.packages.binaryRepository.replace(/\/+$/, ''),
      registryMirrors: s.packages.registryMirrors,
    },
    nodes,
  };
}
