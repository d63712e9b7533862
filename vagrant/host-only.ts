// VirtualBox 6.1.28 and later (Linux, macOS) create host-only networks only inside the
// ranges /etc/vbox/networks.conf lists ("* 10.0.0.0/8 192.168.0.0/16"), or inside
// 192.168.56.0/21 when the file is absent; `vagrant up` then fails with "The IP address
// configured for the host-only network is not within the allowed ranges".
import { broadcast, contains, parseCidr, type Cidr } from '../spec/net.js';

export const VBOX_NETWORKS_CONF = '/etc/vbox/networks.conf';
export const VBOX_DEFAULT_RANGE = '192.168.56.0/21';

/** The allowed IPv4 ranges from networks.conf's text, or the default when there is no file. */
export function allowedRanges(networksConf: string | undefined): Cidr[] {
  if (networksConf === undefined) {
    const parsed = parseCidr(VBOX_DEFAULT_RANGE);
    return parsed.ok ? [parsed.cidr] : [];
  }
  return networksConf
    .split('\n')
    .filter((line) => line.trim().startsWith('*'))
    .flatMap((line) => line.trim().slice(1).trim().split(/\s+/))
    .flatMap((text) => {
      const parsed = parseCidr(text);
      return parsed.ok ? [parsed.cidr] : [];
    });
}

/** Whether the whole node network lies in one allowed range. */
export function hostOnlyAllowed(network: Cidr, ranges: readonly Cidr[]): boolean {
  return ranges.some((r) => contains(r, network.network) && contains(r, broadcast(network)));
}
