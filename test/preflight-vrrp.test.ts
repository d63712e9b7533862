// Preflight's VRRP router-id check without hosts: the packets as the listener prints
// them (captured from a real keepalived 2.2.7), the verdict, the listener script, and that
// only control planes of a cluster with a managed endpoint listen. On real hosts with a
// real keepalived: test/hostprep.test.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostStep } from '../engine/host-step.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import { PreflightPhase } from '../provisioners/preflight.js';
import { applyIgnores } from '../provisioners/preflight/checks.js';
import {
  parseHeard,
  parseVrrpPacket,
  VRRP_LISTEN_SECONDS,
  vrrpListenScript,
  vrrpVerdict,
} from '../provisioners/preflight/vrrp.js';
import type { ClusterModel } from '../spec/model.js';
import { renderFixture } from './support/fixtures.js';
import { RecordingShell, type Recorded } from './support/recording-host.js';
import { missingTools, run } from './support/tools.js';

// keepalived, multicast to 224.0.0.18: VRRP v2, router id 77, priority 100, VIP 10.250.0.100, from 10.250.0.1.
const MULTICAST = '45c00028000c0000ff70cf8c0afa0001e0000012214d640100016f520afa00640000000000000000';
// keepalived, unicast to its peer 10.250.0.2: router id 78.
const UNICAST = '45c0002800010000ff70a4ae0afa00010afa0002214e640100016f510afa00640000000000000000';
/** A VRRP v3 advert (RFC 5798: no authentication, the interval in centiseconds) with two addresses. */
const V3 = `4500003000000000ff700000c0a8380ae0000012${'31' + '2a' + '64' + '02'}0064abcd${'c0a83809'}${'c0a838fe'}`;

async function haModel(vrid: number): Promise<ClusterModel> {
  const { model } = (await renderFixture('ha')).loaded;
  return {
    ...model,
    kubernetes: { ...model.kubernetes, endpoint: { ...model.kubernetes.endpoint, virtualRouterId: vrid } },
  };
}

const advert = (sender: string, vrid: number) => ({
  sender,
  vrid,
  version: 2,
  priority: 100,
  addresses: ['192.168.56.9'],
});

describe('preflight: the VRRP router id', () => {
  it('reads the router id, sender and addresses of VRRP v2 and v3 adverts, and nothing else', () => {
    expect(parseVrrpPacket(MULTICAST)).toEqual({
      sender: '10.250.0.1',
      vrid: 77,
      version: 2,
      priority: 100,
      addresses: ['10.250.0.100'],
    });
    expect(parseVrrpPacket(UNICAST)).toMatchObject({ sender: '10.250.0.1', vrid: 78 });
    expect(parseVrrpPacket(V3)).toEqual({
      sender: '192.168.56.10',
      vrid: 42,
      version: 3,
      priority: 100,
      addresses: ['192.168.56.9', '192.168.56.254'],
    });
    // Not protocol 112, an IP header with options (IHL 6) before the advert, a type other than 1, garbage.
    expect(parseVrrpPacket(MULTICAST.replace(/^(.{18})70/, '$106'))).toBeUndefined();
    expect(parseVrrpPacket(`46c0002c000c0000ff70cf8c0afa0001e000001294040000${MULTICAST.slice(40)}`)).toMatchObject({
      vrid: 77,
    });
    expect(parseVrrpPacket(MULTICAST.replace(/^(.{40})21/, '$122'))).toBeUndefined();
    expect(parseVrrpPacket('45c000')).toBeUndefined();
    expect(parseVrrpPacket('not hex')).toBeUndefined();
    expect(parseHeard(`@@listening\n${MULTICAST}\n${UNICAST}\n`)).toEqual({
      listening: true,
      adverts: [parseVrrpPacket(MULTICAST), parseVrrpPacket(UNICAST)],
    });
    expect(parseHeard('').listening).toBe(false);
  });

  it("refuses its router id from a stranger, naming sender, id and fix; the cluster's own adverts pass", async () => {
    const model = await haModel(77);
    const stranger = vrrpVerdict(model, 'eth1', {
      listening: true,
      adverts: [advert('192.168.56.12', 77), advert('192.168.56.200', 77), advert('192.168.56.7', 5)],
    });
    expect(stranger.verdict).toBe('fail');
    expect(stranger.detail).toBe(
      'VRRP router id 77 is taken on eth1: 192.168.56.200 advertises it (for 192.168.56.9), and keepalived here ' +
        'would fight it for mastership — set spec.kubernetes.controlPlaneEndpoint.virtualRouterId to an id no router ' +
        'on this network uses; ids in use there: 5',
    );
    // The control planes' own adverts (cp2 is 192.168.56.12): a run on a running cluster.
    const own = vrrpVerdict(model, 'eth1', { listening: true, adverts: [advert('192.168.56.12', 77)] });
    expect(own).toEqual({
      name: 'vrrp',
      verdict: 'pass',
      detail: `router id 77 advertised only by this cluster's control planes on eth1 in ${VRRP_LISTEN_SECONDS} s`,
    });
    const other = vrrpVerdict(model, 'eth1', { listening: true, adverts: [advert('192.168.56.200', 78)] });
    expect(other.verdict).toBe('pass');
    expect(other.detail).toBe(`router id 77 not heard on eth1 in ${VRRP_LISTEN_SECONDS} s; ids in use there: 78`);
    // A listener that could not start is a warning: the id is unchecked, not taken.
    expect(
      vrrpVerdict(model, 'eth1', { listening: false, adverts: [] }, 'raw socket: Operation not permitted\n'),
    ).toEqual({
      name: 'vrrp',
      verdict: 'warn',
      detail: 'could not listen for VRRP adverts on eth1 (raw socket: Operation not permitted); router id 77 unchecked',
    });
    expect(applyIgnores([stranger], ['vrrp'])[0]!.verdict).toBe('warn');
  });

  const missing = missingTools('shellcheck');
  it.skipIf(missing)(`lists a bounded, quoted listener that shellcheck passes${missing ? ` (${missing})` : ''}`, () => {
    const script = vrrpListenScript("eth0'x");
    expect(script).toContain(`timeout ${VRRP_LISTEN_SECONDS} "$@" - 'eth0'\\''x' "$index"`);
    const path = join(mkdtempSync(join(tmpdir(), 'kubestrap-vrrp-')), 'listen.sh');
    writeFileSync(path, `${script}\n`);
    const result = run('shellcheck', ['-s', 'sh', path]);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('listens on the control planes of a managed endpoint only, on the interface of the node address', async () => {
    for (const [fixture, listeners] of [
      ['ha', ['cp1', 'cp2', 'cp3']],
      ['existing', []],
    ] as const) {
      const { model } = (await renderFixture(fixture)).loaded;
      const recorded: Recorded[] = [];
      const phase = new PreflightPhase(model);
      for (const node of model.nodes) {
        const shell = new RecordingShell(
          node.name,
          recorded,
          (command) => {
            if (command === 'ip -o -4 addr show')
              return { stdout: `3: eth1    inet ${node.ip}/24 scope global eth1\n` };
            if (command.includes('SOCK_RAW')) return { stdout: `@@listening\n${MULTICAST}\n` };
            return { stdout: '' };
          },
          { pending: false },
        );
        await phase.run(new HostStep({ name: node.name, node, ssh: shell } as NodeHost, false));
      }
      const listened = recorded.filter((r) => r.cmd.includes('SOCK_RAW'));
      expect(
        listened.map((r) => r.host),
        fixture,
      ).toEqual(listeners);
      for (const r of listened) expect(r.cmd).toContain("cat /sys/class/net/'eth1'/ifindex");
      const vrrp = phase.reports.flatMap((r) => r.results.filter((c) => c.name === 'vrrp').map(() => r.host));
      expect(vrrp, fixture).toEqual(listeners);
    }
  });
});
