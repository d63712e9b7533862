// The managed control-plane endpoint (controlPlaneEndpoint managed: keepalived-haproxy):
// keepalived holding the VIP and haproxy on VIP:port in front of every control plane's
// kube-apiserver. On the init node it comes up before `kubeadm init`, which reaches the
// API through it; on the other control planes after their join, once they have an API
// server that haproxy and keepalived's check can find healthy.
//
// keepalived.conf carries the cluster's VRRP password, made once on the init node (crypto
// random) and kept there in a root-only file: there is no API yet to keep it in a Secret,
// as the Weave password is. The other control planes read it from there; it reaches hosts
// only in 0600 files written through upload, never an argv, and is redacted from the logs.
import { randomInt } from 'node:crypto';
import { shellQuote } from '../base/quote.js';
import type { HostStep } from '../engine/host-step.js';
import type { Phase } from '../engine/phase.js';
import type { ClusterModel, NodeModel } from '../spec/model.js';
import { ENDPOINT_SYSCTLS, HAPROXY_BACKEND, keepalivedConf, VRRP_PASSWORD } from '../templates/endpoint.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import {
  ADMIN_CONF,
  ENDPOINT_SYSCTL_CONF,
  HAPROXY_CONFIG,
  HAPROXY_DROP_IN,
  HAPROXY_STATS_SOCKET,
  KEEPALIVED_CHECK_SCRIPT,
  KEEPALIVED_CONF,
  KEEPALIVED_DROP_IN,
  VRRP_PASSWORD_FILE,
} from '../templates/node-paths.js';
import type { RenderedFile } from '../templates/render.js';
import type { NodeHost } from './cluster-host.js';
import { renderedFile } from './rendered-files.js';
import { waitFor } from './wait.js';

/** Which control planes: the init node (before init), or the others (after their join). */
export type EndpointNodes = 'init' | 'joined';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 8 letters and digits (VRRP v2 PASS authentication carries 8 characters at most), unbiased. */
export function newVrrpPassword(): string {
  return Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
}

/**
 * The interface carrying `ip`, from `ip -o -4 addr show` (one address a line:
 * `2: eth0    inet 10.0.0.2/24 brd … scope global eth0`); a veth's name may come as `eth0@if5`.
 */
export function interfaceCarrying(addrOutput: string, ip: string): string | undefined {
  for (const line of addrOutput.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const inet = fields.indexOf('inet');
    if (inet < 0 || fields[inet + 1]?.split('/')[0] !== ip) continue;
    return fields[1]?.replace(/:$/, '').replace(/@.*$/, '');
  }
  return undefined;
}

/** The VIP's interface on a control plane: the spec's, else the one carrying the node's address. */
export function vipInterface(model: ClusterModel, node: NodeModel, addrOutput: string): string | undefined {
  return model.kubernetes.endpoint.interface ?? interfaceCarrying(addrOutput, node.ip);
}

export class EndpointPhase implements Phase<NodeHost> {
  readonly title: string;
  private leader: NodeHost | undefined;

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
    private readonly nodes: EndpointNodes,
  ) {
    this.title =
      nodes === 'init'
        ? 'Control-plane endpoint on the first control plane (keepalived VIP + haproxy)'
        : 'Control-plane endpoint on the other control planes (keepalived VIP + haproxy)';
  }

  hosts(all: readonly NodeHost[]): NodeHost[] {
    this.leader = all.find((h) => isInitNode(this.model, h.node));
    return all.filter((h) => h.node.role === 'control-plane' && (this.nodes === 'init') === (h === this.leader));
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const { node } = step.host;
    const iface = await this.interface(step);
    const password = await this.password(step);
    const conf = keepalivedConf(this.model, node, { interface: iface, password });
    let keepalivedChanged = await step.putFile(KEEPALIVED_CONF, conf, { mode: 0o600, secret: true });
    const put = async (target: string) => {
      const file = renderedFile(this.files, node.name, target);
      return step.putFile(target, file.content, { mode: file.mode });
    };
    if (await put(KEEPALIVED_CHECK_SCRIPT)) keepalivedChanged = true;
    const keepalivedUnit = await put(KEEPALIVED_DROP_IN);
    const haproxyChanged = await put(HAPROXY_CONFIG);
    const haproxyUnit = await put(HAPROXY_DROP_IN);
    await put(ENDPOINT_SYSCTL_CONF);
    await this.sysctls(step);
    if (keepalivedUnit || haproxyUnit) await step.change('reload systemd units', 'systemctl daemon-reload');
    // haproxy first: it binds the VIP (non-local bind) before keepalived brings it here.
    await this.service(step, 'haproxy', haproxyUnit, haproxyChanged);
    await this.service(step, 'keepalived', keepalivedUnit, keepalivedChanged);
    if (!step.dryRun) await this.await(step, iface);
  }

  private async interface(step: HostStep<NodeHost>): Promise<string> {
    const { node } = step.host;
    const named = this.model.kubernetes.endpoint.interface;
    if (named) {
      const found = await step.probe(`ip -o -4 addr show dev ${shellQuote(named)}`, { check: false });
      if (found.code !== 0)
        throw new Error(`${step.host.name}: the endpoint's interface ${named} (from the spec) is not on this host`);
      return named;
    }
    const found = interfaceCarrying((await step.probe('ip -o -4 addr show')).stdout, node.ip);
    if (!found)
      throw new Error(
        `${step.host.name}: no interface carries the node's address ${node.ip}, so keepalived has none to hold ` +
          'the VIP on; give the node its spec address, or name the interface in the endpoint (interface:)',
      );
    return found;
  }

  /** The cluster's VRRP password, from the init node; made there on the first run. */
  private async password(step: HostStep<NodeHost>): Promise<string> {
    if (!this.leader) throw new Error('endpoint: no init node among the hosts');
    const leader = step.host === this.leader ? step : step.elsewhere(this.leader);
    const stored = await leader.probe(`cat ${VRRP_PASSWORD_FILE} 2>/dev/null || true`, {
      hideOutput: true,
      label: `read ${VRRP_PASSWORD_FILE}`,
    });
    const have = stored.stdout.trim();
    if (VRRP_PASSWORD.test(have)) {
      step.host.ssh.redact(have);
      leader.host.ssh.redact(have);
      return have;
    }
    if (this.nodes === 'joined' && !step.dryRun)
      throw new Error(
        `${step.host.name}: the init node ${this.leader.name} has no VRRP password in ${VRRP_PASSWORD_FILE}; ` +
          'run up again, which brings the endpoint up there first',
      );
    const made = newVrrpPassword();
    step.host.ssh.redact(made);
    leader.host.ssh.redact(made);
    await leader.putFile(VRRP_PASSWORD_FILE, `${made}\n`, { mode: 0o600, secret: true });
    return made;
  }

  private async sysctls(step: HostStep<NodeHost>): Promise<void> {
    for (const [key, value] of ENDPOINT_SYSCTLS) {
      const have = (await step.probe(`sysctl -n ${key}`, { check: false })).stdout.trim();
      if (have !== value) await step.change(`set ${key}=${value}`, `sysctl -w ${key}=${value}`);
    }
  }

  /** Enabled and running on the config just written: started, restarted for a new unit, reloaded for a new config. */
  private async service(
    step: HostStep<NodeHost>,
    name: 'keepalived' | 'haproxy',
    unitChanged: boolean,
    configChanged: boolean,
  ): Promise<void> {
    const enabled = (await step.probe(`systemctl is-enabled ${name}`, { check: false })).stdout.trim();
    if (enabled !== 'enabled') await step.change(`enable ${name} at boot`, `systemctl enable ${name}`);
    const active = (await step.probe(`systemctl is-active ${name}`, { check: false })).stdout.trim() === 'active';
    if (!active) await step.change(`start ${name}`, `systemctl restart ${name}`);
    else if (unitChanged) await step.change(`restart ${name} (its unit changed)`, `systemctl restart ${name}`);
    else if (configChanged) await step.change(`reload ${name} (its config changed)`, `systemctl reload ${name}`);
  }

  /**
   * The init node before init: until it holds the VIP (no API server answers anywhere yet,
   * so every check fails alike and priority alone decides). Otherwise, wherever the VIP is:
   * until the endpoint answers /healthz through it.
   */
  private async await(step: HostStep<NodeHost>, iface: string): Promise<void> {
    const { host, port } = this.model.kubernetes.endpoint;
    const diagnose =
      `ip -o addr; systemctl status keepalived haproxy --no-pager -n 0; ` +
      `journalctl -u keepalived -n 30 --no-pager; journalctl -u haproxy -n 10 --no-pager`;
    const beforeInit =
      this.nodes === 'init' && (await step.probe(`test -f ${ADMIN_CONF}`, { check: false })).code !== 0;
    if (beforeInit)
      await waitFor(step, {
        what: `keepalived to put the VIP ${host} on ${iface}`,
        probe: `ip -o -4 addr show dev ${shellQuote(iface)}`,
        until: (r) => r.code === 0 && interfaceCarrying(r.stdout, host) !== undefined,
        timeoutMs: 60_000,
        diagnose,
      });
    else
      await waitFor(step, {
        what: `the endpoint ${host}:${port} to answer /healthz`,
        probe: `curl -fsk --max-time 3 ${shellQuote(`https://${host}:${port}/healthz`)}`,
        until: (r) => r.code === 0 && r.stdout.trim() === 'ok',
        timeoutMs: 120_000,
        intervalMs: 1_000,
        diagnose,
      });
  }
}

/**
 * `status` on a control plane, in one read-only command: where the VIP is, whether both
 * daemons run, and haproxy's own view of its backends (its CSV stats page).
 */
export const ENDPOINT_STATUS_PROBE =
  'ip -o -4 addr show; echo @@; systemctl is-active keepalived haproxy; echo @@; ' +
  `curl -s --max-time 3 --unix-socket ${HAPROXY_STATS_SOCKET} ${shellQuote('http://localhost/;csv')} || true`;

export interface EndpointStatus {
  readonly holdsVip: boolean;
  /** The daemons among keepalived and haproxy that are not active. */
  readonly down: readonly string[];
}

const sectionsOf = (output: string) => output.split(/^@@$/m);

export function endpointStatus(output: string, vip: string): EndpointStatus {
  const [addresses = '', active = ''] = sectionsOf(output);
  const states = active.trim().split('\n');
  return {
    holdsVip: interfaceCarrying(addresses, vip) !== undefined,
    down: (['keepalived', 'haproxy'] as const).filter((_, i) => states[i]?.trim() !== 'active'),
  };
}

export interface Backend {
  /** The control plane's name, as haproxy.cfg names its server. */
  readonly server: string;
  /** haproxy sends it traffic: UP, also "UP 1/2" (one check failed, not yet enough to go down). */
  readonly up: boolean;
  /** haproxy's last check, as it words it (L7OK, L4CON, L7STS …); empty before the first. */
  readonly check: string;
}

/** The kube_apiserver backend's servers as haproxy sees them; undefined when its stats could not be read. */
export function endpointBackends(output: string): Backend[] | undefined {
  const lines = (sectionsOf(output)[2] ?? '').trim().split('\n');
  const header = lines[0]?.startsWith('# ') ? lines[0].slice(2).split(',') : undefined;
  if (!header) return undefined;
  const column = (name: string) => header.indexOf(name);
  const [pxname, svname, type, status, check] = ['pxname', 'svname', 'type', 'status', 'check_status'].map(column);
  // type 2: a server (0 frontend, 1 backend, 3 listener).
  return lines
    .slice(1)
    .map((line) => line.split(','))
    .filter((f) => f[pxname!] === HAPROXY_BACKEND && f[type!] === '2')
    .map((f) => ({
      server: f[svname!] ?? '',
      up: /^UP\b/.test(f[status!] ?? ''),
      check: (f[check!] ?? '').replace(/^\* /, ''),
    }));
}
