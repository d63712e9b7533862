// Preflight for the managed endpoint: is the cluster's VRRP router id already taken on
// the control planes' network? Two VRRP instances with one id on one segment fight over
// mastership (each drops the other's adverts as misconfigured, both claim their VIPs), so
// keepalived must not start there. Each control plane listens on the VIP's interface for
// a few advert intervals and reports every advert it hears; the verdict is pure.
//
// The listener uses only what the base OS has: perl-base with its Socket module on Debian
// and Ubuntu, python3 on EL (dnf needs it; EL8 has it as platform-python). A raw socket for
// IP protocol 112 gets each advert with its IP header; it joins VRRP's multicast group
// (224.0.0.18) on the interface, where routers and keepalived (by default) advertise, and
// also sees adverts sent to this host (keepalived's unicast peers, as the cluster's own).
import { shellQuote } from '../../base/quote.js';
import { script } from '../../base/script.js';
import type { HostStep } from '../../engine/host-step.js';
import type { ClusterModel } from '../../spec/model.js';
import { vipInterface } from '../endpoint.js';
import type { NodeHost } from '../cluster-host.js';
import type { CheckResult } from './checks.js';

/** Longer than several advert intervals (keepalived's default, and ours, is 1 s). */
export const VRRP_LISTEN_SECONDS = 3;

/** The line a listener prints once its socket is ready; without it nothing was listened to. */
const LISTENING = '@@listening';

// Linux's numbers, the same on amd64 and arm64, written out because older Socket modules
// and Pythons do not export them: SO_BINDTODEVICE 25, IPPROTO_IP 0, IP_ADD_MEMBERSHIP 35
// with a struct ip_mreqn (group, local address 0.0.0.0, interface index). Arguments: the
// interface's name and index. Each packet is printed as hex, its first 64 bytes.
const PERL = [
  'use strict; use Socket;',
  'my ($if, $index) = @ARGV;',
  'socket(my $s, PF_INET, SOCK_RAW, 112) or die "raw socket: $!\\n";',
  'setsockopt($s, SOL_SOCKET, 25, $if) or die "bind to $if: $!\\n";',
  'setsockopt($s, 0, 35, inet_aton("224.0.0.18") . inet_aton("0.0.0.0") . pack("i", $index))',
  '  or die "join 224.0.0.18 on $if: $!\\n";',
  `$| = 1; print "${LISTENING.replaceAll('@', '\\@')}\\n";`,
  'for (1 .. 200) { defined recv($s, my $p, 1500, 0) or last; print unpack("H*", substr($p, 0, 64)), "\\n"; }',
].join('\n');

const PYTHON = [
  'import socket, struct, sys',
  'name, index = sys.argv[1], int(sys.argv[2])',
  's = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)',
  's.setsockopt(socket.SOL_SOCKET, 25, name.encode())',
  's.setsockopt(0, 35, socket.inet_aton("224.0.0.18") + socket.inet_aton("0.0.0.0") + struct.pack("i", index))',
  `print("${LISTENING}", flush=True)`,
  'for _ in range(200):',
  '    print(s.recv(1500)[:64].hex(), flush=True)',
].join('\n');

/** Listens on `iface` for VRRP adverts for VRRP_LISTEN_SECONDS, bounded by `timeout`; read-only. */
export function vrrpListenScript(iface: string): string {
  const q = shellQuote(iface);
  // The programs come on stdin (quoted here-documents): the shell expands nothing in them.
  return script(
    `index=$(cat /sys/class/net/${q}/ifindex 2>/dev/null) || { echo "no interface "${q} >&2; exit 1; }`,
    // timeout ends the listener; that (124) is its normal end.
    `listen() { timeout ${VRRP_LISTEN_SECONDS} "$@" - ${q} "$index" || [ "$?" -eq 124 ]; }`,
    'if command -v perl >/dev/null 2>&1 && perl -MSocket -e 1 2>/dev/null; then',
    "  listen perl <<'PERL'",
    PERL,
    'PERL',
    'else',
    '  python=$(command -v python3 || command -v /usr/libexec/platform-python || true)',
    '  [ -n "$python" ] || { echo \'neither perl (with Socket) nor python3 to listen with\' >&2; exit 1; }',
    '  listen "$python" <<\'PYTHON\'',
    PYTHON,
    'PYTHON',
    'fi',
  );
}

export interface VrrpAdvert {
  readonly sender: string;
  readonly vrid: number;
  readonly version: number;
  readonly priority: number;
  /** The addresses it advertises (its VIPs), as many as the first 64 bytes hold. */
  readonly addresses: readonly string[];
}

export interface Heard {
  /** The listener had its socket: an empty list means silence, not a failure to listen. */
  readonly listening: boolean;
  readonly adverts: readonly VrrpAdvert[];
}

const ipv4 = (bytes: Uint8Array, at: number) => Array.from(bytes.subarray(at, at + 4)).join('.');

/** One packet as the listener printed it (hex, IP header first); undefined unless a VRRP advertisement. */
export function parseVrrpPacket(hex: string): VrrpAdvert | undefined {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return undefined;
  const packet = Buffer.from(hex, 'hex');
  const headerLength = ((packet[0] ?? 0) & 0x0f) * 4;
  if (packet[0]! >> 4 !== 4 || headerLength < 20 || packet[9] !== 112 || packet.length < headerLength + 8)
    return undefined;
  const vrrp = packet.subarray(headerLength);
  const version = vrrp[0]! >> 4;
  // Type 1, advertisement: the only type VRRP v2 and v3 define.
  if ((version !== 2 && version !== 3) || (vrrp[0]! & 0x0f) !== 1) return undefined;
  const count = vrrp[3]!;
  const addresses: string[] = [];
  for (let i = 0, at = 8; i < count && at + 4 <= vrrp.length; i++, at += 4) addresses.push(ipv4(vrrp, at));
  return { sender: ipv4(packet, 12), vrid: vrrp[1]!, version, priority: vrrp[2]!, addresses };
}

export function parseHeard(output: string): Heard {
  const lines = output.split('\n').map((l) => l.trim());
  return {
    listening: lines.includes(LISTENING),
    adverts: lines.flatMap((line) => parseVrrpPacket(line) ?? []),
  };
}

const unique = <T>(values: readonly T[]) => [...new Set(values)];

/**
 * The verdict: an advert with the cluster's router id from an address that is none of its
 * control planes fails; the cluster's own adverts (a run on a running cluster) pass.
 */
export function vrrpVerdict(model: ClusterModel, iface: string, heard: Heard, error = ''): CheckResult {
  const name = 'vrrp';
  const vrid = model.kubernetes.endpoint.virtualRouterId;
  if (vrid === undefined) return { name, verdict: 'pass', detail: 'no managed endpoint' };
  if (!heard.listening)
    return {
      name,
      verdict: 'warn',
      detail:
        `could not listen for VRRP adverts on ${iface} ` +
        `(${error.trim().split('\n')[0] || 'no output'}); router id ${vrid} unchecked`,
    };
  const ours = new Set(model.nodes.filter((n) => n.role === 'control-plane').map((n) => n.ip));
  const clash = heard.adverts.filter((a) => a.vrid === vrid && !ours.has(a.sender));
  const others = unique(heard.adverts.filter((a) => a.vrid !== vrid).map((a) => a.vrid)).sort((a, b) => a - b);
  const inUse = others.length ? `; ids in use there: ${others.join(', ')}` : '';
  if (clash.length) {
    const senders = unique(clash.map((a) => a.sender));
    const vips = unique(clash.flatMap((a) => a.addresses));
    return {
      name,
      verdict: 'fail',
      detail:
        `VRRP router id ${vrid} is taken on ${iface}: ` +
        `${senders.join(', ')} advertise${senders.length > 1 ? '' : 's'} it` +
        `${vips.length ? ` (for ${vips.join(', ')})` : ''}, and keepalived here would fight ` +
        `${senders.length > 1 ? 'them' : 'it'} for mastership — set ` +
        `spec.kubernetes.controlPlaneEndpoint.virtualRouterId to an id no router on this network uses${inUse}`,
    };
  }
  const own = heard.adverts.some((a) => a.vrid === vrid);
  return {
    name,
    verdict: 'pass',
    detail:
      `router id ${vrid} ${own ? "advertised only by this cluster's control planes" : 'not heard'} on ${iface} ` +
      `in ${VRRP_LISTEN_SECONDS} s${inUse}`,
  };
}

/** On a control plane of a cluster with a managed endpoint: listens, then judges. */
export async function checkVrrp(step: HostStep<NodeHost>, model: ClusterModel): Promise<CheckResult> {
  const addresses = (await step.probe('ip -o -4 addr show', { check: false })).stdout;
  const iface = vipInterface(model, step.host.node, addresses);
  if (!iface)
    return {
      name: 'vrrp',
      verdict: 'warn',
      detail: `no interface carries ${step.host.node.ip} to listen on; router id unchecked`,
    };
  const result = await step.probe(vrrpListenScript(iface), {
    check: false,
    label: `listen ${VRRP_LISTEN_SECONDS} s for VRRP adverts on ${iface}`,
    timeoutMs: (VRRP_LISTEN_SECONDS + 30) * 1000,
  });
  return vrrpVerdict(model, iface, parseHeard(result.stdout), result.stderr);
}
