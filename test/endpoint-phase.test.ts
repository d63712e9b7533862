// The managed endpoint's phase without hosts: where it sits in `up`, what it finds and
// writes, and that the VRRP password reaches hosts only in 0600 files. The real thing
// (keepalived holding the VIP, haproxy forwarding, failover) is test/ha-endpoint.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HostStep } from '../engine/host-step.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import {
  ENDPOINT_STATUS_PROBE,
  endpointBackends,
  EndpointPhase,
  endpointStatus,
  interfaceCarrying,
  newVrrpPassword,
} from '../provisioners/endpoint.js';
import { endpointCell } from '../operations/status.js';
import { upPhases } from '../provisioners/index.js';
import { ENDPOINT_PACKAGES, hostPackages } from '../spec/host-packages.js';
import { VRRP_PASSWORD } from '../templates/endpoint.js';
import { HAPROXY_STATS_SOCKET, KEEPALIVED_CONF, VRRP_PASSWORD_FILE } from '../templates/node-paths.js';
import { renderCluster } from '../templates/render.js';
import { renderFixture } from './support/fixtures.js';
import { RecordingShell, type Recorded } from './support/recording-host.js';

const options = { rookManifests: [], kubeconfigPath: '/tmp/k', saveKubeconfig: async () => false };

describe('the managed endpoint phase', () => {
  it('finds the interface carrying the address, a veth name without its @ifN', () => {
    const out =
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n' +
      '2: eth0@if7    inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0\n' +
      '3: eth1    inet 192.168.56.11/24 brd 192.168.56.255 scope global eth1\n' +
      '3: eth1    inet 192.168.56.9/24 scope global secondary eth1\n';
    expect(interfaceCarrying(out, '192.168.56.11')).toBe('eth1');
    expect(interfaceCarrying(out, '10.0.2.15')).toBe('eth0');
    // A prefix of another address is not that address.
    expect(interfaceCarrying(out, '192.168.56.1')).toBeUndefined();
  });

  it('reads where the VIP is and which daemons are down, for status', () => {
    const addrs =
      '3: eth1    inet 192.168.56.11/24 scope global eth1\n3: eth1    inet 192.168.56.9/24 scope global eth1\n';
    expect(endpointStatus(`${addrs}@@\nactive\nactive\n`, '192.168.56.9')).toEqual({ holdsVip: true, down: [] });
    expect(endpointStatus(`${addrs}@@\ninactive\nactive\n`, '192.168.56.10')).toEqual({
      holdsVip: false,
      down: ['keepalived'],
    });
    // No answer at all (systemctl missing): both down, no VIP.
    expect(endpointStatus('', '192.168.56.9')).toEqual({ holdsVip: false, down: ['keepalived', 'haproxy'] });
  });

  it("reads haproxy's view of its backends from its CSV stats page, for status", () => {
    // Captured from haproxy 2.6 running the rendered config: cp1 answering /healthz, cp2 and cp3 not listening.
    const csv = readFileSync(new URL('./fixtures/endpoint/haproxy-stats.csv', import.meta.url), 'utf8');
    const addrs = '3: eth1    inet 192.168.56.11/24 scope global eth1\n';
    const probe = (active: string, stats: string) => `${addrs}@@\n${active}@@\n${stats}`;
    expect(endpointBackends(probe('active\nactive\n', csv))).toEqual([
      { server: 'cp1', up: true, check: 'L7OK' },
      { server: 'cp2', up: false, check: 'L4TOUT' },
      { server: 'cp3', up: false, check: 'L4TOUT' },
    ]);
    expect(endpointCell(probe('active\nactive\n', csv), '192.168.56.9')).toEqual({
      text: 'standby, backends down: cp2 (L4TOUT), cp3 (L4TOUT)',
      degraded: true,
    });
    const allUp = csv.replace(/,(DOWN),/g, ',UP,');
    expect(endpointCell(probe('active\nactive\n', allUp), '192.168.56.11')).toEqual({
      text: 'VIP holder, backends 3/3 up',
      degraded: false,
    });
    // One failed check is not yet down (fall 2): haproxy still sends it traffic.
    expect(endpointBackends(probe('', csv.replace(',DOWN,', ',UP 1/2,')))![1]).toMatchObject({ up: true });
    // haproxy stopped: nothing to read, and "not running" says so; running but no stats page: unknown.
    expect(endpointCell(probe('active\ninactive\n', ''), '192.168.56.9')).toEqual({
      text: 'standby (haproxy not running)',
      degraded: false,
    });
    expect(endpointCell(probe('active\nactive\n', ''), '192.168.56.9').text).toBe('standby, backends unknown');
    expect(ENDPOINT_STATUS_PROBE).toContain(`--unix-socket ${HAPROXY_STATS_SOCKET} 'http://localhost/;csv'`);
  });

  it('makes 8-character passwords of letters and digits, different each time', () => {
    const made = Array.from({ length: 50 }, newVrrpPassword);
    for (const p of made) expect(p).toMatch(VRRP_PASSWORD);
    expect(new Set(made).size).toBe(50);
  });

  it('comes up on the init node before kubeadm init, and on the others after their join', async () => {
    const { model } = (await renderFixture('ha')).loaded;
    const titles = upPhases(model, renderCluster(model), options).map((p) => p.title);
    const at = (prefix: string) => titles.findIndex((t) => t.startsWith(prefix));
    expect(at('Control-plane endpoint on the first')).toBe(at('Kubernetes packages') + 1);
    expect(at('Initialise the control plane')).toBe(at('Control-plane endpoint on the first') + 1);
    expect(at('Control-plane endpoint on the other')).toBe(at('Join control-plane nodes') + 1);
    expect(at('Control-plane endpoint on the other')).toBeLessThan(at('Join workers'));
    const hosts = model.nodes.map((node) => ({ name: node.name, node }) as NodeHost);
    const phases = upPhases(model, renderCluster(model), options).filter((p) => p.title.startsWith('Control-plane'));
    expect(phases.map((p) => p.hosts!(hosts).map((h) => h.name))).toEqual([['cp1'], ['cp2', 'cp3']]);
  });

  it('has no endpoint phase and no endpoint packages without a managed endpoint', async () => {
    const { model } = (await renderFixture('existing')).loaded;
    expect(
      upPhases(model, renderCluster(model), options)
        .map((p) => p.title)
        .join(),
    ).not.toMatch(/endpoint/);
    expect(hostPackages('debian', 34)).not.toContain('keepalived');
    expect(hostPackages('debian', 34, true)).toEqual(expect.arrayContaining([...ENDPOINT_PACKAGES.debian]));
    expect(ENDPOINT_PACKAGES.debian).toContain('curl');
  });

  it('keeps the VRRP password in 0600 files on the init node, never in a command', async () => {
    const { model } = (await renderFixture('ha')).loaded;
    const files = renderCluster(model);
    const recorded: Recorded[] = [];
    const waits = { pending: false };
    const respond = (command: string) => {
      if (command.startsWith('ip -o -4 addr show'))
        return {
          stdout: `3: eth1    inet 192.168.56.11/24 scope global eth1\n2: eth1 inet 192.168.56.9/24\n`,
          settles: true,
        };
      if (command.startsWith(`cat ${VRRP_PASSWORD_FILE}`)) return { stdout: '' };
      // Before init: the phase waits for the VIP on this node.
      if (command.startsWith('test -f /etc/kubernetes/admin.conf')) return { code: 1 };
      return { stdout: '', code: 0 };
    };
    const shell = new RecordingShell('cp1', recorded, respond, waits);
    const host: NodeHost = { name: 'cp1', node: model.nodes[0]!, ssh: shell };
    const phase = new EndpointPhase(model, files, 'init');
    expect(
      phase.hosts(model.nodes.map((node) => (node === host.node ? host : ({ name: node.name, node } as NodeHost)))),
    ).toEqual([host]);
    const step = new HostStep(host, false, (line) => {
      if (line.startsWith('waiting for')) waits.pending = true;
    });
    await phase.run(step);
    const stored = shell.uploads.find((u) => u.target === VRRP_PASSWORD_FILE)!.content.trim();
    expect(stored).toMatch(VRRP_PASSWORD);
    const conf = shell.uploads.find((u) => u.target === KEEPALIVED_CONF)!.content;
    expect(conf).toContain(`auth_pass ${stored}`);
    expect(conf).toMatch(/interface eth1\n/);
    for (const r of recorded) expect(r.cmd).not.toContain(stored);
    const diffs = step.changes.flatMap((c) => (c.kind === 'file' ? [c.diff] : []));
    for (const target of [VRRP_PASSWORD_FILE, KEEPALIVED_CONF])
      expect(diffs).toContainEqual(
        expect.stringMatching(new RegExp(`^${target}: secret content \\(\\d+ bytes\\), mode 600$`)),
      );
    expect(step.changes.map((c) => (c.kind === 'file' ? c.diff : c.command)).join('\n')).not.toContain(stored);
    expect(step.changes.map((c) => c.description)).toEqual(
      expect.arrayContaining(['start haproxy', 'start keepalived', 'set net.ipv4.ip_nonlocal_bind=1']),
    );
  });
});
