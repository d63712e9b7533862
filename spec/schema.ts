// The cluster spec as users write it (apiVersion kubestrap.dev/v1alpha1, kind Cluster).
// Field shapes, enums and per-field defaults live here; rules that relate several
// fields (subnets, counts, IP ranges) live in rules.ts, where they can name every
// offending place at once.
import { z } from 'zod';
import { DNS_LABEL } from './names.js';
import { IPV4 } from './net.js';
import {
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_ROOK_VERSION,
  KUBERNETES_VERSION_PATTERN,
  ROOK_VERSIONS,
  SUPPORTED_RANGE,
  WEAVE_VERSIONS,
} from './versions.js';

export const API_VERSION = 'kubestrap.dev/v1alpha1';

const dnsLabel = (what: string) =>
  z.string().regex(DNS_LABEL, {
    message:
      `must be a DNS label — use 1-63 lowercase letters, digits or '-', ` +
      `starting and ending with a letter or digit (${what})`,
  });

const ipv4 = z
  .string()
  .regex(IPV4, {
    message: 'must be an IPv4 address such as 192.168.56.10 — four numbers from 0 to 255 separated by dots',
  })
  .meta({ description: 'An IPv4 address, e.g. 192.168.56.10.' });
const cidr = z.string().meta({ description: 'An IPv4 network in address/prefix form, e.g. 10.32.0.0/12.' });
const mebibytes = z
  .int()
  .min(256)
  .max(4 * 1024 * 1024)
  .meta({ description: 'Memory in MiB.' });
const sshPort = z.int().min(1).max(65535);

const PORT_MESSAGE = { message: 'has a port outside 1-65535 — give a TCP port from 1 to 65535' };
/** The port of host:port (none is fine). */
const endpointPortInRange = (text: string) => {
  const port = /:([0-9]+)$/.exec(text)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
};
/** The port of an http(s) URL's authority, the part before the path (whose colons are no port). */
const urlPortInRange = (text: string) => endpointPortInRange(/^https?:\/\/([^/]*)/.exec(text)?.[1] ?? '');

const Bastion = z
  .strictObject({
    address: z.string().min(1).meta({ description: 'Address (IP or DNS name) of the jump host.' }),
    port: sshPort.default(22),
    user: z.string().min(1).optional().meta({ description: 'SSH user on the jump host; defaults to the node user.' }),
    keyPath: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Private key for the jump host; defaults to the node key.' }),
  })
  .meta({ description: 'One jump host through which the node is reached.' });

const SshAccess = z
  .strictObject({
    user: z.string().min(1).optional().meta({ description: 'SSH user (must be root or have passwordless sudo).' }),
    port: sshPort.optional().meta({ description: 'SSH port, default 22.' }),
    keyPath: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Path to the private key; ~ is expanded. Passphrase keys and the SSH agent also work.' }),
    bastion: Bastion.optional(),
  })
  .meta({ description: 'How kubestrap reaches an existing host over SSH.' });

const Disk = z
  .strictObject({
    size: z
      .int()
      .min(1)
      .max(65536)
      .optional()
      .meta({ description: 'Size in GiB. Required for Vagrant providers, where kubestrap creates the disk.' }),
    device: z
      .string()
      .regex(/^\/dev\/[A-Za-z0-9/_-]+$/, {
        message: 'must be a device path such as /dev/sdb — use the path as lsblk shows it',
      })
      .optional()
      .meta({
        description:
          'Device path in the guest. ' +
          'Derived for Vagrant disks (/dev/sdb… on VirtualBox, /dev/vdb… on libvirt); required for existing hosts.',
      }),
  })
  .meta({ description: 'An extra raw disk, given whole to Rook as a Ceph OSD.' });

const Taint = z.strictObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

export const Role = z.enum(['control-plane', 'worker']);

const NodeEntry = z
  .strictObject({
    name: dnsLabel('the Vagrant machine name; with count, the prefix of the generated names').meta({
      description: 'Machine name. With count, a prefix: count 3 and name minion give minion1, minion2, minion3.',
    }),
    count: z
      .int()
      .min(1)
      .max(500)
      .optional()
      .meta({ description: 'Makes this entry a group of nodes with consecutive names and IPs.' }),
    role: Role.default('worker'),
    ip: ipv4.meta({
      description:
        'Private-network IPv4 address: the node IP, API advertise address and kubelet node-ip. ' +
        'With count, the first address.',
    }),
    hostname: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'Hostname and Kubernetes node name; "{name}" is replaced by the machine name, e.g. k8s.{name}.dev. ' +
          'Defaults to the machine name.',
      }),
    cpus: z.int().min(1).max(256).optional().meta({ description: 'vCPUs; default 2.' }),
    memory: mebibytes.optional().meta({ description: 'Memory in MiB; default 2048 (4096 on Rook storage nodes).' }),
    disks: z.array(Disk).optional(),
    storage: z.boolean().optional().meta({
      description: 'Runs Rook OSDs. Default: workers do; control-plane nodes do only when the cluster has no workers.',
    }),
    labels: z.record(z.string(), z.string()).optional(),
    taints: z
      .array(Taint)
      .optional()
      .meta({
        description:
          'Node taints. Control-plane nodes default to node-role.kubernetes.io/control-plane:NoSchedule ' +
          'when the cluster has workers; [] means untainted.',
      }),
    address: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'existing provider: address kubestrap connects to; defaults to ip.' }),
    ssh: SshAccess.optional(),
  })
  .meta({ description: 'A node, or a group of nodes when count is set.' });

const Kubelet = z.strictObject({
  failCgroupV1: z
    .boolean()
    .optional()
    .meta({
      description:
        "KubeletConfiguration failCgroupV1. Unset: the kubelet's default (true from 1.35: it refuses to start " +
        'on a cgroup v1 host). false keeps 1.35+ running on cgroup v1, and then kubestrap also tells kubeadm to ' +
        'skip its SystemVerification check, as upstream requires; cgroup v1 is deprecated (validate warns).',
    }),
});

/** An IPv4 address or DNS name, lowercase: the host of either endpoint form. */
const ENDPOINT_HOST = '[a-z0-9]([-a-z0-9.]*[a-z0-9])?';
const DNS_NAME = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';

/** The string form: an endpoint the user runs (their load balancer, VIP or DNS name). */
const EndpointText = z
  .string()
  .regex(new RegExp(`^${ENDPOINT_HOST}:[0-9]{1,5}$`), {
    message: 'must be host:port, e.g. 192.168.56.9:6443 or api.lab.local:6443 — give the VIP or DNS name and the port',
  })
  .refine(endpointPortInRange, PORT_MESSAGE);

/** Linux IFNAMSIZ is 16 with the NUL; keepalived's config has no quoting, so a conservative character set. */
const INTERFACE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/;

const ENDPOINT_MODES = ['keepalived-haproxy', 'external'] as const;

const Endpoint = z
  .strictObject({
    address: z
      .string()
      .regex(new RegExp(`^${ENDPOINT_HOST}$`), {
        message: 'must be an IPv4 address or DNS name such as 192.168.56.10 — the VIP the API is reached at',
      })
      .meta({ description: 'The VIP (IPv4; any host name for external).' }),
    port: z
      .int()
      .min(1)
      .max(65535)
      .optional()
      .meta({ description: 'TCP port of the endpoint; default 8443 for managed, required for external.' }),
    managed: z.enum(ENDPOINT_MODES).meta({
      description:
        'keepalived-haproxy: kubestrap runs keepalived (the VIP, by VRRP) and haproxy (to every ' +
        "control plane's 6443) on the control-plane nodes. external: your own load balancer or VIP.",
    }),
    virtualRouterId: z
      .int()
      .min(1)
      .max(255)
      .optional()
      .meta({
        description:
          'VRRP virtual router id, unique per network; default derived from metadata.name. ' +
          'Set it when two clusters on one network collide.',
      }),
    dnsNames: z
      .array(
        z.string().regex(new RegExp(`^${DNS_NAME}$`), {
          message: 'must be a lowercase DNS name such as api.lab.example — letters, digits, - and .',
        }),
      )
      .max(16)
      .optional()
      .meta({
        description:
          "DNS names that lead to the endpoint (your DNS or /etc/hosts maps them to it): put into the API server's " +
          'certificate, so clients may use them instead of the address.',
      }),
    interface: z
      .string()
      .regex(INTERFACE_NAME, {
        message: 'must be a Linux interface name such as eth1 — 1-15 letters, digits, _ . -, no / or whitespace',
      })
      .optional()
      .meta({
        description: "Interface that carries the VIP; default: the one holding the node's ip, found on the host.",
      }),
  })
  .meta({ description: 'The control-plane endpoint as a mapping.' });

const Kubernetes = z.strictObject({
  version: z
    .string()
    .regex(KUBERNETES_VERSION_PATTERN, {
      message: 'must be an exact release such as 1.31.4 — write MAJOR.MINOR.PATCH without a leading v',
    })
    .default(DEFAULT_KUBERNETES_VERSION)
    .meta({ description: `Exact Kubernetes release, ${SUPPORTED_RANGE} (kubestrap versions lists them).` }),
  podSubnet: cidr.default('10.32.0.0/12'),
  serviceSubnet: cidr.default('10.96.0.0/12'),
  dnsDomain: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
      message: 'must be a lowercase DNS name such as cluster.local — use letters, digits, - and .',
    })
    .default('cluster.local'),
  controlPlaneEndpoint: z
    .union([EndpointText, Endpoint])
    .optional()
    .meta({
      description:
        'Stable address of the API server. host:port (a VIP or DNS name your own load balancer serves), ' +
        'or a mapping: with managed: keepalived-haproxy kubestrap runs the VIP and load balancer on the ' +
        'control-plane nodes. Required with several control-plane nodes.',
    }),
  kubelet: Kubelet.default({}),
});

const Box = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/, {
      message: 'must be a box name such as debian/bookworm64 — ORG/NAME from the box catalogue, or a local box name',
    })
    .optional()
    .meta({ description: 'Vagrant box; default debian/bookworm64 (Debian) or almalinux/9 (RHEL-like).' }),
  version: z
    .string()
    .regex(/^[0-9][0-9A-Za-z.+-]*$/, {
      message: 'must be a box version such as 12.20250126.1 — copy it from the box catalogue',
    })
    .optional(),
  file: z
    .string()
    .min(1)
    .optional()
    .meta({
      description:
        'A local .box file (offline labs): kubestrap up adds it to Vagrant as box.name ' +
        'when Vagrant does not have that box yet. Relative to the spec file.',
    }),
  storageController: z
    .string()
    .regex(/^[A-Za-z0-9 ._-]+$/, { message: "must be a VirtualBox controller name such as 'SATA Controller'" })
    .default('SATA Controller')
    .meta({ description: 'VirtualBox storage controller that extra disks attach to.' }),
});

const Libvirt = z.strictObject({
  driver: z
    .enum(['kvm', 'qemu'])
    .default('kvm')
    .meta({ description: 'qemu is software emulation, for hosts without KVM.' }),
  storagePool: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, { message: 'must be a libvirt pool name — letters, digits, . _ -' })
    .default('default'),
  emulatorPath: z
    .string()
    .regex(/^\/[A-Za-z0-9/._-]+$/, { message: 'must be an absolute path to a qemu binary' })
    .optional(),
  isolated: z
    .boolean()
    .default(false)
    .meta({
      description:
        'No NAT on the management and private networks: the VMs reach only this machine. ' +
        'For offline labs; packages then come from a mirror the VMs can reach, or a bundle.',
    }),
});

const Machines = z.strictObject({
  provider: z
    .enum(['virtualbox', 'libvirt', 'existing'])
    .optional()
    .meta({
      description:
        'Where the nodes come from. ' +
        'Without it, kubestrap up uses VirtualBox when it is installed, else libvirt (and remembers the choice); ' +
        'render and validate assume virtualbox unless --provider says otherwise.',
    }),
  box: Box.prefault({}),
  network: cidr
    .default('192.168.56.0/24')
    .meta({ description: 'The private network all nodes share (a host-only network for VirtualBox).' }),
  linkedClones: z.boolean().default(true).meta({
    description: 'Clone VMs from the box image instead of copying it (VirtualBox; libvirt always uses backing images).',
  }),
  libvirt: Libvirt.prefault({}),
  ssh: SshAccess.optional().meta({
    description: 'existing provider: SSH settings shared by all nodes; a node may override them.',
  }),
  nodes: z.array(NodeEntry).min(1, { message: 'must list at least one node — add a control-plane node' }),
});

const Os = z.strictObject({
  family: z
    .enum(['debian', 'rhel'])
    .default('debian')
    .meta({ description: 'debian covers Debian and Ubuntu; rhel covers RHEL, AlmaLinux, Rocky.' }),
  architecture: z
    .enum(['amd64', 'arm64'])
    .default('amd64')
    .meta({
      description:
        "The hosts' CPU architecture (Debian's names; rpm's x86_64/aarch64): " +
        'what `kubestrap bundle` collects packages, binaries and images for. ' +
        "Online installs let each host's package manager choose.",
    }),
});

const Runtime = z.strictObject({
  containerd: z
    .strictObject({
      version: z
        .string()
        .regex(/^[12]\.\d+(\.\d+)?$/, {
          message: 'must be a containerd release such as 1.7.27 or 2.1 — MAJOR.MINOR[.PATCH]',
        })
        .optional()
        .meta({ description: 'containerd release to install; default: the distribution package.' }),
      sandboxImage: z
        .string()
        .regex(/^[a-z0-9][a-z0-9./:_-]*(@sha256:[a-f0-9]{64})?$/, {
          message: 'must be an image reference such as registry.k8s.io/pause:3.10',
        })
        .optional()
        .meta({
          description: 'Pod sandbox (pause) image; default: the one kubeadm expects for the Kubernetes version.',
        }),
    })
    .prefault({}),
});

const Weave = z.strictObject({
  version: z.enum(Object.keys(WEAVE_VERSIONS) as [keyof typeof WEAVE_VERSIONS]).default('2.9.0'),
  imageRepository: z
    .string()
    .regex(/^[a-z0-9][a-z0-9./:_-]*$/, { message: 'must be a registry path such as docker.io/rajchaudhuri' })
    .optional()
    .meta({
      description: 'Where weave-kube and weave-npc come from; default follows the version. Set it for a mirror.',
    }),
  ipallocRange: cidr
    .optional()
    .meta({ description: 'IPALLOC_RANGE; defaults to kubernetes.podSubnet and must equal it.' }),
  encryption: z
    .boolean()
    .default(true)
    .meta({ description: 'Encrypt traffic between nodes with a password kept in the weave-passwd Secret.' }),
  iptablesBackend: z.enum(['nft', 'legacy']).default('nft'),
  mtu: z.int().min(576).max(9000).default(1376),
});

const Rook = z.strictObject({
  enabled: z.boolean().default(true),
  version: z.enum(Object.keys(ROOK_VERSIONS) as [keyof typeof ROOK_VERSIONS]).default(DEFAULT_ROOK_VERSION),
  deviceFilter: z
    .string()
    .regex(/^[A-Za-z0-9^$|()[\]*+?.-]+$/, {
      message: 'must be a device-name regular expression such as ^sd[b-z] — no spaces or slashes',
    })
    .optional()
    .meta({ description: 'Regular expression over device names; default: exactly the disks the spec lists.' }),
  replicas: z
    .int()
    .min(1)
    .max(7)
    .optional()
    .meta({ description: 'Pool replica count; default 1 with fewer than 3 storage nodes, else 3.' }),
  defaultStorageClass: z
    .boolean()
    .optional()
    .meta({
      description:
        "Marks the rook-ceph-block StorageClass as the cluster's default (claims without a storageClassName " +
        'bind to it); default true. Set false when another provisioner is the default.',
    }),
  manifestBase: z
    .string()
    .regex(/^https?:\/\/[A-Za-z0-9.:\[\]_~%\/-]+$/, {
      message:
        'must be an http(s) URL without spaces or quotes — ' +
        'the directory holding crds.yaml, common.yaml, csi-operator.yaml and operator.yaml',
    })
    .refine(urlPortInRange, PORT_MESSAGE)
    .optional()
    .meta({
      description:
        "Where Rook's upstream manifests (crds, common, csi-operator, operator) are fetched from; " +
        "default: the release tag's deploy/examples on GitHub. Set it for a mirror.",
    }),
});

const Packages = z.strictObject({
  source: z.enum(['online', 'bundle']).default('online'),
  kubernetesRepository: z
    .string()
    .regex(/^https?:\/\/[A-Za-z0-9.:\[\]_~%\/-]+$/, {
      message:
        'must be an http(s) URL without spaces or quotes, e.g. https://pkgs.k8s.io/core:/stable: ' +
        '— give the base that /v1.X/deb/ and /v1.X/rpm/ hang off',
    })
    .refine(urlPortInRange, PORT_MESSAGE)
    .default('https://pkgs.k8s.io/core:/stable:')
    .meta({
      description:
        'Base of the Kubernetes package repositories (pkgs.k8s.io layout: BASE/v1.X/deb/, BASE/v1.X/rpm/); ' +
        'set it for a mirror.',
    }),
  insecureHttpKey: z
    .boolean()
    .default(false)
    .meta({
      description:
        'Accept an http:// kubernetesRepository: its signing key (Release.key, repodata/repomd.xml.key) ' +
        'then comes over the same unencrypted channel as the packages it vouches for, so anyone on the path ' +
        'can replace both. Without it, an http:// kubernetesRepository is an error; prefer an https:// mirror.',
    }),
  bundle: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Path to a kubestrap bundle; required when source is bundle.' }),
  bundleKey: z
    .string()
    .min(1)
    .optional()
    .meta({
      description:
        'Path to the public key (kubestrap bundle keygen FILE.pub) the bundle must be signed with; ' +
        'as install --key. Relative to the spec file.',
    }),
  osRepository: z
    .strictObject({
      url: z
        .string()
        .regex(/^https?:\/\/[A-Za-z0-9.:\[\]_~%\/-]+$/, {
          message: 'must be an http(s) URL without spaces or quotes, e.g. http://deb.debian.org/debian',
        })
        .refine(urlPortInRange, PORT_MESSAGE)
        .default('http://deb.debian.org/debian'),
      suite: z
        .string()
        .regex(/^[A-Za-z0-9._-]+$|^\.?\/$/, {
          message: 'must be a suite such as bookworm, or ./ for a flat repository',
        })
        .default('bookworm'),
      components: z
        .array(z.string().regex(/^[a-z0-9-]+$/, { message: 'must be a component such as main' }))
        .min(1)
        .default(['main']),
      key: z
        .string()
        .min(1)
        .default('/usr/share/keyrings/debian-archive-keyring.gpg')
        .meta({ description: "The repository's signing key (a file on the machine that runs kubestrap bundle)." }),
    })
    .prefault({})
    .meta({
      description:
        '`kubestrap bundle` takes containerd, runc and their dependencies from here ' +
        '(Debian-family hosts; RHEL-like hosts: rpmRepositories): your OS release and its mirror.',
    }),
  rpmRepositories: z
    .array(
      z.strictObject({
        url: z
          .string()
          .regex(/^https?:\/\/[A-Za-z0-9.:\[\]_~%\/-]+$/, {
            message:
              'must be an http(s) URL without spaces or quotes: the directory holding repodata/, ' +
              'e.g. https://download.docker.com/linux/centos/9/x86_64/stable',
          })
          .refine(urlPortInRange, PORT_MESSAGE),
        key: z
          .string()
          .min(1)
          .meta({
            description:
              "The repository's signing key (a file on the machine that runs kubestrap bundle), " +
              'e.g. RPM-GPG-KEY-AlmaLinux-9.',
          }),
      }),
    )
    .default([])
    .meta({
      description:
        '`kubestrap bundle` for RHEL-like hosts takes containerd.io ' +
        'and what the Kubernetes packages need from these yum repositories (a baseurl each): ' +
        "Docker CE's, and your OS release's BaseOS and AppStream. " +
        'The key checks repomd.xml.asc, or each .rpm where a repository signs packages only.',
    }),
  binaryRepository: z
    .string()
    .regex(/^https?:\/\/[A-Za-z0-9.:\[\]_~%\/-]+$/, {
      message: 'must be an http(s) URL without spaces or quotes, e.g. https://dl.k8s.io/release',
    })
    .refine(urlPortInRange, PORT_MESSAGE)
    .default('https://dl.k8s.io/release')
    .meta({
      description:
        'Where `kubestrap bundle` fetches the kubeadm/kubelet/kubectl binaries and their .sha256 ' +
        '(dl.k8s.io layout: BASE/vX.Y.Z/bin/linux/amd64/NAME).',
    }),
  registryMirrors: z
    .record(
      z
        .string()
        .regex(/^[a-z0-9.-]+(:[0-9]+)?$/, { message: 'must be a registry host such as registry.k8s.io or docker.io' })
        .refine(endpointPortInRange, PORT_MESSAGE),
      z.strictObject({
        url: z
          .string()
          .regex(/^https?:\/\/[A-Za-z0-9.:\[\]_~%\/-]+$/, {
            message: 'must be an http(s) URL, e.g. https://mirror.example.com/registry.k8s.io (http: without TLS)',
          })
          .refine(urlPortInRange, PORT_MESSAGE),
      }),
    )
    .default({})
    .meta({
      description:
        '`kubestrap bundle` pulls images of these registries from the given mirrors instead; ' +
        'the images keep their original names.',
    }),
});

export const ClusterSpecSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal('Cluster'),
    metadata: z.strictObject({
      name: dnsLabel('the cluster name').meta({
        description: 'Cluster name; names the working directory, kubeconfig context and Vagrant machines.',
      }),
    }),
    spec: z.strictObject({
      kubernetes: Kubernetes.prefault({}),
      machines: Machines,
      os: Os.prefault({}),
      runtime: Runtime.prefault({}),
      cni: z.strictObject({ weave: Weave.prefault({}) }).prefault({}),
      storage: z.strictObject({ rook: Rook.prefault({}) }).prefault({}),
      packages: Packages.prefault({}),
    }),
  })
  .meta({
    title: 'kubestrap Cluster',
    description: 'One YAML file that describes a Kubernetes cluster for kubestrap.',
  });

export type ClusterSpec = z.output<typeof ClusterSpecSchema>;
export type NodeEntrySpec = z.output<typeof NodeEntry>;
export type TaintSpec = z.output<typeof Taint>;
export type RoleName = z.output<typeof Role>;
export type EndpointSpec = z.output<typeof Endpoint>;
