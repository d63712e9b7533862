// Host prep: hostname, /etc/hosts, swap off now and at boot, kernel modules and
// sysctls now and at boot, SELinux permissive (RHEL-like), firewall ports, time sync.
// Each step probes first and changes only what differs.
import type { ClusterModel, NodeModel } from '../spec/model.js';
import { managedEndpoint } from '../templates/endpoint.js';
import { KERNEL_MODULES, SYSCTLS } from '../templates/host-files.js';
import { shellQuote } from '../base/quote.js';
import { HOSTS_BLOCK, MODULES_LOAD_CONF, SYSCTL_CONF } from '../templates/node-paths.js';
import type { RenderedFile } from '../templates/render.js';
import type { NodeHost } from './cluster-host.js';
import { disableSwapInFstab, mergeHosts } from './hostprep/edits.js';
import type { HostStep } from '../engine/host-step.js';
import type { Phase } from '../engine/phase.js';
import { renderedFile } from './rendered-files.js';

const OWNED = [MODULES_LOAD_CONF, SYSCTL_CONF, HOSTS_BLOCK];

/**
 * Ports the cluster needs open: control plane, kubelet, Weave (TCP 6783, UDP 6783-6784),
 * and on control planes the managed endpoint's (haproxy on VIP:port).
 */
export function clusterPorts(model: ClusterModel, node: NodeModel): string[] {
  const controlPlane = node.role === 'control-plane';
  const tcp = controlPlane ? ['6443', '2379-2380', '10250', '10257', '10259'] : ['10250'];
  const endpoint = controlPlane && managedEndpoint(model) ? [`${model.kubernetes.endpoint.port}/tcp`] : [];
  return [...tcp.map((p) => `${p}/tcp`), ...endpoint, '6783/tcp', '6783-6784/udp', '30000-32767/tcp'];
}

/** Managed endpoint, on a control plane: the other control planes, whose keepalived sends VRRP (unicast) here. */
export function vrrpPeers(model: ClusterModel, node: NodeModel): string[] {
  if (!managedEndpoint(model) || node.role !== 'control-plane') return [];
  return model.nodes.filter((n) => n.role === 'control-plane' && n !== node).map((n) => n.ip);
}

/** firewalld's rich rule letting one peer's VRRP in, as `--list-rich-rules` prints it back. */
export function vrrpRichRule(peer: string): string {
  return `rule family="ipv4" source address="${peer}" protocol value="vrrp" accept`;
}

/** How a module's presence shows without modprobe (built-in modules have no /sys/module entry). */
const MODULE_PRESENT: Record<string, string> = {
  overlay: 'grep -qw overlay /proc/filesystems',
  br_netfilter: 'test -e /proc/sys/net/bridge/bridge-nf-call-iptables',
};

export class HostprepPhase implements Phase<NodeHost> {
  readonly title = 'Host preparation';

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
  ) {}

  async run(step: HostStep<NodeHost>): Promise<void> {
    const { node } = step.host;
    for (const target of OWNED) {
      const file = renderedFile(this.files, node.name, target);
      await step.putFile(target, file.content, { mode: file.mode });
    }
    // /etc/hosts first: sudo resolves the hostname on every call, and a name it cannot
    // resolve costs a DNS timeout each time.
    await this.etcHosts(step);
    await this.hostname(step);
    await this.swap(step);
    await this.modules(step);
    await this.sysctls(step);
    if (this.model.os.family === 'rhel') await this.selinux(step);
    await this.firewall(step);
    await this.timeSync(step);
  }

  private async hostname(step: HostStep<NodeHost>): Promise<void> {
    const want = step.host.node.hostname;
    if ((await step.probe('hostname')).stdout.trim() === want) return;
    const q = shellQuote(want);
    await step.change(
      `set hostname to ${want}`,
      `hostnamectl set-hostname ${q} 2>/dev/null || { echo ${q} > /etc/hostname && hostname ${q}; }`,
    );
  }

  private async etcHosts(step: HostStep<NodeHost>): Promise<void> {
    const { node } = step.host;
    const current = (await step.probe('cat /etc/hosts')).stdout;
    const block = renderedFile(this.files, node.name, HOSTS_BLOCK).content;
    await step.putFile(
      '/etc/hosts',
      mergeHosts(current, block, [node.hostname, node.hostname.split('.')[0]!, node.name]),
      { mode: 0o644 },
    );
  }

  private async swap(step: HostStep<NodeHost>): Promise<void> {
    if ((await step.probe('tail -n +2 /proc/swaps')).stdout.trim() !== '')
      await step.change('turn swap off', 'swapoff -a');
    const fstab = (await step.probe('cat /etc/fstab 2>/dev/null || true')).stdout;
    const wanted = disableSwapInFstab(fstab);
    if (wanted !== fstab) await step.putFile('/etc/fstab', wanted, { mode: 0o644 });
  }

  private async modules(step: HostStep<NodeHost>): Promise<void> {
    for (const module of KERNEL_MODULES) {
      const present = await step.probe(MODULE_PRESENT[module] ?? `test -d /sys/module/${module}`, { check: false });
      if (present.code !== 0) await step.change(`load kernel module ${module}`, `modprobe ${module}`);
    }
  }

  private async sysctls(step: HostStep<NodeHost>): Promise<void> {
    const keys = SYSCTLS.map(([key]) => key);
    const current = (
      await step.probe(`for k in ${keys.join(' ')}; do printf '%s=%s\\n' "$k" "$(sysctl -n "$k" 2>/dev/null)"; done`)
    ).stdout;
    const have = Object.fromEntries(
      current
        .trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
    for (const [key, value] of SYSCTLS) {
      if (have[key] !== value) await step.change(`set ${key}=${value}`, `sysctl -w ${key}=${value}`);
    }
  }

  private async selinux(step: HostStep<NodeHost>): Promise<void> {
    const mode = (await step.probe('getenforce 2>/dev/null || echo absent')).stdout.trim();
    if (mode === 'Enforcing') await step.change('set SELinux to permissive now', 'setenforce 0');
    const config = (await step.probe('cat /etc/selinux/config 2>/dev/null || true')).stdout;
    if (/^SELINUX=enforcing/m.test(config))
      await step.putFile('/etc/selinux/config', config.replace(/^SELINUX=enforcing/m, 'SELINUX=permissive'), {
        mode: 0o644,
      });
  }

  private async firewall(step: HostStep<NodeHost>): Promise<void> {
    const { node } = step.host;
    const ports = clusterPorts(this.model, node);
    // VRRP from the other control planes only: keepalived's adverts come unicast from them.
    const peers = vrrpPeers(this.model, node);
    const vrrp = (missing: readonly string[]) => (missing.length ? [`VRRP from ${missing.join(', ')}`] : []);
    if ((await step.probe('systemctl is-active --quiet firewalld', { check: false })).code === 0) {
      const open = (await step.probe('firewall-cmd --permanent --list-ports')).stdout.trim().split(/\s+/);
      const missing = ports.filter((p) => !open.includes(p));
      const rules = peers.length
        ? (await step.probe('firewall-cmd --permanent --list-rich-rules')).stdout.split('\n').map((r) => r.trim())
        : [];
      const missingPeers = peers.filter((peer) => !rules.includes(vrrpRichRule(peer)));
      const adds = [
        ...missing.map((p) => `firewall-cmd --permanent --add-port=${p}`),
        ...missingPeers.map((peer) => `firewall-cmd --permanent --add-rich-rule=${shellQuote(vrrpRichRule(peer))}`),
      ];
      if (adds.length)
        await step.change(
          `open ${[...missing, ...vrrp(missingPeers)].join(' ')} in firewalld`,
          `${adds.join(' && ')} && firewall-cmd --reload`,
        );
    }
    if ((await step.probe('ufw status 2>/dev/null | head -n 1', { check: false })).stdout.includes('Status: active')) {
      const rules = (await step.probe('ufw status')).stdout;
      const missing = ports.map((p) => p.replace('-', ':')).filter((p) => !rules.includes(p));
      // ufw status shows `allow from PEER proto vrrp` as "Anywhere  ALLOW  PEER/vrrp".
      const allowed = new Set(rules.split('\n').map((line) => line.trim().split(/\s+/).at(-1)));
      const missingPeers = peers.filter((peer) => !allowed.has(`${peer}/vrrp`));
      const adds = [
        ...missing.map((p) => `ufw allow ${p}`),
        ...missingPeers.map((peer) => `ufw allow from ${shellQuote(peer)} proto vrrp`),
      ];
      if (adds.length)
        await step.change(`open ${[...missing, ...vrrp(missingPeers)].join(' ')} in ufw`, adds.join(' && '));
    }
  }

  private async timeSync(step: HostStep<NodeHost>): Promise<void> {
    const ntp = (
      await step.probe('timedatectl show -p NTP --value 2>/dev/null || echo unknown', { check: false })
    ).stdout.trim();
    if (ntp === 'yes') return;
    // timedatectl's NTP is only about the units it knows (ntp-units.d): a time service
    // that is enabled already is left as it is, so a re-run does not enable it again.
    const [service = '', enabled = '', active = ''] = (
      await step.probe(
        'for s in chronyd chrony systemd-timesyncd ntpsec ntp; do systemctl cat "$s" >/dev/null 2>&1 && { ' +
          'echo "$s $(systemctl is-enabled "$s" 2>/dev/null) $(systemctl is-active "$s" 2>/dev/null)"; break; }; done',
        { check: false },
      )
    ).stdout
      .trim()
      .split(/\s+/);
    if (!service) step.note('no time-sync service installed (chrony or systemd-timesyncd); clocks may drift');
    else if (enabled === 'disabled')
      await step.change(`enable time sync (${service})`, `systemctl enable --now ${service}`);
    else if (enabled.startsWith('masked'))
      step.note(`${service} is masked, so kubestrap leaves it; clocks may drift (systemctl unmask ${service})`);
    else if (active !== 'active')
      step.note(
        `${service} is ${enabled || 'enabled'} but ${active || 'not running'}: systemctl status ${service} says why; ` +
          'clocks may drift',
      );
  }
}
