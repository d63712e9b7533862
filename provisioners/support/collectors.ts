// What a support bundle collects: per host, read-only commands, each with its own size
// cap (applied on the host, so a huge journal never crosses the wire) and time limit;
// from the cluster, kubectl reads. Where each lands in the archive follows
// troubleshoot.sh's top level (host-collectors/, cluster-resources/); the files are the
// commands' text, not the JSON objects troubleshoot's analyzers parse.
import { shellQuote } from '../../base/quote.js';
import type { ClusterModel } from '../../spec/model.js';
import {
  CONTAINERD_CONFIG,
  HAPROXY_CONFIG,
  KEEPALIVED_CONF,
  KUBELET_DEFAULTS,
  KUBERNETES_DIR,
} from '../../templates/node-paths.js';
import { KUBECTL } from '../kubectl.js';
import { KUBEADM_FLAGS, KUBELET_CONFIG } from '../doctor/host-facts.js';

export interface Collector {
  /** Its file in the archive, under the host's or the cluster's folder. */
  readonly name: string;
  readonly command: string;
  readonly capBytes: number;
  readonly timeoutMs: number;
}

const MiB = 1024 * 1024;
/** Each journal: the last 10,000 lines of the last 24 hours. */
const JOURNAL_LINES = 10_000;

const capped = (command: string, capBytes: number) => `{ ${command}; } 2>&1 | head -c ${capBytes}`;

function collector(name: string, command: string, capBytes = MiB, timeoutMs = 30_000): Collector {
  return { name, command: capped(command, capBytes), capBytes, timeoutMs };
}

/** Files whose content is never read: private keys, whatever their name says. */
const KEY_FILES = "-name '*.key' -o -name '*key*.pem' -o -name '*.pem' -path '*private*'";

export function hostCollectors(model: ClusterModel): Collector[] {
  const journal = (unit: string) =>
    collector(
      `journal-${unit}.txt`,
      `journalctl -u ${unit} --no-pager -o short-iso -n ${JOURNAL_LINES} --since -24h`,
      8 * MiB,
      60_000,
    );
  return [
    journal('kubelet'),
    journal('containerd'),
    journal('keepalived'),
    journal('haproxy'),
    collector('dmesg.txt', 'dmesg -T | tail -n 5000', 2 * MiB),
    collector('df.txt', 'df -P -h; echo; df -P -i'),
    collector('free.txt', 'free -m; echo; cat /proc/meminfo'),
    collector('ip-addr.txt', 'ip addr'),
    collector('ip-route.txt', 'ip route; echo; ip -6 route'),
    collector('iptables.txt', 'iptables-save; echo; ip6tables-save; echo; nft list ruleset', 4 * MiB),
    collector('listening.txt', 'ss -ltnup'),
    collector('processes.txt', 'ps auxww', 2 * MiB),
    collector('uptime.txt', 'uptime; echo; cat /etc/os-release; echo; uname -a; echo; timedatectl'),
    collector('containers.txt', 'crictl ps -a || ctr -n k8s.io containers list'),
    collector('images.txt', 'crictl images || ctr -n k8s.io images list'),
    collector(
      'kubelet.txt',
      `systemctl cat kubelet; echo; systemctl status kubelet --no-pager; echo; ` +
        `for f in ${KUBELET_CONFIG} ${KUBEADM_FLAGS} /var/lib/kubelet/instance-config.yaml ` +
        `${KUBELET_DEFAULTS[model.os.family]}; do echo "==> $f <=="; cat "$f"; done`,
    ),
    collector('containerd-config.toml', `cat ${CONTAINERD_CONFIG}`),
    // Every file of /etc/kubernetes but private keys, each behind a header; kubeconfigs'
    // credentials are redacted like everything else.
    collector(
      'etc-kubernetes.txt',
      `find ${shellQuote(KUBERNETES_DIR)} -type f ! \\( ${KEY_FILES} \\) -size -1024k | sort | ` +
        `while read -r f; do echo "==> $f <=="; cat "$f"; echo; done`,
      4 * MiB,
    ),
    collector(
      'endpoint.txt',
      `cat ${KEEPALIVED_CONF} ${HAPROXY_CONFIG}; systemctl status keepalived haproxy --no-pager`,
    ),
  ];
}

/**
 * Whether a control plane's API answers, and the first file of cluster-resources/: run
 * without the cap's pipe, so its exit status is kubectl's (the output is a line per node).
 */
export const API_PROBE = { name: 'nodes.txt', command: `${KUBECTL} get nodes -o wide` } as const;

/** Read through the first control plane whose API answers (API_PROBE). */
export function clusterCollectors(): Collector[] {
  const get = (name: string, args: string) => collector(name, `${KUBECTL} get ${args}`, 4 * MiB, 60_000);
  return [
    get('pods.txt', 'pods -A -o wide'),
    get('events.txt', 'events -A'),
    get('daemonsets.txt', 'daemonsets -A -o wide'),
    get('deployments.txt', 'deployments -A -o wide'),
    get('pvcs.txt', 'pvc -A'),
    get('cephcluster.txt', 'cephcluster -n rook-ceph -o wide'),
  ];
}

/** A failing pod's logs (all its containers, the last 1,000 lines each). */
export function podLogCollector(namespace: string, pod: string): Collector {
  return collector(
    `pod-logs/${namespace}/${pod}.log`,
    `${KUBECTL} logs -n ${shellQuote(namespace)} ${shellQuote(pod)} --all-containers --tail=1000`,
    2 * MiB,
  );
}

/** What the cluster's secrets are, read only to redact them: never written anywhere. */
export const SECRET_SOURCES = {
  weave: `${KUBECTL} -n kube-system get secret weave-passwd -o jsonpath={.data.weave-passwd}`,
} as const;
