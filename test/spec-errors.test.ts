// The malformed-spec corpus: each case is a small edit of a valid spec and the exact
// place and message a user sees. Hints are checked to exist and to differ from the
// message; their wording is in the golden-style table only where it matters.
import { describe, expect, it } from 'vitest';
import { SpecError, formatIssue, formatPath } from '../spec/issues.js';
import { loadSpecText } from '../spec/load.js';

const BASE = `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  kubernetes:
    version: 1.36.5
  machines:
    network: 192.168.56.0/24
    nodes:
      - name: cp
        role: control-plane
        ip: 192.168.56.10
      - name: w
        count: 2
        ip: 192.168.56.21
        disks:
          - size: 10
`;

/** Replace exact text in the base spec; fails loudly if the text is not there. */
function edit(...pairs: [string, string][]): string {
  let text = BASE;
  for (const [from, to] of pairs) {
    if (!text.includes(from)) throw new Error(`corpus edit: ${JSON.stringify(from)} not in base spec`);
    text = text.replace(from, to);
  }
  return text;
}

function issuesOf(text: string): { errors: string[]; warnings: string[]; hints: string[] } {
  try {
    const { warnings } = loadSpecText(text, 'spec.yaml');
    return {
      errors: [],
      warnings: warnings.map((w) => `${w.line}:${w.column} ${formatPath(w.path)}: ${w.message}`),
      hints: warnings.map((w) => w.hint),
    };
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    const pick = (severity: string) =>
      error.issues
        .filter((i) => i.severity === severity)
        .map((i) => `${i.line}:${i.column} ${formatPath(i.path)}: ${i.message}`);
    return { errors: pick('error'), warnings: pick('warning'), hints: error.issues.map((i) => i.hint) };
  }
}

/** An edit that adds a managed endpoint (keepalived + haproxy) at address, with extra field lines. */
function managed(address: string, ...fields: string[]): [string, string] {
  return [
    '    version: 1.36.5',
    [
      '    version: 1.36.5',
      '    controlPlaneEndpoint:',
      `      address: ${address}`,
      '      managed: keepalived-haproxy',
      ...fields,
    ].join('\n'),
  ];
}

/** The whole `nodes:` list of BASE, for the cases that replace it. */
const BASE_NODES =
  '    nodes:\n' +
  '      - name: cp\n' +
  '        role: control-plane\n' +
  '        ip: 192.168.56.10\n' +
  '      - name: w\n' +
  '        count: 2\n' +
  '        ip: 192.168.56.21\n' +
  '        disks:\n' +
  '          - size: 10\n';

const CASES: { name: string; text: string; errors?: string[]; warnings?: string[] }[] = [
  {
    name: 'YAML syntax error',
    text: edit(['    version: 1.36.5', '    version: [1.36.5']),
    errors: [
      '8:3 (root): YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
  {
    name: 'duplicate key',
    text: edit(['  name: lab\n', '  name: lab\n  name: lab2\n']),
    errors: ['5:3 metadata.name: YAML has a duplicate key: "name" (first at line 4)'],
  },
  {
    name: 'wrong apiVersion',
    text: edit(['kubestrap.dev/v1alpha1', 'kubestrap.dev/v1']),
    errors: ['1:13 apiVersion: must be "kubestrap.dev/v1alpha1", not the string "kubestrap.dev/v1"'],
  },
  {
    name: 'wrong kind',
    text: edit(['kind: Cluster', 'kind: Clusters']),
    errors: ['2:7 kind: must be "Cluster", not the string "Clusters"'],
  },
  { name: 'missing metadata', text: edit(['metadata:\n  name: lab\n', '']), errors: ['1:1 metadata: is required'] },
  {
    name: 'cluster name with capitals',
    text: edit(['name: lab', 'name: Lab']),
    errors: ['4:9 metadata.name: must be a DNS label'],
  },
  {
    name: 'unknown top-level field',
    text: edit(['kind: Cluster\n', 'kind: Cluster\nspecs: {}\n']),
    errors: ['3:1 specs: unknown field "specs"'],
  },
  {
    name: 'misspelt node field',
    text: edit(['        role: control-plane', '        role: control-plane\n        memmory: 4096']),
    errors: ['13:9 spec.machines.nodes[0].memmory: unknown field "memmory"'],
  },
  {
    name: 'version with leading v',
    text: edit(['version: 1.36.5', 'version: v1.36.5']),
    errors: ['7:14 spec.kubernetes.version: must be an exact release such as 1.31.4 …'],
  },
  {
    name: 'version without patch',
    text: edit(['version: 1.36.5', 'version: "1.34"']),
    errors: ['7:14 spec.kubernetes.version: must be an exact release such as 1.31.4 …'],
  },
  {
    name: 'unsupported minor',
    text: edit(['version: 1.36.5', 'version: 1.28.15']),
    errors: ['7:14 spec.kubernetes.version: Kubernetes 1.28 is not supported'],
  },
  {
    name: 'Rook on a too-old Kubernetes',
    text: edit(['version: 1.36.5', 'version: 1.30.14']),
    errors: ['7:14 spec.kubernetes.version: Rook v1.20.6 supports Kubernetes 1.31-1.36, not 1.30.14'],
    warnings: ['7:14 spec.kubernetes.version: Kubernetes 1.30 reached end of life on 2025-06-28 …'],
  },
  {
    name: 'Rook on a Kubernetes newer than it supports',
    text: edit(['version: 1.36.5', 'version: 1.37.1']),
    errors: ['7:14 spec.kubernetes.version: Rook v1.20.6 supports Kubernetes 1.31-1.36, not 1.37.1'],
  },
  {
    name: 'an end-of-life minor is a warning, not an error',
    text: edit(['version: 1.36.5', 'version: 1.34.2']),
    warnings: [
      '7:14 spec.kubernetes.version: Kubernetes 1.34 reached end of life on 2026-10-27: upstream no longer ' +
        'fixes it, security fixes included',
    ],
  },
  {
    name: 'unknown provider',
    text: edit(['  machines:\n', '  machines:\n    provider: vbox\n']),
    errors: ['9:15 spec.machines.provider: must be one of "virtualbox", "libvirt", "existing", not the string "vbox"'],
  },
  {
    name: 'network with host bits',
    text: edit(['network: 192.168.56.0/24', 'network: 192.168.56.1/24']),
    errors: ['9:14 spec.machines.network: "192.168.56.1/24" has host bits set; the network is 192.168.56.0/24'],
  },
  {
    name: 'network not a CIDR',
    text: edit(['network: 192.168.56.0/24', 'network: 192.168.56.0']),
    errors: ['9:14 spec.machines.network: "192.168.56.0" is not in address/prefix form'],
  },
  {
    name: 'pod subnet overlaps the node network',
    text: edit(['    version: 1.36.5', '    version: 1.36.5\n    podSubnet: 192.168.0.0/16']),
    errors: ['8:16 spec.kubernetes.podSubnet: 192.168.0.0/16 overlaps the node network 192.168.56.0/24'],
  },
  {
    name: 'service subnet overlaps the pod subnet',
    text: edit(['    version: 1.36.5', '    version: 1.36.5\n    serviceSubnet: 10.32.0.0/16']),
    errors: ['8:20 spec.kubernetes.serviceSubnet: 10.32.0.0/16 overlaps the pod subnet 10.32.0.0/12'],
  },
  {
    name: 'Weave range differs from the pod subnet',
    text: `${BASE}  cni:\n    weave:\n      ipallocRange: 10.40.0.0/16\n`,
    errors: ['21:21 spec.cni.weave.ipallocRange: 10.40.0.0/16 differs from the pod subnet 10.32.0.0/12'],
  },
  {
    name: 'IP outside the node network',
    text: edit(['ip: 192.168.56.10', 'ip: 192.168.57.10']),
    errors: ['13:13 spec.machines.nodes[0].ip: 192.168.57.10 (node cp) is outside the node network 192.168.56.0/24'],
  },
  {
    name: 'IP is the network address',
    text: edit(['ip: 192.168.56.10', 'ip: 192.168.56.0']),
    errors: ['13:13 spec.machines.nodes[0].ip: 192.168.56.0 (node cp) is the network address of 192.168.56.0/24'],
  },
  {
    name: 'group runs into the broadcast address',
    text: edit(['ip: 192.168.56.21', 'ip: 192.168.56.254']),
    errors: [
      '16:13 spec.machines.nodes[1].ip: 192.168.56.255 (w2 of group w) is the broadcast address of 192.168.56.0/24',
    ],
  },
  {
    name: 'duplicate IP',
    text: edit(['ip: 192.168.56.21', 'ip: 192.168.56.10']),
    errors: ['16:13 spec.machines.nodes[1].ip: ip 192.168.56.10 is used twice (also by cp)'],
  },
  {
    name: 'duplicate hostname',
    text: edit(['      - name: w\n', '      - name: w\n        hostname: cp\n'], ['count: 2', 'count: 1']),
    errors: ['15:19 spec.machines.nodes[1].hostname: hostname cp is used twice (also by cp)'],
  },
  {
    name: 'duplicate machine name',
    text: `${BASE}      - name: cp\n        ip: 192.168.56.30\n        storage: false\n`,
    errors: ['19:15 spec.machines.nodes[2].name: name cp is used twice (also by cp)'],
  },
  {
    name: 'invalid IP',
    text: edit(['ip: 192.168.56.10', 'ip: 192.168.56.300']),
    errors: ['13:13 spec.machines.nodes[0].ip: must be an IPv4 address …'],
  },
  {
    name: 'no control plane',
    text: edit(['        role: control-plane\n', '']),
    errors: [
      '10:5 spec.machines.nodes: has no control-plane node',
      '11:15 spec.machines.nodes[0].name: Rook storage node cp has no raw disk of at least 5 GiB',
    ],
  },
  {
    name: 'two control planes',
    text: edit(['      - name: cp\n', '      - name: cp\n        count: 2\n']),
    errors: [
      '13:15 spec.machines.nodes[0].role: ' +
        '2 control-plane nodes cannot keep etcd quorum through a failure better than 1',
      '6:3 spec.kubernetes: several control-plane nodes need controlPlaneEndpoint',
    ],
  },
  {
    name: 'endpoint on a node address',
    text: edit(
      ['      - name: cp\n', '      - name: cp\n        count: 3\n'],
      ['    version: 1.36.5', '    version: 1.36.5\n    controlPlaneEndpoint: 192.168.56.11:6443'],
    ),
    errors: [
      '8:27 spec.kubernetes.controlPlaneEndpoint: ' +
        '192.168.56.11 is the address of node cp2; the endpoint must survive that node',
    ],
  },
  {
    name: 'three control planes behind a VIP kubestrap does not run',
    text: edit(
      ['      - name: cp\n', '      - name: cp\n        count: 3\n'],
      ['    version: 1.36.5', '    version: 1.36.5\n    controlPlaneEndpoint: 192.168.56.9:6443'],
    ),
    warnings: [
      '8:27 spec.kubernetes.controlPlaneEndpoint: kubestrap does not run a VIP or load balancer yet: ' +
        '192.168.56.9:6443 must already lead to port 6443 of the control-plane nodes ' +
        '(the first one answers during init)',
    ],
  },
  {
    name: 'endpoint without port',
    text: edit(['    version: 1.36.5', '    version: 1.36.5\n    controlPlaneEndpoint: 192.168.56.9']),
    errors: [
      '8:27 spec.kubernetes.controlPlaneEndpoint: must be host:port, e.g. 192.168.56.9:6443 or api.lab.local:6443 …',
    ],
  },
  {
    name: 'managed endpoint for three control planes: no warning about a VIP kubestrap does not run',
    text: edit(['      - name: cp\n', '      - name: cp\n        count: 3\n'], managed('192.168.56.9')),
  },
  {
    name: 'managed VIP on a node address and on the API server port',
    text: edit(
      ['      - name: cp\n', '      - name: cp\n        count: 3\n'],
      managed('192.168.56.11', '      port: 6443'),
    ),
    errors: [
      '9:16 spec.kubernetes.controlPlaneEndpoint.address: ' +
        '192.168.56.11 is the address of node cp2; the VIP must be a free address',
      '11:13 spec.kubernetes.controlPlaneEndpoint.port: ' +
        'haproxy cannot listen on 6443: kube-apiserver listens there on the same hosts',
    ],
  },
  {
    name: 'managed VIP outside the node network',
    text: edit(['      - name: cp\n', '      - name: cp\n        count: 3\n'], managed('192.168.57.9')),
    errors: [
      '9:16 spec.kubernetes.controlPlaneEndpoint.address: 192.168.57.9 is outside the node network 192.168.56.0/24 …',
    ],
  },
  {
    name: 'managed VIP on the broadcast address',
    text: edit(['      - name: cp\n', '      - name: cp\n        count: 3\n'], managed('192.168.56.255')),
    errors: [
      '9:16 spec.kubernetes.controlPlaneEndpoint.address: 192.168.56.255 is the broadcast address of 192.168.56.0/24',
    ],
  },
  {
    name: 'managed VIP on the network address',
    text: edit(['      - name: cp\n', '      - name: cp\n        count: 3\n'], managed('192.168.56.0')),
    errors: [
      '9:16 spec.kubernetes.controlPlaneEndpoint.address: 192.168.56.0 is the network address of 192.168.56.0/24',
    ],
  },
  {
    name: 'managed VIP given as a host name',
    text: edit(['      - name: cp\n', '      - name: cp\n        count: 3\n'], managed('api.lab.local')),
    errors: ['9:16 spec.kubernetes.controlPlaneEndpoint.address: "api.lab.local" is not an IPv4 address …'],
  },
  {
    name: 'managed endpoint with one control plane warns: nothing to fail over to',
    text: edit(managed('192.168.56.9')),
    warnings: [
      '10:16 spec.kubernetes.controlPlaneEndpoint.managed: ' +
        'with one control-plane node the managed endpoint has nothing to fail over to',
    ],
  },
  {
    name: 'VRRP router id above 255',
    text: edit(managed('192.168.56.9', '      virtualRouterId: 256')),
    errors: ['11:24 spec.kubernetes.controlPlaneEndpoint.virtualRouterId: must be at most 255, not 256'],
  },
  {
    name: 'VRRP router id 0',
    text: edit(managed('192.168.56.9', '      virtualRouterId: 0')),
    errors: ['11:24 spec.kubernetes.controlPlaneEndpoint.virtualRouterId: must be at least 1, not 0'],
  },
  {
    name: 'interface name with a slash',
    text: edit(managed('192.168.56.9', '      interface: eth/1')),
    errors: ['11:18 spec.kubernetes.controlPlaneEndpoint.interface: must be a Linux interface name such as eth1'],
  },
  {
    name: 'interface name longer than 15 characters',
    text: edit(managed('192.168.56.9', '      interface: enp0s8abcdefghij')),
    errors: ['11:18 spec.kubernetes.controlPlaneEndpoint.interface: must be a Linux interface name such as eth1'],
  },
  {
    name: 'external endpoint mapping without its port',
    text: edit(
      ['      - name: cp\n', '      - name: cp\n        count: 3\n'],
      [
        '    version: 1.36.5',
        '    version: 1.36.5\n    controlPlaneEndpoint:\n      address: lb.lab.local\n      managed: external',
      ],
    ),
    errors: ['10:16 spec.kubernetes.controlPlaneEndpoint.managed: an external endpoint needs its port'],
  },
  {
    name: 'external endpoint mapping keeps the warning about a load balancer kubestrap does not run',
    text: edit(
      ['      - name: cp\n', '      - name: cp\n        count: 3\n'],
      [
        '    version: 1.36.5',
        '    version: 1.36.5\n    controlPlaneEndpoint:\n' +
          '      address: lb.lab.local\n      managed: external\n      port: 6443',
      ],
    ),
    warnings: [
      '9:16 spec.kubernetes.controlPlaneEndpoint.address: kubestrap does not run a VIP or load balancer yet: ' +
        'lb.lab.local:6443 must already lead to port 6443 of the control-plane nodes ' +
        '(the first one answers during init)',
    ],
  },
  {
    name: 'misspelt field in the endpoint mapping',
    text: edit(managed('192.168.56.9'), ['      address: 192.168.56.9', '      adress: 192.168.56.9']),
    errors: [
      '9:7 spec.kubernetes.controlPlaneEndpoint.address: is required',
      '9:7 spec.kubernetes.controlPlaneEndpoint.adress: unknown field "adress"',
    ],
  },
  {
    name: 'endpoint neither host:port nor a mapping',
    text: edit(['    version: 1.36.5', '    version: 1.36.5\n    controlPlaneEndpoint: [192.168.56.9]']),
    errors: ['8:5 spec.kubernetes.controlPlaneEndpoint: has the wrong shape: a list'],
  },
  {
    name: 'control plane with one CPU',
    text: edit(['        role: control-plane', '        role: control-plane\n        cpus: 1']),
    errors: ['13:15 spec.machines.nodes[0].cpus: control-plane node cp has 1 CPU, kubeadm requires 2'],
  },
  {
    name: 'control plane with too little memory',
    text: edit(['        role: control-plane', '        role: control-plane\n        memory: 1024']),
    errors: ['13:17 spec.machines.nodes[0].memory: control-plane node cp has 1024 MiB, kubeadm requires 1700'],
  },
  {
    name: 'memory not a number',
    text: edit(['        role: control-plane', '        role: control-plane\n        memory: 2G']),
    errors: ['13:17 spec.machines.nodes[0].memory: must be a number, not the string "2G"'],
  },
  {
    name: 'Rook storage node without a disk',
    text: edit(['        disks:\n          - size: 10\n', '']),
    errors: ['14:15 spec.machines.nodes[1].name: Rook storage w1 of group w has no raw disk of at least 5 GiB'],
  },
  {
    name: 'Rook disk too small',
    text: edit(['size: 10', 'size: 4']),
    errors: ['17:9 spec.machines.nodes[1].disks: Rook storage w1 of group w has no raw disk of at least 5 GiB'],
  },
  {
    name: 'Vagrant disk without size',
    text: edit(['          - size: 10', '          - device: /dev/sdb']),
    errors: [
      '18:13 spec.machines.nodes[1].disks[0]: virtualbox needs the size of a disk it creates',
      '17:9 spec.machines.nodes[1].disks: Rook storage w1 of group w has no raw disk of at least 5 GiB',
    ],
  },
  {
    name: 'Rook storage node with little memory',
    text: edit(['        count: 2', '        count: 2\n        memory: 2048']),
    warnings: [
      '16:17 spec.machines.nodes[1].memory: Rook storage w1 of group w has 2048 MiB; a Ceph OSD alone wants 2 GiB',
    ],
  },
  {
    name: 'replicas beyond storage nodes',
    text: `${BASE}  storage:\n    rook:\n      replicas: 3\n`,
    errors: ['21:17 spec.storage.rook.replicas: 3 replicas need 3 storage nodes; the spec has 2'],
  },
  {
    name: 'defaultStorageClass not a boolean',
    text: `${BASE}  storage:\n    rook:\n      defaultStorageClass: "yes"\n`,
    errors: ['21:28 spec.storage.rook.defaultStorageClass: must be true or false, not the string "yes"'],
  },
  {
    name: 'defaultStorageClass with Rook disabled',
    text: `${BASE}  storage:\n    rook:\n      enabled: false\n      defaultStorageClass: false\n`,
    warnings: [
      '22:28 spec.storage.rook.defaultStorageClass: has no effect while Rook is disabled: no StorageClass is created',
    ],
  },
  {
    name: 'VirtualBox network outside 192.168.56.0/21',
    text: edit(['192.168.56.0/24', '10.10.0.0/24'], ['192.168.56.10', '10.10.0.10'], ['192.168.56.21', '10.10.0.21']),
    warnings: [
      '9:14 spec.machines.network: ' +
        '10.10.0.0/24 is outside 192.168.56.0/21, which VirtualBox allows for host-only networks by default',
    ],
  },
  {
    name: 'bad label key',
    text: edit(['        role: control-plane', '        role: control-plane\n        labels:\n          "bad key": x']),
    errors: [
      '14:11 spec.machines.nodes[0].labels.bad key: label key name "bad key" ' +
        "must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    ],
  },
  {
    name: 'injection attempt in a label value',
    text: edit([
      '        role: control-plane',
      '        role: control-plane\n        labels:\n          tier: "$(reboot)"',
    ]),
    errors: [
      '14:17 spec.machines.nodes[0].labels.tier: label value "$(reboot)" ' +
        "must be at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    ],
  },
  {
    name: 'bad taint effect',
    text: edit([
      '        role: control-plane',
      '        role: control-plane\n        taints:\n          - key: dedicated\n            effect: NoScheduled',
    ]),
    errors: [
      '15:21 spec.machines.nodes[0].taints[0].effect: ' +
        'must be one of "NoSchedule", "PreferNoSchedule", "NoExecute", not the string "NoScheduled"',
    ],
  },
  {
    name: 'hostname template gives an invalid name',
    text: edit(['      - name: w\n', '      - name: w\n        hostname: "k8s_{name}"\n']),
    errors: ['15:19 spec.machines.nodes[1].hostname: hostname "k8s_w1" is not a lowercase DNS name'],
  },
  {
    name: 'ssh settings on a Vagrant node',
    text: edit(['        role: control-plane', '        role: control-plane\n        ssh:\n          user: root']),
    errors: ['13:9 spec.machines.nodes[0].ssh: only the existing provider uses ssh; Vagrant supplies the connection'],
  },
  {
    name: 'existing host disk without device',
    text: edit(['  machines:\n', '  machines:\n    provider: existing\n']),
    errors: ['19:13 spec.machines.nodes[1].disks[0]: an existing host needs the disk device path'],
  },
  {
    name: 'broken containerd release',
    text: `${BASE}  runtime:\n    containerd:\n      version: 1.6.4\n`,
    errors: ["21:16 spec.runtime.containerd.version: containerd 1.6.4 breaks Weave Net's IP allocation"],
  },
  {
    name: 'bundle source without a path',
    text: `${BASE}  packages:\n    source: bundle\n`,
    errors: ['19:3 spec.packages: source: bundle needs the bundle path'],
  },
  {
    name: 'http kubernetesRepository: its key would come over plain HTTP',
    text: `${BASE}  packages:\n    kubernetesRepository: "http://mirror.lab/core:/stable:"\n`,
    errors: [
      '20:27 spec.packages.kubernetesRepository: ' +
        'is http://, and its signing key would come over the same unencrypted channel as the packages',
    ],
  },
  {
    name: 'http kubernetesRepository with insecureHttpKey: true is accepted',
    text:
      `${BASE}  packages:\n    kubernetesRepository: "http://mirror.lab/core:/stable:"\n` +
      '    insecureHttpKey: true\n',
  },
  {
    name: 'mtu out of range',
    text: `${BASE}  cni:\n    weave:\n      mtu: 100\n`,
    errors: ['21:12 spec.cni.weave.mtu: must be at least 576, not 100'],
  },
  {
    name: 'count zero',
    text: edit(['count: 2', 'count: 0']),
    errors: ['15:16 spec.machines.nodes[1].count: must be at least 1, not 0'],
  },
  {
    name: 'nodes not a list',
    text: edit([BASE_NODES, '    nodes: {}\n']),
    errors: ['10:5 spec.machines.nodes: must be a list, not a mapping'],
  },
  {
    name: 'empty node list',
    text: edit([BASE_NODES, '    nodes: []\n']),
    errors: ['10:5 spec.machines.nodes: must list at least one node …'],
  },
  {
    name: 'several problems are all reported at once',
    text: edit(
      ['ip: 192.168.56.10', 'ip: 192.168.57.10'],
      ['        role: control-plane', '        role: control-plane\n        cpus: 1'],
      ['size: 10', 'size: 2'],
    ),
    errors: [
      '13:15 spec.machines.nodes[0].cpus: control-plane node cp has 1 CPU, kubeadm requires 2',
      '14:13 spec.machines.nodes[0].ip: 192.168.57.10 (node cp) is outside the node network 192.168.56.0/24',
      '18:9 spec.machines.nodes[1].disks: Rook storage w1 of group w has no raw disk of at least 5 GiB',
    ],
  },
  {
    name: 'endpoint port above 65535',
    text: edit(['    version: 1.36.5', '    version: 1.36.5\n    controlPlaneEndpoint: 192.168.56.9:99999']),
    errors: ['8:27 spec.kubernetes.controlPlaneEndpoint: has a port outside 1-65535'],
  },
  {
    name: 'registry mirror URL with port 0',
    text: `${BASE}  packages:\n    registryMirrors:\n      docker.io:\n        url: https://mirror.lab:0/docker\n`,
    errors: ['22:14 spec.packages.registryMirrors.docker.io.url: has a port outside 1-65535'],
  },
  {
    name: 'registry host with port 70000',
    text: `${BASE}  packages:\n    registryMirrors:\n      mirror.lab:70000:\n        url: https://mirror.lab/x\n`,
    errors: ['21:7 spec.packages.registryMirrors.mirror.lab:70000: has a port outside 1-65535'],
  },
  {
    name: '__proto__ as a label key',
    text: edit(['        ip: 192.168.56.10\n', '        ip: 192.168.56.10\n        labels:\n          __proto__: x\n']),
    errors: ['15:11 spec.machines.nodes[0].labels.__proto__: is not a field name ("__proto__" is reserved)'],
  },
  {
    name: '__proto__ as a field',
    text: edit(['metadata:\n', 'metadata:\n  __proto__: {}\n']),
    errors: ['4:3 metadata.__proto__: is not a field name ("__proto__" is reserved)'],
  },
  {
    name: 'missing apiVersion and kind',
    text: edit(['apiVersion: kubestrap.dev/v1alpha1\nkind: Cluster\n', '']),
    errors: ['1:1 apiVersion: is required', '1:1 kind: is required'],
  },
  {
    name: 'schema errors and rule errors together',
    text: edit(
      ['        role: control-plane\n', '        role: control-plane\n        cpus: 1\n'],
      ['        count: 2\n', '        count: 2\n        memory: lots\n'],
      ['    network: 192.168.56.0/24', '    network: 192.168.56.0/24\n    linkedClones: maybe'],
    ),
    errors: [
      '10:19 spec.machines.linkedClones: must be true or false, not the string "maybe"',
      '14:15 spec.machines.nodes[0].cpus: control-plane node cp has 1 CPU, kubeadm requires 2',
      '18:17 spec.machines.nodes[1].memory: must be a number, not the string "lots"',
    ],
  },
  {
    name: 'schema error in one node, duplicate IP between two others',
    text: edit([
      BASE_NODES,
      BASE_NODES +
        '      - name: x\n        ip: 192.168.56.10\n' +
        '      - name: y\n        ip: 192.168.56.30\n        cpus: many\n',
    ]),
    errors: [
      '20:13 spec.machines.nodes[2].ip: ip 192.168.56.10 is used twice (also by cp)',
      '23:15 spec.machines.nodes[3].cpus: must be a number, not the string "many"',
    ],
  },
];

describe('malformed specs', () => {
  it('the corpus has at least 30 failing cases', () => {
    expect(CASES.filter((c) => c.errors?.length).length).toBeGreaterThanOrEqual(30);
  });

  it('the base spec is valid', () => {
    expect(issuesOf(BASE)).toEqual({ errors: [], warnings: [], hints: [] });
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { errors, warnings, hints } = issuesOf(c.text);
    const match = (actual: string[], expected: string[] | undefined) => {
      expect(actual.length, actual.join('\n')).toBe(expected?.length ?? 0);
      // An expectation ending in " …" is a prefix (the rest is a long fixed explanation).
      expected?.forEach((line) =>
        expect(actual, actual.join('\n')).toContainEqual(
          line.endsWith(' …') ? expect.stringMatching(`^${escape(line.slice(0, -2))}`) : line,
        ),
      );
    };
    match(errors, c.errors);
    match(warnings, c.warnings);
    for (const hint of hints) expect(hint.length).toBeGreaterThan(5);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The text `kubestrap validate` prints for `text`: one formatted line per problem. */
function printed(text: string): string[] {
  try {
    loadSpecText(text, 'spec.yaml');
  } catch (error) {
    if (error instanceof SpecError) return error.issues.map(formatIssue);
    throw error;
  }
  throw new Error('the spec was valid');
}

describe('how problems are printed', () => {
  it('an overlap names both fields with their lines', () => {
    const lines = printed(edit(['    version: 1.36.5', '    version: 1.36.5\n    podSubnet: 192.168.0.0/16']));
    expect(lines).toEqual([
      'spec.yaml:8:16 spec.kubernetes.podSubnet: 192.168.0.0/16 overlaps the node network 192.168.56.0/24 ' +
        '(spec.machines.network, line 10) — choose a range that shares no address with the node network',
    ]);
  });

  it('a newline in a value stays inside its problem line, escaped', () => {
    const lines = printed(
      edit(['        ip: 192.168.56.10\n', '        ip: 192.168.56.10\n        labels:\n          tier: "a\\nb"\n']),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(lines[0]).toMatch(/^spec\.yaml:15:17 spec\.machines\.nodes\[0\]\.labels\.tier: label value "a\\nb" must/);
  });

  it('terminal escape sequences in keys and values are shown, not sent (C0 and C1)', () => {
    const lines = printed(
      edit([
        '        ip: 192.168.56.10\n',
        '        ip: 192.168.56.10\n        labels:\n          "\\e]0;owned\\a\\e[2J": x\n          tier: "\\x9b31m"\n',
      ]),
    );
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(lines.join('\n')).toContain('\\u001b]0;owned\\u0007\\u001b[2J');
    // JSON quoting leaves C1 controls (\x9b is CSI on many terminals) as they are; the printer shows them.
    expect(lines.join('\n')).toContain('label value "\\x9b31m" must');
  });

  it('a long value is echoed cut short', () => {
    const lines = printed(edit(['    network: 192.168.56.0/24', `    network: ${'x'.repeat(3000)}`]));
    expect(lines.some((l) => l.includes(`"${'x'.repeat(80)}"… (3000 characters)`))).toBe(true);
    for (const line of lines) expect(line.length).toBeLessThan(400);
  });
});
