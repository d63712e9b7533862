// Doctor's cluster DNS check: the question every pod asks first, kubernetes.default,
// put to the kube-dns Service's address over TCP (CoreDNS serves both transports on
// :53, and kube-proxy forwards TCP for a connection the node opens as for a pod's).
// Asked without a pod, so doctor still changes nothing: the query goes through an SSH
// connection the control plane opens (SshHost.exchange). Pure: the operation sends.
import dnsPacket from 'dns-packet';
import type { ClusterModel } from '../../spec/model.js';
import { formatIPv4, parseCidr } from '../../spec/net.js';
import type { DoctorCheck, ServiceAnswer } from './check.js';

export const DNS_PORT = 53;
/** A DNS message over TCP is at most 64 KiB after its two-byte length. */
export const DNS_TCP_MAX_BYTES = 2 + 65_535;

/** The service subnet's n-th address: the kubernetes Service has the first, kube-dns the tenth. */
function serviceAddress(model: ClusterModel, n: number): string {
  const parsed = parseCidr(model.kubernetes.serviceSubnet);
  if (!parsed.ok) throw new Error(`serviceSubnet ${model.kubernetes.serviceSubnet} ${parsed.reason}`);
  return formatIPv4(parsed.cidr.network + n);
}

/** kube-apiserver gives the kubernetes Service the subnet's first address. */
export const kubernetesServiceIp = (model: ClusterModel) => serviceAddress(model, 1);
/** kubeadm's constants.GetDNSIP: kube-dns, the kubelets' clusterDNS, has the tenth (kubestrap leaves it so). */
export const clusterDnsIp = (model: ClusterModel) => serviceAddress(model, 10);
export const kubernetesServiceName = (model: ClusterModel) => `kubernetes.default.svc.${model.kubernetes.dnsDomain}`;

/** An A query for the name, framed for TCP; the id lets the answer be matched to it. */
export function dnsQuery(name: string, id: number): Buffer {
  return dnsPacket.streamEncode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', class: 'IN', name }],
  });
}

/** Whether a TCP answer has arrived whole: its length prefix and that many bytes. */
export function dnsAnswerComplete(received: Buffer): boolean {
  return received.length >= 2 && received.length >= 2 + received.readUInt16BE(0);
}

/** RFC 1035 4.1.1's response codes, by number. */
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** The verdict on what came back: the kubernetes Service's address, and nothing else, is ok. */
export function dnsCheck(model: ClusterModel, via: string, outcome: ServiceAnswer, id: number): DoctorCheck {
  const name = kubernetesServiceName(model);
  const server = `${clusterDnsIp(model)}:${DNS_PORT}`;
  const expected = kubernetesServiceIp(model);
  const check = (status: DoctorCheck['status'], seen: string, fix: string): DoctorCheck => ({
    scope: 'cluster',
    check: 'cluster-dns',
    status,
    seen,
    fix: status === 'ok' ? '' : fix,
  });
  const pods =
    'kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide and their logs; ' +
    'kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns';
  if ('error' in outcome)
    return check(
      'fail',
      `no answer from kube-dns ${server} asked on ${via}: ${outcome.error}`,
      `${pods}; on ${via}: kube-proxy's rules (iptables-save | grep kube-dns)`,
    );
  let packet: dnsPacket.DecodedPacket;
  try {
    if (!dnsAnswerComplete(outcome.answer)) throw new Error(`${outcome.answer.length} bytes, a cut-off message`);
    packet = dnsPacket.decode(outcome.answer.subarray(2, 2 + outcome.answer.readUInt16BE(0)));
  } catch (error) {
    return check('fail', `kube-dns ${server} sent what is not a DNS answer: ${(error as Error).message}`, pods);
  }
  const addresses = (packet.answers ?? []).flatMap((a) =>
    a.type === 'A' && a.name.toLowerCase() === name ? [a.data] : [],
  );
  const rcode = RCODES[(packet.flags ?? 0) & 0xf] ?? `rcode ${(packet.flags ?? 0) & 0xf}`;
  if (packet.id !== id) return check('fail', `kube-dns ${server} answered another query (id ${packet.id})`, pods);
  if (packet.type !== 'response') return check('fail', `kube-dns ${server} sent a query, not an answer`, pods);
  if (rcode !== 'NOERROR' || !addresses.length)
    return check(
      'fail',
      `${name} from ${server}: ${rcode}${addresses.length ? '' : ', no address'}`,
      `${pods}; CoreDNS answers the cluster's names only for the domain the spec sets (${model.kubernetes.dnsDomain})`,
    );
  return addresses.length === 1 && addresses[0] === expected
    ? check('ok', `${name} is ${expected} (asked ${server} on ${via})`, '')
    : check(
        'fail',
        `${name} is ${addresses.join(', ')} from ${server}; the kubernetes Service is ${expected}`,
        `${pods}; a stale CoreDNS cache or a second DNS server at that address`,
      );
}
