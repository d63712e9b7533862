// `kubestrap up`, `up --dry-run` and `reset` as a user runs them, on real hosts
// (existing-hosts provider), with the test package mirror and the kubeadm doubles.
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessSpec } from './support/cluster.js';
import { REPO_ROOT, SHARED_REFERENCE, sharedReferenceMissing } from './support/fixtures.js';
import { serveDirectory, type StaticServer } from './support/static-server.js';
import { runAsync } from './support/tools.js';

const unavailable = harnessUnavailable() ?? sharedReferenceMissing();

describe.skipIf(unavailable)(
  `kubestrap up / reset on existing hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let harness: Harness;
    let mirror: AptMirror;
    let upstream: StaticServer;
    let dir: string;

    beforeAll(async () => {
      harness = await Harness.start(3, 'systemd');
      mirror = await AptMirror.start(harness, '1.34.2');
      for (const host of harness.hosts) mirror.configureHost(host);
      upstream = await serveDirectory(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6'));
      dir = mkdtempSync(join(tmpdir(), 'cli-up-'));
      const spec = harnessSpec(harness, {
        kubernetesRepository: mirror.kubernetesRepository,
        rook: true,
        extraNodeYaml: (n) =>
          n === 'h1' ? '        storage: false\n' : '        disks:\n          - device: /dev/vdb\n',
      }).replace('      enabled: true\n', `      enabled: true\n      manifestBase: ${JSON.stringify(upstream.url)}\n`);
      writeFileSync(join(dir, 'cluster.yaml'), spec);
    }, 900_000);

    afterAll(async () => {
      await upstream?.close();
      await mirror?.stop();
      await harness?.stop();
    });

    const cli = (...args: string[]) =>
      runAsync(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), ...args], {
        cwd: dir,
        env: { ...process.env, HOME: dir, SSH_AUTH_SOCK: '', CI: 'true' },
        timeoutMs: 500_000,
      });

    it(
      'up brings the cluster up, prints the node table and where the kubeconfig is',
      { timeout: 600_000 },
      async () => {
        const result = await cli('up', '-f', 'cluster.yaml', '--ignore-preflight', 'rook-disk');
        expect(result.stderr).not.toContain('✖');
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(
          /NODE\s+ROLE\s+IP\s+VERSION\s+STATUS\nh1\s+control-plane\s+10\.213\.\d+\.11\s+v1\.34\.2\s+Ready\n/,
        );
        // The workload verify ran: storage on each worker, pods across nodes, DNS.
        expect(result.stdout).toMatch(/CHECK\s+NODE\s+RESULT\nstorage\s+h2\s+wrote and read back PVC verify-h2\n/);
        expect(result.stdout).toMatch(/storage\s+h3\s+wrote and read back PVC verify-h3\n/);
        expect(result.stdout).toMatch(/pod network\s+h3\s+fetched from pod 10\.213\.\d+\.12 on h2\n/);
        expect(result.stdout).toMatch(
          /cluster DNS\s+h3\s+verify-server\.kubestrap-verify\.svc\.cluster\.local → 10\.\d+\.\d+\.\d+\n/,
        );
        const kubeconfig = join(dir, '.kubestrap/harness/kubeconfig');
        expect(result.stdout).toContain(`export KUBECONFIG=${kubeconfig}`);
        expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
        expect(existsSync(join(dir, '.kubestrap/harness/manifest.json'))).toBe(true);
        expect(JSON.parse(readFileSync(join(dir, '.kubestrap/harness/upstream.lock.json'), 'utf8'))).toHaveProperty([
          'rook-v1.20.6/operator.yaml',
          'sha256',
        ]);
      },
    );

    it(
      'status reports every existing host reachable and Ready, from the API server',
      { timeout: 120_000 },
      async () => {
        const result = await cli('status', '-f', 'cluster.yaml', '--json');
        expect(result.status, result.stderr).toBe(0);
        const status = JSON.parse(result.stdout) as {
          healthy: boolean;
          nodes: { node: string; machine: string; ssh: string; kubernetes: string }[];
        };
        expect(status.healthy).toBe(true);
        expect(status.nodes.map((n) => [n.node, n.machine, n.ssh, n.kubernetes])).toEqual(
          harness.hosts.map((h) => [h.name, 'existing', 'ok', 'Ready v1.34.2']),
        );
      },
    );

    // Each workload check reads state the doubles keep on the hosts; with that state
    // taken away, verify fails naming the check, and passes again once it is back.
    const inside = (host: string, command: string) => harness.inside(harness.host(host), command);
    const verify = () => cli('verify', '-f', 'cluster.yaml', '--timeout', '30s');
    // The tool the tests break the network with; kubestrap installs none for 1.33+ (kubeadm no
    // longer looks for it). Not the blocking harness.inside: this process serves the mirror.
    const withIptables = (host: string) =>
      harness.insideAsync(
        harness.host(host),
        'command -v iptables >/dev/null || apt-get install -y -q --no-install-recommends iptables >/dev/null',
      );

    it('verify passes on the running cluster and prints the nodes and the checks', { timeout: 300_000 }, async () => {
      const result = await verify();
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/storage\s+h2\s+wrote and read back PVC verify-h2\n/);
      expect(result.stdout).toMatch(/cluster DNS\s+h3\s+/);
      // Nothing is left of the workload once it passed.
      expect(inside('h1', 'ls /var/lib/kubestrap-doubles/api/objects/Pod/ 2>/dev/null')).not.toContain(
        'kubestrap-verify',
      );
    });

    it(
      'verify fails the storage check while Ceph is unhealthy: the claims stay Pending',
      { timeout: 300_000 },
      async () => {
        inside('h1', 'echo "Ready HEALTH_ERR" > /var/lib/kubestrap-doubles/api/ceph-health');
        try {
          const result = await verify();
          expect(result.status).toBe(1);
          expect(result.stderr).toContain('gave up after 30 s waiting for a pod on h2 to write and read PVC verify-h2');
          expect(result.stderr).toMatch(/verify-h2\s+Pending/);
        } finally {
          inside('h1', 'rm -f /var/lib/kubestrap-doubles/api/ceph-health');
        }
      },
    );

    it(
      "verify fails the pod network check when the server's node refuses pod traffic",
      { timeout: 300_000 },
      async () => {
        await withIptables('h2');
        inside('h2', 'iptables -I INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset');
        try {
          const result = await verify();
          expect(result.status).toBe(1);
          expect(result.stderr).toMatch(
            /pod network: the pod on h3 did not fetch the server's [0-9a-f]{16} from 10\.213\.\d+\.12:8080 on h2/,
          );
          expect(result.stderr).toContain('wget: ');
        } finally {
          inside('h2', 'iptables -D INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset');
        }
      },
    );

    it(
      'verify fails the DNS check when cluster DNS cannot be reached from the client node',
      { timeout: 300_000 },
      async () => {
        await withIptables('h3');
        inside('h3', 'iptables -I OUTPUT -p udp --dport 53 -j DROP');
        try {
          const result = await verify();
          expect(result.status).toBe(1);
          expect(result.stderr).toContain(
            'cluster DNS: verify-server.kubestrap-verify.svc.cluster.local resolved to nothing on h3',
          );
        } finally {
          inside('h3', 'iptables -D OUTPUT -p udp --dport 53 -j DROP');
        }
        // And back: the same run passes with the state restored.
        expect((await verify()).status).toBe(0);
      },
    );

    it('ssh runs a command on a node as the login user and returns its exit code', { timeout: 120_000 }, async () => {
      const ran = await cli('ssh', 'h2', '-f', 'cluster.yaml', '--', 'id -un; hostname; exit 7');
      expect(ran.status).toBe(7);
      expect(ran.stdout).toBe('kube\nh2\n');
    });

    it('destroy refuses existing hosts, which kubestrap does not own', async () => {
      const result = await cli('destroy', '-f', 'cluster.yaml', '--yes');
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('runs on existing hosts, which kubestrap does not own; use kubestrap reset');
    });

    it('up --dry-run on the finished cluster has nothing to change', { timeout: 300_000 }, async () => {
      const result = await cli('up', '-f', 'cluster.yaml', '--ignore-preflight', 'rook-disk', '--dry-run');
      expect(result.status).toBe(0);
      expect(result.stdout.trim().split('\n').at(-1)).toBe('no changes');
    });

    it('reset --yes takes Kubernetes off every host', { timeout: 300_000 }, async () => {
      const result = await cli('reset', '-f', 'cluster.yaml', '--yes');
      expect(result.status).toBe(0);
      for (const host of harness.hosts) expect(existsSync(join(host.root, 'etc/kubernetes/kubelet.conf'))).toBe(false);
    });
  },
);
