// IPv4 arithmetic for the spec's addresses and subnets. IPv6 is out of scope for
// v1alpha1: Vagrant private networks and Weave's IPAM are configured for IPv4 here.

export interface Cidr {
  readonly network: number; // first address, as an unsigned 32-bit integer
  readonly prefix: number;
  readonly text: string;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
export const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

export function parseIPv4(text: string): number | undefined {
  if (!IPV4.test(text)) return undefined;
  return text.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string };

export function parseCidr(text: string): CidrParse {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) return { ok: false, reason: 'is not in address/prefix form' };
  const address = parseIPv4(match[1]!);
  const prefix = Number(match[2]);
  if (address === undefined) return { ok: false, reason: `"${match[1]}" is not an IPv4 address` };
  if (prefix > 32) return { ok: false, reason: `prefix /${prefix} is larger than 32` };
  const network = (address & maskOf(prefix)) >>> 0;
  if (network !== address) {
    return { ok: false, reason: `has host bits set; the network is ${formatIPv4(network)}/${prefix}` };
  }
  return { ok: true, cidr: { network, prefix, text } };
}

export function size(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function broadcast(cidr: Cidr): number {
  return cidr.network + size(cidr) - 1;
}

export function contains(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address <= broadcast(cidr);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network <= broadcast(b) && b.network <= broadcast(a);
}
