// Host prep's firewall openings with the managed endpoint, without hosts: on control
// planes the endpoint's port, and VRRP (IP protocol 112) from each other control plane,
// in firewalld (a rich rule per peer) and in ufw (`allow from PEER proto vrrp`); nothing
// more on workers, nothing again where it is open. The phase's commands are shellchecked
// by test/shellcheck.test.ts.
import { describe, expect, it } from 'vitest';
import { HostStep } from '../engine/host-step.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import { clusterPorts, HostprepPhase, vrrpPeers, vrrpRichRule } from '../provisioners/hostprep.js';
import type { ClusterModel, NodeModel } from '../spec/model.js';
import { renderCluster } from '../templates/render.js';
import { renderFixture } from './support/fixtures.js';
import { RecordingShell, type Recorded } from './support/recording-host.js';

/** Host prep on one node whose firewalld and ufw run and already have `open`; the firewall changes it makes. */
async function firewallChanges(
  model: ClusterModel,
  node: NodeModel,
  open: { ports?: string; richRules?: string; ufw?: string } = {},
): Promise<string[]> {
  const recorded: Recorded[] = [];
  const shell = new RecordingShell(
    node.name,
    recorded,
    (command) => {
      if (command === 'firewall-cmd --permanent --list-ports') return { stdout: `${open.ports ?? ''}\n` };
      if (command === 'firewall-cmd --permanent --list-rich-rules') return { stdout: `${open.richRules ?? ''}\n` };
      if (command.startsWith('ufw status 2>/dev/null')) return { stdout: 'Status: active\n' };
      if (command === 'ufw status') return { stdout: `Status: active\n\n${open.ufw ?? ''}` };
      if (command.startsWith('timedatectl')) return { stdout: 'yes\n' };
      return { stdout: '' };
    },
    { pending: false },
  );
  const step = new HostStep({ name: node.name, node, ssh: shell } as NodeHost, false);
  await new HostprepPhase(model, renderCluster(model)).run(step);
  return step.changes.flatMap((c) => (c.kind === 'command' && /firewalld|ufw/.test(c.description) ? [c.command] : []));
}

describe('host prep opens the managed endpoint in the firewall', () => {
  it("opens the endpoint's port and VRRP from the other control planes on a control plane", async () => {
    const { model } = (await renderFixture('ha')).loaded;
    const [cp1, , , worker] = model.nodes;
    expect(clusterPorts(model, cp1!)).toContain('8443/tcp');
    expect(vrrpPeers(model, cp1!)).toEqual(['192.168.56.12', '192.168.56.13']);
    expect(clusterPorts(model, worker!)).not.toContain('8443/tcp');
    expect(vrrpPeers(model, worker!)).toEqual([]);

    const [firewalld, ufw] = await firewallChanges(model, cp1!, {
      richRules: vrrpRichRule('192.168.56.12'),
      ufw: 'Anywhere                   ALLOW       192.168.56.13/vrrp\n',
    });
    expect(firewalld).toContain('firewall-cmd --permanent --add-port=8443/tcp');
    expect(firewalld).toContain(
      `firewall-cmd --permanent --add-rich-rule='rule family="ipv4" source address="192.168.56.13" ` +
        `protocol value="vrrp" accept' && firewall-cmd --reload`,
    );
    expect(firewalld).not.toContain('192.168.56.12');
    expect(ufw).toContain('ufw allow 8443/tcp');
    expect(ufw).toContain("ufw allow from '192.168.56.12' proto vrrp");
    expect(ufw).not.toContain('192.168.56.13');
    // A worker gets the cluster's ports as before, no endpoint port and no VRRP.
    for (const command of await firewallChanges(model, worker!)) expect(command).not.toMatch(/8443|vrrp/);
  });

  it('changes nothing where everything is open, and opens no VRRP without a managed endpoint', async () => {
    const { model } = (await renderFixture('ha')).loaded;
    const cp1 = model.nodes[0]!;
    const ports = clusterPorts(model, cp1);
    const peers = vrrpPeers(model, cp1);
    expect(
      await firewallChanges(model, cp1, {
        ports: ports.join(' '),
        richRules: peers.map(vrrpRichRule).join('\n'),
        ufw: [
          ...ports.map((p) => `${p.replace('-', ':')}   ALLOW   Anywhere`),
          ...peers.map((p) => `Anywhere ALLOW ${p}/vrrp`),
        ]
          .map((line) => `${line}\n`)
          .join(''),
      }),
    ).toEqual([]);
    const existing = (await renderFixture('existing')).loaded.model;
    const controlPlane = existing.nodes.find((n) => n.role === 'control-plane')!;
    expect(vrrpPeers(existing, controlPlane)).toEqual([]);
    for (const command of await firewallChanges(existing, controlPlane)) expect(command).not.toMatch(/vrrp/);
  });
});
