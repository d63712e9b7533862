// Rules that relate several fields. Each returns every problem it finds, with the
// spec path to blame, so one `kubestrap validate` run lists everything to fix.
import { shown, type SpecIssue, type SpecPath } from './issues.js';
import {
  API_SERVER_PORT,
  expandNodes,
  isStorageNode,
  specEndpoint,
  type ExpandedNode,
  type SpecEndpoint,
} from './model.js';
import { labelKeyProblem, labelValueProblem, DNS_SUBDOMAIN } from './names.js';
import { broadcast, contains, formatIPv4, overlaps, parseCidr, parseIPv4, type Cidr } from './net.js';
import type { z } from 'zod';
import { ClusterSpecSchema, type ClusterSpec } from './schema.js';
import {
  endOfLife,
  isSupportedMinor,
  parseKubernetesVersion,
  pauseImage,
  ROOK_VERSIONS,
  SUPPORTED_RANGE,
  VERSIONS_CHECKED,
} from './versions.js';

const VIRTUALBOX_HOST_ONLY = parseCidr('192.168.56.0/21');
const ROOK_MIN_DISK_GIB = 5;
const ROOK_MIN_MEMORY_MIB = 4096;
const CONTROL_PLANE_MIN_CPUS = 2;
const CONTROL_PLANE_MIN_MEMORY_MIB = 1700;

type Issues = SpecIssue[];

const error = (path: SpecPath, message: string, hint: string): SpecIssue => ({
  severity: 'error',
  path,
  message,
  hint,
});
const warning = (path: SpecPath, message: string, hint: string): SpecIssue => ({
  severity: 'warning',
  path,
  message,
  hint,
});

function cidrAt(out: Issues, path: SpecPath, text: string): Cidr | undefined {
  const parsed = parseCidr(text);
  if (parsed.ok) return parsed.cidr;
  out.push(
    error(path, `${shown(text)} ${parsed.reason}`, 'write an IPv4 network as address/prefix, e.g. 10.32.0.0/12'),
  );
  return undefined;
}

function checkVersion(spec: ClusterSpec, out: Issues): void {
  const path = ['spec', 'kubernetes', 'version'];
  const version = parseKubernetesVersion(spec.spec.kubernetes.version);
  if (!version) return; // the schema already reported the format
  if (!isSupportedMinor(version.minor)) {
    out.push(
      error(
        path,
        `Kubernetes 1.${version.minor} is not supported`,
        `use a ${SUPPORTED_RANGE} release (kubestrap versions lists them)`,
      ),
    );
    return;
  }
  const ended = endOfLife(version);
  if (ended) {
    out.push(
      warning(
        path,
        `Kubernetes 1.${version.minor} reached end of life on ${ended}: upstream no longer fixes it, ` +
          'security fixes included',
        `plan an upgrade to a maintained minor (kubestrap versions; judged on the table of ${VERSIONS_CHECKED})`,
      ),
    );
  }
  const rook = spec.spec.storage.rook;
  const range = ROOK_VERSIONS[rook.version];
  if (rook.enabled && (version.minor < range.minMinor || version.minor > range.maxMinor)) {
    out.push(
      error(
        path,
        `Rook ${rook.version} supports Kubernetes 1.${range.minMinor}-1.${range.maxMinor}, not ${version.text}`,
        `use a 1.${range.minMinor}.x to 1.${range.maxMinor}.x release, or set spec.storage.rook.enabled: false`,
      ),
    );
  }
  if (spec.spec.kubernetes.kubelet.failCgroupV1 !== undefined && version.minor < 31) {
    out.push(
      error(
        ['spec', 'kubernetes', 'kubelet', 'failCgroupV1'],
        `the kubelet of ${version.text} has no failCgroupV1 setting (it came in 1.31)`,
        'remove the setting: before 1.35 the kubelet runs on cgroup v1 anyway',
      ),
    );
  }
  if (spec.spec.kubernetes.kubelet.failCgroupV1 === false) {
    out.push(
      warning(
        ['spec', 'kubernetes', 'kubelet', 'failCgroupV1'],
        'false keeps the kubelet running on cgroup v1 hosts, which Kubernetes has deprecated ' +
          '(1.35+ refuses them by default); kubeadm is told to skip SystemVerification',
        'use hosts with cgroup v2 (Debian 12, EL9) and remove the setting',
      ),
    );
  }
  const sandbox = spec.spec.runtime.containerd.sandboxImage;
  if (sandbox && sandbox !== pauseImage(version)) {
    out.push(
      warning(
        ['spec', 'runtime', 'containerd', 'sandboxImage'],
        `differs from ${pauseImage(version)}, which kubeadm ${version.text} expects`,
        'use the same pause tag (a mirror path is fine) or the kubelet pulls both',
      ),
    );
  }
}

function checkSubnets(spec: ClusterSpec, out: Issues): { network?: Cidr } {
  const k = spec.spec.kubernetes;
  const network = cidrAt(out, ['spec', 'machines', 'network'], spec.spec.machines.network);
  const pods = cidrAt(out, ['spec', 'kubernetes', 'podSubnet'], k.podSubnet);
  const services = cidrAt(out, ['spec', 'kubernetes', 'serviceSubnet'], k.serviceSubnet);
  const named: [string, SpecPath, Cidr | undefined][] = [
    ['the node network', ['spec', 'machines', 'network'], network],
    ['the pod subnet', ['spec', 'kubernetes', 'podSubnet'], pods],
    ['the service subnet', ['spec', 'kubernetes', 'serviceSubnet'], services],
  ];
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const [aName, aPath, a] = named[i]!;
      const [, bPath, b] = named[j]!;
      if (a && b && overlaps(a, b)) {
        out.push({
          ...error(
            bPath,
            `${b.text} overlaps ${aName} ${a.text}`,
            `choose a range that shares no address with ${aName}`,
          ),
          related: aPath,
        });
      }
    }
  }
  const weaveRange = spec.spec.cni.weave.ipallocRange;
  if (weaveRange !== undefined) {
    const path = ['spec', 'cni', 'weave', 'ipallocRange'];
    const range = cidrAt(out, path, weaveRange);
    if (range && pods && range.text !== pods.text) {
      out.push(
        error(
          path,
          `${range.text} differs from the pod subnet ${pods.text}`,
          'remove ipallocRange (it defaults to the pod subnet) or make the two equal',
        ),
      );
    }
  }
  if (
    network &&
    spec.spec.machines.provider === 'virtualbox' &&
    VIRTUALBOX_HOST_ONLY.ok &&
    !(contains(VIRTUALBOX_HOST_ONLY.cidr, network.network) && contains(VIRTUALBOX_HOST_ONLY.cidr, broadcast(network)))
  ) {
    out.push(
      warning(
        ['spec', 'machines', 'network'],
        `${network.text} is outside 192.168.56.0/21, which VirtualBox allows for host-only networks by default`,
        'use addresses in 192.168.56.0/21, or allow this range in /etc/vbox/networks.conf on the host',
      ),
    );
  }
  return network ? { network } : {};
}

function checkNodes(
  spec: ClusterSpec,
  nodes: ExpandedNode[],
  network: Cidr | undefined,
  complete: boolean,
  out: Issues,
): void {
  const provider = spec.spec.machines.provider;
  const hasWorkers = nodes.some((n) => n.entry.role === 'worker');
  const firstSeen = {
    name: new Map<string, ExpandedNode>(),
    hostname: new Map<string, ExpandedNode>(),
    ip: new Map<string, ExpandedNode>(),
  };
  const reported = new Set<string>();
  const once = (key: string, issue: SpecIssue) => {
    if (!reported.has(key)) out.push(issue);
    reported.add(key);
  };

  for (const node of nodes) {
    const e = node.entry;
    const at = (...field: (string | number)[]): SpecPath => [...node.source, ...field];
    const label = e.count === undefined ? `node ${node.name}` : `${node.name} of group ${e.name}`;

    for (const [kind, value] of [
      ['name', node.name],
      ['hostname', node.hostname],
      ['ip', node.ip],
    ] as const) {
      const seen = firstSeen[kind].get(value);
      // A hostname that merely repeats a duplicate name is the same mistake, reported once.
      const sameMistake = kind === 'hostname' && seen?.name === node.name;
      if (seen && seen !== node && !sameMistake) {
        once(
          `dup:${kind}:${value}`,
          error(
            at(kind === 'hostname' && e.hostname === undefined ? 'name' : kind),
            `${kind} ${value} is used twice (also by ${seen.name})`,
            `give each node its own ${kind}`,
          ),
        );
      } else {
        firstSeen[kind].set(value, node);
      }
    }
    if (node.name.length > 63)
      once(
        `long:${e.name}`,
        error(at('name'), `generated name ${node.name} is longer than 63 characters`, 'shorten the name prefix'),
      );
    if (!DNS_SUBDOMAIN.test(node.hostname)) {
      once(
        `hostname:${node.source.join('.')}`,
        error(
          at('hostname'),
          `hostname ${shown(node.hostname)} is not a lowercase DNS name`,
          'use letters, digits, - and ., e.g. k8s.{name}.dev',
        ),
      );
    }

    const ip = parseIPv4(node.ip);
    if (ip !== undefined && network) {
      if (node.ipOverflow || !contains(network, ip)) {
        once(
          `ip:${node.source.join('.')}`,
          error(
            at('ip'),
            `${node.ip} (${label}) is outside the node network ${network.text}`,
            `use an address inside ${network.text} or change spec.machines.network`,
          ),
        );
      } else if (ip === network.network || ip === broadcast(network)) {
        const what = ip === network.network ? 'network' : 'broadcast';
        once(
          `ip:${node.source.join('.')}`,
          error(
            at('ip'),
            `${node.ip} (${label}) is the ${what} address of ${network.text}`,
            `use a host address between ${formatIPv4(network.network + 1)} and ${formatIPv4(broadcast(network) - 1)}`,
          ),
        );
      }
    }

    if (e.role === 'control-plane') {
      const cpus = e.cpus ?? 2;
      const memory = e.memory ?? 2048;
      if (cpus < CONTROL_PLANE_MIN_CPUS)
        once(
          `cpu:${node.source.join('.')}`,
          error(
            at('cpus'),
            `control-plane ${label} has ${cpus} CPU, kubeadm requires ${CONTROL_PLANE_MIN_CPUS}`,
            `set cpus: ${CONTROL_PLANE_MIN_CPUS} or more`,
          ),
        );
      if (memory < CONTROL_PLANE_MIN_MEMORY_MIB)
        once(
          `mem:${node.source.join('.')}`,
          error(
            at('memory'),
            `control-plane ${label} has ${memory} MiB, kubeadm requires ${CONTROL_PLANE_MIN_MEMORY_MIB}`,
            'set memory: 2048 or more',
          ),
        );
    }

    const disks = e.disks ?? [];
    disks.forEach((disk, i) => {
      if (provider === 'existing' && !disk.device)
        once(
          `dev:${node.source.join('.')}:${i}`,
          error(
            at('disks', i),
            'an existing host needs the disk device path',
            'add device: /dev/sdX as lsblk shows it on that host',
          ),
        );
      if (provider !== 'existing' && disk.size === undefined)
        once(
          `size:${node.source.join('.')}:${i}`,
          error(
            at('disks', i),
            `${provider} needs the size of a disk it creates`,
            'add size: N (GiB, at least 5 for Rook)',
          ),
        );
    });
    // Which nodes store data depends on all of them (a cluster without workers stores on its control plane).
    if (complete && isStorageNode(node, spec, hasWorkers)) {
      const big = disks.some((d) =>
        d.size === undefined ? provider === 'existing' && d.device !== undefined : d.size >= ROOK_MIN_DISK_GIB,
      );
      if (!big) {
        once(
          `rook:${node.source.join('.')}`,
          error(
            at(disks.length ? 'disks' : 'name'),
            `Rook storage ${label} has no raw disk of at least ${ROOK_MIN_DISK_GIB} GiB`,
            `add disks: [{size: 10}] (existing hosts: {device: /dev/sdb}), or set storage: false on this node`,
          ),
        );
      }
      const memory = e.memory ?? 4096;
      if (memory < ROOK_MIN_MEMORY_MIB)
        once(
          `rookmem:${node.source.join('.')}`,
          warning(
            at('memory'),
            `Rook storage ${label} has ${memory} MiB; a Ceph OSD alone wants 2 GiB`,
            `give it ${ROOK_MIN_MEMORY_MIB} MiB or more`,
          ),
        );
    }

    if (provider !== 'existing') {
      for (const field of ['address', 'ssh'] as const) {
        if (e[field] !== undefined)
          once(
            `${field}:${node.source.join('.')}`,
            error(
              at(field),
              `only the existing provider uses ${field}; Vagrant supplies the connection`,
              `remove ${field}, or set spec.machines.provider: existing`,
            ),
          );
      }
    }

    for (const [key, value] of Object.entries(e.labels ?? {})) {
      const problem = labelKeyProblem(key) ?? labelValueProblem(value);
      if (problem)
        once(`label:${node.source.join('.')}:${key}`, {
          ...error(at('labels', key), `label ${problem}`, 'follow Kubernetes label syntax, e.g. tier: storage'),
          atKey: labelKeyProblem(key) !== undefined,
        });
    }
    (e.taints ?? []).forEach((taint, i) => {
      const problem =
        labelKeyProblem(taint.key) ?? (taint.value === undefined ? undefined : labelValueProblem(taint.value));
      if (problem)
        once(
          `taint:${node.source.join('.')}:${i}`,
          error(at('taints', i), `taint ${problem}`, 'follow Kubernetes label syntax for taint keys and values'),
        );
    });
  }
}

function checkTopology(spec: ClusterSpec, nodes: ExpandedNode[], out: Issues): void {
  const controlPlanes = nodes.filter((n) => n.entry.role === 'control-plane');
  const nodesPath = ['spec', 'machines', 'nodes'];
  if (controlPlanes.length === 0) {
    out.push(error(nodesPath, 'has no control-plane node', 'set role: control-plane on one node (or three for HA)'));
    return;
  }
  if (controlPlanes.length > 1) {
    if (controlPlanes.length % 2 === 0) {
      out.push(
        error(
          [...controlPlanes.at(-1)!.source, 'role'],
          `${controlPlanes.length} control-plane nodes cannot keep etcd quorum ` +
            `through a failure better than ${controlPlanes.length - 1}`,
          'use an odd number of control-plane nodes (1, 3 or 5)',
        ),
      );
    }
    const endpoint = specEndpoint(spec);
    if (endpoint === undefined) {
      out.push(
        error(
          ['spec', 'kubernetes'],
          'several control-plane nodes need controlPlaneEndpoint',
          'add controlPlaneEndpoint: {address: VIP, managed: keepalived-haproxy} with a free address of the ' +
            'node network, or controlPlaneEndpoint: HOST:PORT of your own load balancer',
        ),
      );
    } else if (endpoint.mode === 'external') {
      const path = endpointPath(endpoint, 'address');
      const owner = nodes.find((n) => n.ip === endpoint.host);
      if (owner)
        out.push(
          error(
            path,
            `${endpoint.host} is the address of node ${owner.name}; the endpoint must survive that node`,
            'use a free address (a VIP) or a DNS name',
          ),
        );
      else if (endpoint.port !== undefined) {
        out.push(
          warning(
            path,
            `kubestrap does not run a VIP or load balancer yet: ${endpoint.host}:${endpoint.port} ` +
              `must already lead to port 6443 of the control-plane nodes (the first one answers during init)`,
            'set managed: keepalived-haproxy to have kubestrap run keepalived + haproxy, ' +
              'or put your own load balancer in front of the control-plane nodes, or use one control-plane node',
          ),
        );
      }
    }
  }
  const rook = spec.spec.storage.rook;
  if (!rook.enabled && rook.defaultStorageClass !== undefined) {
    out.push(
      warning(
        ['spec', 'storage', 'rook', 'defaultStorageClass'],
        'has no effect while Rook is disabled: no StorageClass is created',
        'remove defaultStorageClass, or set enabled: true',
      ),
    );
  }
  if (rook.enabled) {
    const hasWorkers = nodes.some((n) => n.entry.role === 'worker');
    const storage = nodes.filter((n) => isStorageNode(n, spec, hasWorkers));
    if (storage.length === 0) {
      out.push(
        error(
          ['spec', 'storage', 'rook'],
          'Rook is enabled but no node stores data',
          'set storage: true and add a disk on at least one node, or set enabled: false',
        ),
      );
    } else if (rook.replicas !== undefined && rook.replicas > storage.length) {
      out.push(
        error(
          ['spec', 'storage', 'rook', 'replicas'],
          `${rook.replicas} replicas need ${rook.replicas} storage nodes; the spec has ${storage.length}`,
          `set replicas to at most ${storage.length} or add storage nodes`,
        ),
      );
    }
  }
}

/** The place to blame for a field of the endpoint: the string form is one value, the mapping has fields. */
function endpointPath(endpoint: SpecEndpoint, field: 'address' | 'port' | 'managed'): SpecPath {
  const path = ['spec', 'kubernetes', 'controlPlaneEndpoint'];
  return endpoint.form === 'text' ? path : [...path, field];
}

/** keepalived + haproxy on the control-plane nodes: the VIP, its port and the VRRP peers. */
function checkEndpoint(spec: ClusterSpec, nodes: ExpandedNode[], network: Cidr | undefined, out: Issues): void {
  const endpoint = specEndpoint(spec);
  if (endpoint?.mode === 'external' && endpoint.port === undefined) {
    out.push(
      error(
        endpointPath(endpoint, 'managed'),
        'an external endpoint needs its port',
        'add port: the TCP port your load balancer serves the API on, e.g. 6443',
      ),
    );
  }
  if (endpoint?.mode !== 'keepalived-haproxy') return;
  const address = endpointPath(endpoint, 'address');
  const vip = parseIPv4(endpoint.host);
  if (vip === undefined) {
    out.push(
      error(
        address,
        `${shown(endpoint.host)} is not an IPv4 address; keepalived holds an address, not a name`,
        'give a free IPv4 address of the node network, e.g. 192.168.56.10',
      ),
    );
  } else {
    const owner = nodes.find((n) => n.ip === endpoint.host);
    if (owner) {
      out.push(
        error(
          address,
          `${endpoint.host} is the address of node ${owner.name}; the VIP must be a free address`,
          'choose an address of the node network that no node uses',
        ),
      );
    }
    if (network && !contains(network, vip)) {
      out.push(
        error(
          address,
          `${endpoint.host} is outside the node network ${network.text}; ` +
            'keepalived can only hold a VIP on the network the control planes share',
          `use a free address inside ${network.text}`,
        ),
      );
    } else if (network && (vip === network.network || vip === broadcast(network))) {
      const what = vip === network.network ? 'network' : 'broadcast';
      out.push(
        error(
          address,
          `${endpoint.host} is the ${what} address of ${network.text}`,
          `use a free host address between ${formatIPv4(network.network + 1)} ` +
            `and ${formatIPv4(broadcast(network) - 1)}`,
        ),
      );
    }
  }
  if (endpoint.port === API_SERVER_PORT) {
    out.push(
      error(
        endpointPath(endpoint, 'port'),
        `haproxy cannot listen on ${API_SERVER_PORT}: kube-apiserver listens there on the same hosts`,
        'use another port, e.g. 8443 (the default: remove port)',
      ),
    );
  }
  const controlPlanes = nodes.filter((n) => n.entry.role === 'control-plane');
  if (controlPlanes.length === 1) {
    out.push(
      warning(
        endpointPath(endpoint, 'managed'),
        'with one control-plane node the managed endpoint has nothing to fail over to',
        'add control-plane nodes (three for HA), or keep the endpoint so that more can join later',
      ),
    );
  }
}

function checkRuntime(spec: ClusterSpec, out: Issues): void {
  const version = spec.spec.runtime.containerd.version;
  if (version && /^1\.6\.[0-4]$/.test(version)) {
    out.push(
      error(
        ['spec', 'runtime', 'containerd', 'version'],
        `containerd ${version} breaks Weave Net's IP allocation`,
        'use containerd 1.6.5 or later',
      ),
    );
  }
  const packages = spec.spec.packages;
  if (packages.source === 'bundle' && !packages.bundle) {
    out.push(
      error(['spec', 'packages'], 'source: bundle needs the bundle path', 'add bundle: path/to/cluster.kubestrap.tar'),
    );
  }
  // Hosts (apt-helper, dnf's gpgkey=) and `kubestrap bundle` fetch the repository's key from the repository itself.
  if (/^http:/i.test(packages.kubernetesRepository) && !packages.insecureHttpKey) {
    out.push(
      error(
        ['spec', 'packages', 'kubernetesRepository'],
        'is http://, and its signing key would come over the same unencrypted channel as the packages',
        'use an https:// mirror, or set packages.insecureHttpKey: true to accept that anyone on the path ' +
          'can replace key and packages',
      ),
    );
  }
}

/** Parts of a spec the rules read; a rule runs only when the schema accepted all it reads. */
type Section = 'kubernetes' | 'provider' | 'network' | 'nodes' | 'storage' | 'runtime' | 'cni' | 'packages';

/**
 * `valid` says which sections passed the schema (all, for a valid spec). Without 'nodes',
 * spec.machines.nodes holds only the entries that passed, and `nodeIndices` their places
 * in the file: rules about single nodes and pairs of nodes still run, rules about the
 * whole set (topology, which nodes store data) do not.
 */
export function checkSpec(
  spec: ClusterSpec,
  valid: (section: Section) => boolean = () => true,
  nodeIndices?: readonly number[],
): SpecIssue[] {
  const out: Issues = [];
  const nodes = expandNodes(spec, nodeIndices);
  if (valid('kubernetes') && valid('storage') && valid('runtime')) checkVersion(spec, out);
  const subnets = valid('kubernetes') && valid('provider') && valid('network') && valid('cni');
  const { network } = subnets ? checkSubnets(spec, out) : {};
  if (valid('provider') && valid('storage')) checkNodes(spec, nodes, network, valid('nodes'), out);
  if (valid('nodes') && valid('kubernetes') && valid('storage')) checkTopology(spec, nodes, out);
  if (valid('nodes') && valid('kubernetes')) checkEndpoint(spec, nodes, network, out);
  if (valid('runtime') && valid('packages')) checkRuntime(spec, out);
  return out;
}

/** A mapping of the raw document, or an empty one in place of anything else. */
export const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * The rules over a spec the schema rejected: each section, each machines field and each
 * node entry is parsed on its own, and the rules run on the parts that passed.
 */
export function checkPartialSpec(
  raw: unknown,
  provider: NonNullable<ClusterSpec['spec']['machines']['provider']>,
): SpecIssue[] {
  const specShape = ClusterSpecSchema.shape.spec.shape;
  const machinesShape = specShape.machines.shape;
  const rawSpec = asRecord(asRecord(raw).spec);
  const rawMachines = asRecord(rawSpec.machines);
  const invalid = new Set<Section>();
  const section = <T>(
    name: Section,
    schema: { safeParse(value: unknown): { success: boolean; data?: T } },
    value: unknown,
  ) => {
    const result = schema.safeParse(value);
    if (result.success) return result.data as T;
    invalid.add(name);
    return undefined;
  };
  const parts = {
    kubernetes: section('kubernetes', specShape.kubernetes, rawSpec.kubernetes),
    os: specShape.os.safeParse(rawSpec.os).data,
    runtime: section('runtime', specShape.runtime, rawSpec.runtime),
    cni: section('cni', specShape.cni, rawSpec.cni),
    storage: section('storage', specShape.storage, rawSpec.storage),
    packages: section('packages', specShape.packages, rawSpec.packages),
  };
  const machines: Record<string, unknown> = {};
  for (const [field, schema] of Object.entries(machinesShape)) {
    if (field === 'nodes') continue;
    // The rules read only the provider and the network of spec.machines.
    const name: Section | undefined = field === 'provider' || field === 'network' ? field : undefined;
    const parsed = (schema as z.ZodType).safeParse(rawMachines[field]);
    if (parsed.success) machines[field] = parsed.data;
    else if (name) invalid.add(name);
  }
  const nodeIndices: number[] = [];
  const nodes: unknown[] = [];
  if (!machinesShape.nodes.safeParse(rawMachines.nodes).success) invalid.add('nodes');
  if (Array.isArray(rawMachines.nodes)) {
    rawMachines.nodes.forEach((entry, index) => {
      const parsed = machinesShape.nodes.element.safeParse(entry);
      if (parsed.success) {
        nodes.push(parsed.data);
        nodeIndices.push(index);
      } else invalid.add('nodes');
    });
  }
  // Placeholders for the sections that failed: only rules that read none of them run.
  const spec = ClusterSpecSchema.parse({
    apiVersion: ClusterSpecSchema.shape.apiVersion.value,
    kind: ClusterSpecSchema.shape.kind.value,
    metadata: { name: 'partial' },
    spec: { machines: { nodes: [{ name: 'placeholder', ip: '0.0.0.0' }] } },
  });
  const whole: ClusterSpec = {
    ...spec,
    spec: {
      ...spec.spec,
      ...Object.fromEntries(Object.entries(parts).filter(([, value]) => value !== undefined)),
      machines: {
        ...spec.spec.machines,
        ...Object.fromEntries(Object.entries(machines).filter(([, value]) => value !== undefined)),
        provider: (machines.provider as typeof provider | undefined) ?? provider,
        nodes: nodes as ClusterSpec['spec']['machines']['nodes'],
      },
    },
  };
  return checkSpec(whole, (name) => !invalid.has(name), nodeIndices);
}
