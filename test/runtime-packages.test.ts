// containerd and the Kubernetes packages installed for real on systemd hosts from a
// package mirror on the test network (real apt, real Debian containerd/runc; the
// kubelet/kubeadm/kubectl packages carry test doubles — the real ones cannot run here).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackagesPhase } from '../provisioners/packages.js';
import { dryRunReport, failureSummary, runPhases } from '../engine/index.js';
import { RuntimePhase } from '../provisioners/runtime.js';
import { loadSpecText } from '../spec/load.js';
import { SshPool } from '../ssh/pool.js';
import { KUBEADM_CONF } from '../templates/node-paths.js';
import { renderCluster } from '../templates/render.js';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessSpec, nodeHosts } from './support/cluster.js';

const unavailable = harnessUnavailable();
const VERSION = '1.34.2';

describe.skipIf(unavailable)(
  `runtime and packages phases on real hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let harness: Harness;
    let mirror: AptMirror;
    let pool: SshPool;

    beforeAll(async () => {
      harness = await Harness.start(3, 'systemd');
      mirror = await AptMirror.start(harness, VERSION);
      for (const host of harness.hosts) mirror.configureHost(host);
      pool = new SshPool({ knownHostsPath: join(mkdtempSync(join(tmpdir(), 'pkgs-')), 'known_hosts') });
    }, 900_000);

    afterAll(async () => {
      await pool?.close();
      await mirror?.stop();
      await harness?.stop();
    });

    const model = () =>
      loadSpecText(
        harnessSpec(harness, { version: VERSION, kubernetesRepository: mirror.kubernetesRepository }),
        'harness.yaml',
      ).model;
    const inside = (host: string, command: string) => harness.inside(harness.host(host), command).trim();

    it('--dry-run lists the installs and changes nothing', async () => {
      const m = model();
      const files = renderCluster(m);
      const result = await runPhases(
        [new RuntimePhase(m, files), new PackagesPhase(m, files)],
        nodeHosts(m, pool, harness).slice(0, 1),
        { dryRun: true },
      );
      expect(failureSummary(result)).toBe('');
      const report = dryRunReport(result);
      expect(report).toContain('# Container runtime (containerd) — h1');
      expect(report).toMatch(
        /\$ .*apt-get.* install -y -q --no-install-recommends --allow-change-held-packages 'containerd'/,
      );
      expect(report).toContain('+++ /etc/containerd/config.toml');
      expect(inside('h1', 'command -v containerd || echo none')).toBe('none');
    });

    it(
      'a host that fails mid-phase leaves the others done, and a re-run finishes the job',
      { timeout: 300_000 },
      async () => {
        const list = join(harness.host('h3').root, 'etc/apt/sources.list.d/mirror.list');
        const good = readFileSync(list, 'utf8');
        writeFileSync(list, good.replace('/debian ./', '/no-such-repo ./'));
        const m = model();
        const files = renderCluster(m);
        const first = await runPhases([new RuntimePhase(m, files)], nodeHosts(m, pool, harness));
        expect(first.phases[0]!.hosts.map((h) => [h.host, h.status])).toEqual([
          ['h1', 'changed'],
          ['h2', 'changed'],
          ['h3', 'failed'],
        ]);
        expect(failureSummary(first)).toMatch(
          /✖ Container runtime \(containerd\) failed on h3: `.*apt-get.*` exited 100/,
        );
        expect(inside('h2', 'systemctl is-active containerd')).toBe('active');
        writeFileSync(list, good);
        const second = await runPhases([new RuntimePhase(m, files)], nodeHosts(m, pool, harness));
        expect(second.phases[0]!.hosts.map((h) => [h.host, h.status])).toEqual([
          ['h1', 'unchanged'],
          ['h2', 'unchanged'],
          ['h3', 'changed'],
        ]);
        expect(inside('h3', 'systemctl is-active containerd')).toBe('active');
      },
    );

    it(
      'installs and configures containerd and the pinned packages; a second run changes nothing',
      { timeout: 300_000 },
      async () => {
        const m = model();
        const files = renderCluster(m);
        const hosts = nodeHosts(m, pool, harness);
        const first = await runPhases([new RuntimePhase(m, files), new PackagesPhase(m, files)], hosts);
        expect(failureSummary(first)).toBe('');
        for (const host of ['h1', 'h2', 'h3']) {
          expect(inside(host, 'systemctl is-active containerd')).toBe('active');
          expect(inside(host, 'ctr --address /run/containerd/containerd.sock version')).toMatch(
            /Server:\s+Version:\s+1\.6\./,
          );
          expect(readFileSync(join(harness.host(host).root, 'etc/containerd/config.toml'), 'utf8')).toBe(
            files.find((f) => f.node === host && f.target === '/etc/containerd/config.toml')!.content,
          );
          expect(inside(host, 'kubeadm version -o short')).toBe(`v${VERSION}`);
          expect(inside(host, "dpkg-query -W -f='${Version}' kubelet")).toBe(`${VERSION}-1.1`);
          expect(inside(host, 'apt-mark showhold').split('\n').sort()).toEqual(['kubeadm', 'kubectl', 'kubelet']);
          expect(inside(host, 'systemctl is-enabled kubelet')).toBe('enabled');
          expect(inside(host, 'systemctl cat kubelet')).toContain(
            'ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS ' +
              '$KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS',
          );
          expect(inside(host, 'cat /etc/apt/sources.list.d/kubernetes.list')).toBe(
            `deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] ${mirror.kubernetesRepository}/v1.34/deb/ /`,
          );
        }
        const second = await runPhases([new RuntimePhase(m, files), new PackagesPhase(m, files)], hosts);
        expect(second.phases.flatMap((p) => p.hosts.map((h) => `${p.title}/${h.host}: ${h.status}`))).toEqual([
          'Container runtime (containerd)/h1: unchanged',
          'Container runtime (containerd)/h2: unchanged',
          'Container runtime (containerd)/h3: unchanged',
          'Kubernetes packages/h1: unchanged',
          'Kubernetes packages/h2: unchanged',
          'Kubernetes packages/h3: unchanged',
        ]);
      },
    );

    it('restarts containerd only where its config changed', { timeout: 120_000 }, async () => {
      const m = model();
      const files = renderCluster(m);
      const started = (host: string) =>
        inside(host, 'systemctl show -p ActiveEnterTimestampMonotonic --value containerd');
      const before = { h1: started('h1'), h2: started('h2') };
      writeFileSync(join(harness.host('h2').root, 'etc/containerd/config.toml'), 'version = 2\n');
      const result = await runPhases([new RuntimePhase(m, files)], nodeHosts(m, pool, harness));
      expect(result.phases[0]!.hosts.map((h) => [h.host, h.status, h.changes.map((c) => c.description)])).toEqual([
        ['h1', 'unchanged', []],
        ['h2', 'changed', ['write /etc/containerd/config.toml', 'restart containerd (its config changed)']],
        ['h3', 'unchanged', []],
      ]);
      expect(started('h1')).toBe(before.h1);
      expect(started('h2')).not.toBe(before.h2);
    });

    it(
      "fails clearly when the mirror lacks the version, with apt's view of what it has",
      { timeout: 120_000 },
      async () => {
        const m = loadSpecText(
          harnessSpec(harness, { version: '1.34.9', workers: 0, kubernetesRepository: mirror.kubernetesRepository }),
          'harness.yaml',
        ).model;
        const result = await runPhases([new PackagesPhase(m, renderCluster(m))], nodeHosts(m, pool, harness));
        expect(result.ok).toBe(false);
        expect(failureSummary(result)).toContain(
          `kubeadm 1.34.9 is not in ${mirror.kubernetesRepository}/v1.34/deb/ ` +
            `(apt-cache madison kubeadm lists: ${VERSION}-1.1`,
        );
      },
    );
  },
);

// pkgs.k8s.io's kubelet only Recommends iptables and apt runs without recommends: the
// packages phase itself must install what kubeadm's preflight looks for (spec/host-packages.ts).
// 1.32 is the last minor whose kubeadm checks iptables (kubernetes#129131).
const PREFLIGHT_VERSION = '1.32.13';

describe.skipIf(unavailable)(
  `kubeadm ${PREFLIGHT_VERSION}'s preflight on a minimal host${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let harness: Harness;
    let mirror: AptMirror;
    let pool: SshPool;

    beforeAll(async () => {
      harness = await Harness.start(1, 'systemd');
      mirror = await AptMirror.start(harness, PREFLIGHT_VERSION);
      mirror.configureHost(harness.host('h1'));
      pool = new SshPool({ knownHostsPath: join(mkdtempSync(join(tmpdir(), 'pkgs-')), 'known_hosts') });
    }, 900_000);

    afterAll(async () => {
      await pool?.close();
      await mirror?.stop();
      await harness?.stop();
    });

    const inside = (command: string) => harness.inside(harness.host('h1'), command);

    it('finds every command it looks for after the packages phase', { timeout: 300_000 }, async () => {
      const m = loadSpecText(
        harnessSpec(harness, { version: PREFLIGHT_VERSION, kubernetesRepository: mirror.kubernetesRepository }),
        'harness.yaml',
      ).model;
      const files = renderCluster(m);
      expect(inside('for c in iptables ethtool; do command -v "$c"; done; true')).toBe('');
      const result = await runPhases([new PackagesPhase(m, files)], nodeHosts(m, pool, harness));
      expect(failureSummary(result)).toBe('');
      const conf = files.find((f) => f.node === 'h1' && f.target === KUBEADM_CONF)!;
      writeFileSync(join(harness.host('h1').root, 'root/preflight.conf'), conf.content);
      // No containerd runs here: the CRI check fails, so init stops once preflight has listed every finding.
      const init = inside('kubeadm init --config /root/preflight.conf 2>&1; echo "rc=$?"');
      expect(init).toContain('[ERROR CRI]: container runtime is not running');
      expect(init).toMatch(/rc=1\n$/);
      expect(init.split('\n').filter((line) => line.includes('FileExisting-'))).toEqual([]);
    });
  },
);
