// Preflight and host prep on real hosts with systemd as PID 1: real files, real
// sysctls in each host's network namespace, real systemctl.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostprepPhase } from '../provisioners/hostprep.js';
import { PreflightPhase, preflightTable } from '../provisioners/preflight.js';
import { dryRunReport, failureSummary, runPhases } from '../engine/index.js';
import { SshPool } from '../ssh/pool.js';
import { renderCluster } from '../templates/render.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessModel, nodeHosts } from './support/cluster.js';
import { missingTools } from './support/tools.js';
import { jsonEvents } from './support/json-lines.js';

const unavailable = harnessUnavailable();

describe.skipIf(unavailable)(
  `preflight and host prep on real hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let harness: Harness;
    let pool: SshPool;

    beforeAll(async () => {
      harness = await Harness.start(3, 'systemd');
      pool = new SshPool({ knownHostsPath: join(mkdtempSync(join(tmpdir(), 'hostprep-')), 'known_hosts') });
    }, 900_000);

    afterAll(async () => {
      await pool?.close();
      await harness?.stop();
    });

    const file = (host: string, path: string) => {
      const full = join(harness.host(host).root, path);
      return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
    };
    const inside = (host: string, command: string) => harness.inside(harness.host(host), command).trim();

    it('preflight reports every check on every host and passes healthy hosts', async () => {
      const model = harnessModel(harness);
      const preflight = new PreflightPhase(model);
      const result = await runPhases([preflight], nodeHosts(model, pool, harness));
      expect(result.ok).toBe(true);
      const table = preflightTable(preflight.reports);
      expect(table.split('\n')[0]).toMatch(/^HOST\s+CHECK\s+RESULT\s+DETAIL$/);
      expect(table).toMatch(/^h1\s+private-ip\s+PASS\s+10\.213\.\d+\.11 present$/m);
      expect(table).toMatch(/^h1\s+ports\s+PASS\s+tcp\/6443 /m);
      expect(table).toMatch(/^h3\s+os\s+PASS\s+Debian GNU\/Linux 12 \(bookworm\)$/m);
    });

    it.skipIf(missingTools('keepalived'))(
      'preflight refuses a VRRP router id a stranger advertises (the control planes may), and passes another',
      { timeout: 60_000 },
      async () => {
        const started = Date.now();
        const address = (n: number) => harness.hosts[0]!.ip.replace(/\.\d+$/, `.${n}`);
        // A stranger on the hosts' network: a bare namespace on their bridge, at .240.
        const router = `ks${harness.id}-vrrp`;
        const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
        ip('netns', 'add', router);
        const dir = mkdtempSync(join(tmpdir(), 'vrrp-'));
        const daemons: ChildProcess[] = [];
        /** A real keepalived (this machine's) in a network namespace, advertising router id 201. */
        const keepalived = (netns: string, priority: number, unicastTo: string[] = []): ChildProcess => {
          const conf = join(dir, `${netns}.conf`);
          writeFileSync(
            conf,
            'vrrp_instance other {\n  state MASTER\n  interface eth0\n  virtual_router_id 201\n' +
              `  priority ${priority}\n  advert_int 1\n` +
              (unicastTo.length ? `  unicast_peer {\n${unicastTo.map((p) => `    ${p}\n`).join('')}  }\n` : '') +
              `  virtual_ipaddress {\n    ${address(240 + priority / 100)}/24\n  }\n}\n`,
          );
          const pid = (name: string) => join(dir, `${netns}.${name}.pid`);
          const args = ['-n', '-l', '-D', '--vrrp', '-f', conf, '-p', pid('main'), '-r', pid('vrrp')];
          const daemon = spawn('ip', ['netns', 'exec', netns, 'keepalived', ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          daemons.push(daemon);
          return daemon;
        };
        try {
          ip('link', 'add', router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', router);
          ip('link', 'set', router, 'master', harness.bridge, 'up');
          ip('-n', router, 'addr', 'add', `${address(240)}/24`, 'dev', 'eth0');
          ip('-n', router, 'link', 'set', 'eth0', 'up');
          // The stranger multicasts, as routers and keepalived do by default; h2's keepalived sends to the other
          // control planes (unicast), as the cluster's own does on a running cluster: those adverts are no clash.
          const h = (name: string) => harness.host(name);
          const running = [keepalived(router, 100), keepalived(h('h2').netns, 200, [h('h1').ip, h('h3').ip])];
          // keepalived starts as backup and takes mastership (and advertises) after 3 advert intervals.
          await Promise.all(
            running.map(
              (d) =>
                new Promise<void>((resolve, reject) => {
                  let log = '';
                  const timer = setTimeout(() => reject(new Error(`keepalived did not advertise:\n${log}`)), 15_000);
                  const read = (chunk: Buffer) => {
                    log += chunk.toString();
                    if (log.includes('Entering MASTER STATE')) {
                      clearTimeout(timer);
                      resolve();
                    }
                  };
                  d.stdout!.on('data', read);
                  d.stderr!.on('data', read);
                }),
            ),
          );
          const preflight = async (vrid: number) => {
            const model = harnessModel(harness, {
              controlPlanes: 3,
              managedEndpoint: { address: address(250), port: 8443 },
            });
            const endpoint = { ...model.kubernetes.endpoint, virtualRouterId: vrid };
            const managed = { ...model, kubernetes: { ...model.kubernetes, endpoint } };
            const phase = new PreflightPhase(managed);
            const result = await runPhases([phase], nodeHosts(managed, pool, harness));
            const vrrp = phase.reports
              .flatMap((r) => r.results.filter((c) => c.name === 'vrrp').map((c) => [r.host, c.verdict, c.detail]))
              .sort();
            return { result, vrrp };
          };
          const taken = await preflight(201);
          expect(taken.result.ok).toBe(false);
          expect(failureSummary(taken.result)).toContain('3 check(s) failed; nothing was changed:');
          // The stranger only: h1 and h3 heard h2 (a control plane) too.
          const clash =
            `VRRP router id 201 is taken on eth0: ${address(240)} advertises it (for ${address(241)}), and ` +
            'keepalived here would fight it for mastership — set ' +
            'spec.kubernetes.controlPlaneEndpoint.virtualRouterId to an id no router on this network uses';
          expect(taken.vrrp).toEqual([
            ['h1', 'fail', clash],
            ['h2', 'fail', clash],
            ['h3', 'fail', clash],
          ]);

          const free = await preflight(202);
          expect(failureSummary(free.result)).toBe('');
          const heard = 'router id 202 not heard on eth0 in 3 s; ids in use there: 201';
          expect(free.vrrp).toEqual([
            ['h1', 'pass', heard],
            ['h2', 'pass', heard],
            ['h3', 'pass', heard],
          ]);
          console.log(`VRRP preflight on real hosts: ${Date.now() - started} ms`);
        } finally {
          for (const d of daemons) d.kill('SIGTERM');
          await Promise.all(
            daemons.map((d) => (d.exitCode === null && d.signalCode === null ? once(d, 'exit') : undefined)),
          );
          rmSync(dir, { recursive: true, force: true });
          ip('netns', 'del', router);
        }
      },
    );

    it('a preflight failure stops the run before any change, naming every failed check', async () => {
      // h2 and h3 become Rook nodes with a disk they do not have.
      const model = harnessModel(harness, {
        rook: true,
        version: '1.34.2',
        extraNodeYaml: (name) =>
          name === 'h1' ? '        storage: false\n' : '        disks:\n          - device: /dev/vdq\n',
      });
      const files = renderCluster(model);
      const result = await runPhases(
        [new PreflightPhase(model), new HostprepPhase(model, files)],
        nodeHosts(model, pool, harness),
      );
      expect(result.ok).toBe(false);
      expect(result.phases.map((p) => p.title)).toEqual(['Preflight checks']);
      const summary = failureSummary(result);
      expect(summary).toContain('✖ Preflight checks failed: 2 check(s) failed; nothing was changed:');
      expect(summary).toMatch(/h2: rook-disk:\/dev\/vdq: \/dev\/vdq does not exist on this host/);
      expect(summary).toMatch(/h3: rook-disk:\/dev\/vdq: /);
      expect(summary).toContain('--ignore-preflight NAME');
      for (const host of ['h1', 'h2', 'h3']) expect(file(host, 'etc/kubestrap/hosts')).toBeUndefined();
      const ignored = await runPhases(
        [new PreflightPhase(model, { ignore: ['rook-disk'] })],
        nodeHosts(model, pool, harness),
      );
      expect(ignored.ok).toBe(true);
    });

    it('--dry-run shows what host prep would do and changes nothing', async () => {
      const model = harnessModel(harness, { hostname: (name) => `${name}.lab.internal` });
      const result = await runPhases(
        [new HostprepPhase(model, renderCluster(model))],
        nodeHosts(model, pool, harness),
        { dryRun: true },
      );
      const report = dryRunReport(result);
      expect(report).toContain('# Host preparation — h1');
      expect(report).toContain("$ hostnamectl set-hostname 'h1.lab.internal'");
      expect(report).toContain('+++ /etc/sysctl.d/99-kubestrap.conf');
      expect(inside('h1', 'hostname')).toBe('h1');
      expect(file('h1', 'etc/sysctl.d/99-kubestrap.conf')).toBeUndefined();
    });

    it('host prep brings every host to the end state, and a second run changes nothing', async () => {
      writeFileSync(
        join(harness.host('h1').root, 'etc/hosts'),
        '127.0.0.1\tlocalhost\n127.0.1.1\th1.lab.internal h1\n',
      );
      writeFileSync(
        join(harness.host('h1').root, 'etc/fstab'),
        '/dev/vda1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n',
      );
      const model = harnessModel(harness, { hostname: (name) => `${name}.lab.internal` });
      const files = renderCluster(model);
      const hosts = nodeHosts(model, pool, harness);
      const first = await runPhases([new HostprepPhase(model, files)], hosts);
      expect(failureSummary(first)).toBe('');
      expect(first.phases[0]!.hosts.map((h) => h.status)).toEqual(['changed', 'changed', 'changed']);

      for (const node of model.nodes) {
        expect(inside(node.name, 'hostname')).toBe(`${node.name}.lab.internal`);
        expect(inside(node.name, 'sysctl -n net.ipv4.ip_forward')).toBe('1');
        expect(inside(node.name, `getent ahostsv4 h2.lab.internal | head -n 1 | cut -d' ' -f1`)).toBe(
          model.nodes[1]!.ip,
        );
        for (const rendered of files.filter(
          (f) =>
            f.node === node.name &&
            ['/etc/sysctl.d/99-kubestrap.conf', '/etc/modules-load.d/kubestrap.conf'].includes(f.target!),
        )) {
          expect(file(node.name, rendered.target!.slice(1))).toBe(rendered.content);
          expect(statSync(join(harness.host(node.name).root, rendered.target!)).mode & 0o777).toBe(rendered.mode);
        }
      }
      const hostsFile = file('h1', 'etc/hosts')!;
      expect(hostsFile).not.toContain('127.0.1.1');
      expect(hostsFile).toContain('# BEGIN kubestrap cluster harness');
      expect(file('h1', 'etc/fstab')).toContain(
        '# disabled by kubestrap (kubelet needs swap off): /swapfile none swap sw 0 0',
      );

      const second = await runPhases([new HostprepPhase(model, files)], hosts);
      expect(second.phases[0]!.hosts.map((h) => [h.host, h.status, h.changes.length])).toEqual([
        ['h1', 'unchanged', 0],
        ['h2', 'unchanged', 0],
        ['h3', 'unchanged', 0],
      ]);
    });
  },
);

describe.skipIf(unavailable)(
  `kubestrap preflight on real hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    it(
      'prints the table and exits 0; exits 1 and names the failure when a check fails; --json streams events',
      { timeout: 900_000 },
      async () => {
        const { writeFileSync: write } = await import('node:fs');
        const { harnessSpec } = await import('./support/cluster.js');
        const { run } = await import('./support/tools.js');
        const { REPO_ROOT } = await import('./support/fixtures.js');
        const harness = await Harness.start(2, 'systemd');
        try {
          const dir = mkdtempSync(join(tmpdir(), 'preflight-cli-'));
          const env = { ...process.env, HOME: dir, SSH_AUTH_SOCK: '' };
          const cli = (args: string[]) =>
            run(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), ...args], { cwd: dir, env });
          write(join(dir, 'ok.yaml'), harnessSpec(harness));
          const ok = cli(['preflight', '-f', 'ok.yaml']);
          expect(ok.status).toBe(0);
          expect(ok.stdout).toMatch(/^h2\s+private-ip\s+PASS/m);
          expect(statSync(join(dir, '.kubestrap/harness/known_hosts')).mode & 0o777).toBe(0o600);
          expect(statSync(join(dir, '.kubestrap/harness/logs/h1.log')).mode & 0o777).toBe(0o600);

          write(
            join(dir, 'rook.yaml'),
            harnessSpec(harness, {
              rook: true,
              extraNodeYaml: (n) =>
                n === 'h1' ? '        storage: false\n' : '        disks:\n          - device: /dev/vdq\n',
            }),
          );
          const failing = cli(['preflight', '-f', 'rook.yaml']);
          expect(failing.status).toBe(1);
          expect(failing.stdout).toMatch(/^h2\s+rook-disk:\/dev\/vdq\s+FAIL\s+\/dev\/vdq does not exist on this host/m);
          expect(failing.stderr).toContain('✖ Preflight checks failed: 1 check(s) failed; nothing was changed:');
          expect(cli(['preflight', '-f', 'rook.yaml', '--ignore-preflight', 'rook-disk']).status).toBe(0);

          const json = cli(['preflight', '-f', 'ok.yaml', '--json']);
          const events = jsonEvents(json.stdout);
          expect(events[0]).toMatchObject({ type: 'phase', phase: 'Preflight checks', hosts: ['h1', 'h2'] });
          expect(events.at(-1)).toMatchObject({ type: 'preflight', ok: true });
        } finally {
          await harness.stop();
        }
      },
    );
  },
);
