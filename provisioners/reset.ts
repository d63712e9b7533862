// Reset: undo what kubeadm and the cluster left on a host, so that a rebuild starts
// clean. `kubeadm reset -f`, then what kubeadm leaves behind: CNI config, data
// directories, Weave's links, the iptables/IPVS rules Kubernetes and Weave made, and the
// Rook disks — only the disks the spec names. The managed endpoint's keepalived and haproxy
// are stopped and disabled (the VIP goes with keepalived) and kubestrap's files for them
// removed; the packages stay, as kubelet and kubeadm do.
import type { ClusterModel } from '../spec/model.js';
import { shellQuote } from '../base/quote.js';
import { script } from '../base/script.js';
import {
  ADMIN_CONF,
  BOOTSTRAP_KUBELET_CONF,
  CNI_CONF_DIR,
  CONTROL_PLANE_JOIN_CONFIG,
  DISCOVERY_KUBECONFIG,
  ENDPOINT_SYSCTL_CONF,
  HAPROXY_CONFIG,
  HAPROXY_DROP_IN,
  HAPROXY_STATS_SOCKET,
  KEEPALIVED_CHECK_SCRIPT,
  KEEPALIVED_CONF,
  KEEPALIVED_DROP_IN,
  KUBELET_CONF,
  KUBERNETES_DIR,
  PKI_DIR,
  STATIC_POD_DIR,
  UPLOAD_CERTS_CONFIG,
  VRRP_PASSWORD_FILE,
} from '../templates/node-paths.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import type { Phase } from '../engine/phase.js';

export const LEFTOVERS = [
  CNI_CONF_DIR,
  '/var/lib/etcd',
  '/var/lib/kubelet',
  '/var/lib/weave',
  '/var/lib/rook',
  STATIC_POD_DIR,
  PKI_DIR,
  ADMIN_CONF,
  KUBELET_CONF,
  BOOTSTRAP_KUBELET_CONF,
  ...['super-admin', 'controller-manager', 'scheduler'].map((name) => `${KUBERNETES_DIR}/${name}.conf`),
  DISCOVERY_KUBECONFIG,
  UPLOAD_CERTS_CONFIG,
  CONTROL_PLANE_JOIN_CONFIG,
];
/** The managed endpoint's files (keepalived.conf only when kubestrap wrote it: see `endpoint`). */
export const ENDPOINT_LEFTOVERS = [
  KEEPALIVED_CHECK_SCRIPT,
  KEEPALIVED_DROP_IN,
  HAPROXY_CONFIG,
  HAPROXY_DROP_IN,
  ENDPOINT_SYSCTL_CONF,
  VRRP_PASSWORD_FILE,
  // haproxy leaves its stats socket behind when it is killed rather than stopped.
  HAPROXY_STATS_SOCKET,
];
export const LEFTOVER_LINKS = ['weave', 'vxlan-6784', 'datapath'];
/** Lines of iptables-save that Kubernetes (kube-proxy, kubelet) and Weave own. */
const OUR_RULES = 'KUBE-|WEAVE';

export class ResetPhase implements Phase<NodeHost> {
  readonly title = 'Reset hosts';

  constructor(private readonly model: ClusterModel) {}

  async run(step: HostStep<NodeHost>): Promise<void> {
    if (
      (await step.probe('command -v kubeadm', { check: false })).code === 0 &&
      (await step.probe(`test -d ${STATIC_POD_DIR} -o -f ${KUBELET_CONF}`, { check: false })).code === 0
    ) {
      await step.change('kubeadm reset -f', 'kubeadm reset -f', { timeoutMs: 10 * 60_000 });
    }
    if ((await step.probe('systemctl is-active --quiet kubelet', { check: false })).code === 0)
      await step.change('stop the kubelet', 'systemctl stop kubelet');
    await this.endpoint(step);

    const present = (
      await step.probe(`for p in ${LEFTOVERS.join(' ')}; do [ -e "$p" ] && echo "$p"; done; true`)
    ).stdout
      .trim()
      .split('\n')
      .filter(Boolean);
    if (present.length) await step.change(`remove ${present.join(', ')}`, `rm -rf ${present.join(' ')}`);

    const links = (
      await step.probe(
        `for l in ${LEFTOVER_LINKS.join(' ')}; do ip link show "$l" >/dev/null 2>&1 && echo "$l"; done; true`,
      )
    ).stdout
      .trim()
      .split('\n')
      .filter(Boolean);
    for (const link of links) await step.change(`delete network link ${link}`, `ip link delete ${shellQuote(link)}`);

    for (const tool of ['iptables', 'ip6tables']) {
      const count = Number(
        (
          await step.probe(`command -v ${tool}-save >/dev/null && ${tool}-save | grep -c -E '${OUR_RULES}' || echo 0`, {
            check: false,
          })
        ).stdout
          .trim()
          .split('\n')
          .pop(),
      );
      if (count > 0)
        await step.change(
          `remove ${count} ${tool} rule(s) of Kubernetes and Weave`,
          `${tool}-save | grep -v -E '${OUR_RULES}' | ${tool}-restore`,
        );
    }
    if (
      (
        await step.probe('command -v ipvsadm >/dev/null && ipvsadm -Ln | grep -c -E "^(TCP|UDP)" || echo 0', {
          check: false,
        })
      ).stdout
        .trim()
        .split('\n')
        .pop() !== '0'
    ) {
      await step.change('clear IPVS tables', 'ipvsadm --clear');
    }

    if (step.host.node.storage && this.model.rook.enabled) {
      for (const disk of step.host.node.disks) await this.wipe(step, disk.device);
    }
  }

  /**
   * keepalived and haproxy where kubestrap ran them: keepalived.conf starting with our
   * header (a site's own keepalived is left alone), haproxy pointed at our config by our drop-in.
   */
  private async endpoint(step: HostStep<NodeHost>): Promise<void> {
    const ours = (
      await step.probe(
        `head -n 1 ${KEEPALIVED_CONF} 2>/dev/null | grep -q '^# Rendered by kubestrap' && echo keepalived; ` +
          `test -f ${HAPROXY_DROP_IN} && echo haproxy; true`,
      )
    ).stdout
      .split('\n')
      .filter((s) => s === 'keepalived' || s === 'haproxy');
    for (const service of ours) {
      const state = await step.probe(`systemctl is-enabled ${service}; systemctl is-active ${service}`, {
        check: false,
      });
      if (/^(enabled|active)$/m.test(state.stdout))
        await step.change(`stop and disable ${service}`, `systemctl disable --now ${service}`);
    }
    const files = [...(ours.includes('keepalived') ? [KEEPALIVED_CONF] : []), ...ENDPOINT_LEFTOVERS];
    const present = (await step.probe(`for p in ${files.join(' ')}; do [ -e "$p" ] && echo "$p"; done; true`)).stdout
      .trim()
      .split('\n')
      .filter(Boolean);
    if (!present.length) return;
    await step.change(`remove ${present.join(', ')}`, `rm -f ${present.join(' ')}`);
    if (present.some((p) => p.endsWith('.service.d/10-kubestrap.conf')))
      await step.change('reload systemd units', 'systemctl daemon-reload');
  }

  /** Rook's own cleanup for an OSD disk: signatures, partition tables, the first 100 MiB. */
  private async wipe(step: HostStep<NodeHost>, device: string): Promise<void> {
    const q = shellQuote(device);
    const state = await step.probe(
      script(
        `if [ ! -b ${q} ]; then echo absent`,
        `elif lsblk -n -o MOUNTPOINT ${q} | grep -q .; then echo mounted`,
        `elif [ -n "$(wipefs -n ${q} 2>/dev/null | tail -n +2)" ] ` +
          `|| [ -n "$(lsblk -n -o NAME ${q} | tail -n +2)" ]; then echo used`,
        'else echo clean; fi',
      ),
      { check: false, label: `is ${device} in use?` },
    );
    const verdict = state.stdout.trim();
    if (verdict === 'absent') return step.note(`${device} is not present; nothing to wipe`);
    if (verdict === 'mounted')
      throw new Error(
        `${step.host.name}: ${device} is mounted; refusing to wipe a disk in use ` +
          `— unmount it, or remove it from the spec`,
      );
    if (verdict === 'clean') return;
    await step.change(
      `wipe Rook disk ${device}`,
      // Zapping GPT, discarding and re-reading partitions are best effort: not every
      // host has sgdisk, and not every device takes a discard.
      script(
        `wipefs -a ${q}`,
        `if command -v sgdisk >/dev/null; then sgdisk --zap-all ${q} || true; fi`,
        `dd if=/dev/zero of=${q} bs=1M count=100 oflag=direct,dsync status=none`,
        `blkdiscard ${q} 2>/dev/null || true`,
        `partprobe ${q} 2>/dev/null || true`,
      ),
      { timeoutMs: 10 * 60_000 },
    );
  }
}
