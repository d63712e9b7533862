// The managed control-plane endpoint (spec controlPlaneEndpoint.managed:
// keepalived-haproxy): on every control-plane node keepalived holds the VIP by VRRP, and
// haproxy on VIP:port forwards TCP to every control plane's kube-apiserver on 6443.
// Pure and deterministic like the rest of templates/; keepalived.conf takes the values
// only the host knows (the interface, when the spec does not name it) and the per-cluster
// VRRP password, so it is rendered at run time and never part of renderCluster().
import { configWord } from '../base/quote.js';
import { API_SERVER_PORT, type ClusterModel, type NodeModel } from '../spec/model.js';
import { parseCidr } from '../spec/net.js';
import {
  ENDPOINT_SYSCTL_CONF,
  HAPROXY_CONFIG,
  HAPROXY_DROP_IN,
  HAPROXY_STATS_SOCKET,
  KEEPALIVED_CHECK_SCRIPT,
  KEEPALIVED_DROP_IN,
} from './node-paths.js';

/** Whether kubestrap runs the endpoint, and so renders what follows for the control planes. */
export function managedEndpoint(model: ClusterModel): boolean {
  return model.kubernetes.endpoint.mode === 'keepalived-haproxy';
}

const controlPlanes = (model: ClusterModel) => model.nodes.filter((n) => n.role === 'control-plane');

// The init node (the first control plane) gets the top priority, so that it holds the VIP
// before `kubeadm init`, when no API server answers anywhere and every check fails alike.
// It is the highest a non-owner may have: a backup waits 3 adverts plus a skew of
// (256 - priority) / 256 advert intervals before it takes over, so the next node (244)
// takes over 0.05 s after the third missed advert, where 140 cost 0.45 s (measured by
// bench/failover.ts with the holder powered off).
const TOP_PRIORITY = 254;
/** keepalived priorities run 1..254 (255 is an address owner); the spread stays within 100 up to 101 nodes. */
const MAX_SPREAD = 100;

export interface VrrpPlan {
  readonly priority: number;
  /** A failing check subtracts this: more than the spread, so any healthy node outranks every failing one. */
  readonly checkWeight: number;
}

export function vrrpPlan(model: ClusterModel, node: NodeModel): VrrpPlan {
  const nodes = controlPlanes(model);
  const index = nodes.indexOf(node);
  if (index < 0) throw new Error(`vrrpPlan: ${node.name} is not a control-plane node`);
  const step = nodes.length > 1 ? Math.max(1, Math.min(10, Math.floor(MAX_SPREAD / (nodes.length - 1)))) : 10;
  const spread = step * (nodes.length - 1);
  if (TOP_PRIORITY - spread < 1) throw new Error(`vrrpPlan: VRRP cannot rank ${nodes.length} control-plane nodes`);
  return { priority: TOP_PRIORITY - step * index, checkWeight: spread + step };
}

/** VRRP v2 PASS authentication carries at most 8 characters; keepalived truncates longer ones (and warns). */
export const VRRP_PASSWORD = /^[A-Za-z0-9]{8}$/;

export interface KeepalivedRuntime {
  /** The interface carrying the node's spec address, as found on the host; the spec's wins. */
  readonly interface: string;
  /** The cluster's VRRP password (8 letters and digits), a secret: this file is written 0600. */
  readonly password: string;
  /** Where the check script is; a test points at its own copy. */
  readonly checkScript?: string;
}

/** /etc/keepalived/keepalived.conf for one control-plane node. */
export function keepalivedConf(model: ClusterModel, node: NodeModel, runtime: KeepalivedRuntime): string {
  const endpoint = model.kubernetes.endpoint;
  if (endpoint.mode !== 'keepalived-haproxy' || endpoint.virtualRouterId === undefined)
    throw new Error('keepalivedConf: the endpoint is not managed by kubestrap');
  if (!VRRP_PASSWORD.test(runtime.password))
    throw new Error('keepalivedConf: the VRRP password must be 8 letters or digits');
  const network = parseCidr(model.machines.network);
  if (!network.ok) throw new Error(`keepalivedConf: unvalidated network ${model.machines.network}`);
  const iface = configWord(endpoint.interface ?? runtime.interface);
  const { priority, checkWeight } = vrrpPlan(model, node);
  const peers = controlPlanes(model).filter((n) => n !== node);
  // Unicast, because multicast is unreliable on VirtualBox host-only and libvirt networks.
  // A lone control plane has no peer, and keepalived warns about unicast without peers.
  const unicast = peers.length
    ? [
        `  unicast_src_ip ${configWord(node.ip)}`,
        '  unicast_peer {',
        ...peers.map((p) => `    ${configWord(p.ip)}`),
        '  }',
      ]
    : [];
  return [
    '# Rendered by kubestrap: the control-plane VIP, held by one control-plane node at a time.',
    'global_defs {',
    // Scripts run as root only from root-owned paths no one else can write; without it keepalived warns.
    '  enable_script_security',
    '  script_user root',
    `  router_id ${configWord(node.hostname)}`,
    '}',
    '',
    'vrrp_script kubestrap_apiserver {',
    `  script "${configWord(runtime.checkScript ?? KEEPALIVED_CHECK_SCRIPT)}"`,
    '  interval 2',
    '  timeout 3',
    // Two misses before the node steps back, two answers before it counts again: one slow
    // answer does not move the VIP.
    '  fall 2',
    '  rise 2',
    // A weight, never 0: a failing check lowers the priority instead of putting the node in
    // FAULT, so before init (no API server anywhere) the init node still holds the VIP.
    `  weight -${checkWeight}`,
    '}',
    '',
    'vrrp_instance kubestrap_api {',
    // All BACKUP: priorities alone elect the holder, and a restarted node does not grab the VIP first.
    '  state BACKUP',
    `  interface ${iface}`,
    `  virtual_router_id ${endpoint.virtualRouterId}`,
    `  priority ${priority}`,
    '  advert_int 1',
    '  authentication {',
    '    auth_type PASS',
    `    auth_pass ${configWord(runtime.password)}`,
    '  }',
    ...unicast,
    '  virtual_ipaddress {',
    `    ${configWord(endpoint.host)}/${network.cidr.prefix} dev ${iface}`,
    '  }',
    '  track_script {',
    '    kubestrap_apiserver',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * keepalived's check: healthy iff the local kube-apiserver answers /healthz with ok within
 * 2 s. curl: EL minimal hosts have it (curl-minimal); on Debian keepalived does not bring
 * it, so it is one of spec/host-packages.ts ENDPOINT_PACKAGES.
 * -k: the check asks the local API server only, whose certificate names no 127.0.0.1 SAN
 * the check could rely on.
 */
export function apiserverCheckScript(): string {
  return [
    '#!/bin/sh',
    '# Rendered by kubestrap: keepalived tracks this; a failure lowers the node below every healthy one.',
    `[ "$(curl -fsk --max-time 2 https://127.0.0.1:${API_SERVER_PORT}/healthz)" = ok ]`,
    '',
  ].join('\n');
}

/** haproxy's backend of every control plane's kube-apiserver, as `status` finds it in haproxy's stats. */
export const HAPROXY_BACKEND = 'kube_apiserver';

/** haproxy: a TCP frontend on VIP:port, every control plane's 6443 behind it, checked over TLS. */
export function haproxyConfig(model: ClusterModel): string {
  const endpoint = model.kubernetes.endpoint;
  return [
    '# Rendered by kubestrap: the control-plane endpoint, on every control-plane node.',
    'global',
    '  log /dev/log local0',
    '  chroot /var/lib/haproxy',
    '  user haproxy',
    '  group haproxy',
    '',
    'defaults',
    // TCP: TLS goes through to kube-apiserver, which sees the client certificates itself.
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  option dontlognull',
    // A control plane that is powered off answers nothing: give up on it after 1 s and
    // redispatch the connection to another one (retries), so that a client sees a delay,
    // not an error, in the seconds before the checks mark it down.
    '  timeout connect 1s',
    '  retries 2',
    '  option redispatch 1',
    // Watches, logs -f and exec sessions stay open for long; kube-apiserver ends idle watches itself.
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout check 2s',
    '',
    'frontend kube_apiserver',
    // The VIP is local on one node only; the others bind it too (net.ipv4.ip_nonlocal_bind).
    `  bind ${configWord(endpoint.host)}:${endpoint.port}`,
    `  default_backend ${HAPROXY_BACKEND}`,
    '',
    `backend ${HAPROXY_BACKEND}`,
    // /healthz is open to anonymous clients (system:public-info-viewer); a TLS check, as the API speaks only TLS.
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    '  balance roundrobin',
    // Down after two failed checks 1 s apart; its established sessions (watches) are cut
    // then, so their clients reconnect through the VIP instead of waiting on a dead peer.
    '  default-server check check-ssl verify none inter 1s fall 2 rise 2 on-marked-down shutdown-sessions',
    ...controlPlanes(model).map((n) => `  server ${configWord(n.name)} ${configWord(n.ip)}:${API_SERVER_PORT}`),
    '',
    // For `kubestrap status`: haproxy's own view of its backends (the CSV stats page), read-only,
    // on a socket only root can reach, read with curl --unix-socket (no socat on the hosts).
    'listen kubestrap_stats',
    '  mode http',
    `  bind unix@${HAPROXY_STATS_SOCKET} mode 600`,
    // Errors only: a log line for every `status` would be noise.
    '  option dontlog-normal',
    '  stats enable',
    '  stats uri /',
    '',
  ].join('\n');
}

/** haproxy binds the VIP on every control plane, also where keepalived has not put it. */
export const ENDPOINT_SYSCTLS: [string, string][] = [['net.ipv4.ip_nonlocal_bind', '1']];

function endpointSysctlConf(): string {
  return (
    '# Rendered by kubestrap: haproxy listens on the control-plane VIP before keepalived puts it here.\n' +
    `${ENDPOINT_SYSCTLS.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`
  );
}

function keepalivedDropIn(): string {
  return [
    '# Rendered by kubestrap: a crashed keepalived comes back (the unit as packaged does not restart it).',
    '[Service]',
    'Restart=on-failure',
    'RestartSec=2s',
    '',
  ].join('\n');
}

function haproxyDropIn(): string {
  return [
    "# Rendered by kubestrap: haproxy reads kubestrap's config; the package's haproxy.cfg stays as shipped.",
    '[Service]',
    `Environment=CONFIG=${HAPROXY_CONFIG}`,
    '',
  ].join('\n');
}

/** The endpoint's files in renderCluster() for one node: [target, mode, content]; none off the control plane. */
export function endpointFiles(model: ClusterModel, node: NodeModel): [string, number, string][] {
  if (!managedEndpoint(model) || node.role !== 'control-plane') return [];
  return [
    [KEEPALIVED_CHECK_SCRIPT, 0o755, apiserverCheckScript()],
    [KEEPALIVED_DROP_IN, 0o644, keepalivedDropIn()],
    [HAPROXY_CONFIG, 0o644, haproxyConfig(model)],
    [HAPROXY_DROP_IN, 0o644, haproxyDropIn()],
    [ENDPOINT_SYSCTL_CONF, 0o644, endpointSysctlConf()],
  ];
}
