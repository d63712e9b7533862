// `kubestrap upgrade` as a user runs it, on real systemd hosts with real apt and the
// package mirror serving three consecutive minors (1.32 to 1.34: the hosts are cgroup v1,
// which 1.35 refuses), kubeadm, kubelet and kubectl being the doubles at the boundary. A
// 1+2 cluster goes up at 1.32 and is upgraded across two minors in two steps. A pod no
// controller manages blocks the drain of the last worker: the run stops there, says what
// blocked it, and leaves the record; once the pod is gone a re-run completes, and a third
// run is "unchanged".
import { doubleCalls, interruptWhen, kubestrapIn } from './support/kubestrap-cli.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_SCHEDULING_JSONPATH, parseNodeScheduling } from '../provisioners/verify.js';
import { KUBERNETES_MINORS } from '../spec/versions.js';
import { toYamlDocuments } from '../templates/yaml.js';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessSpec } from './support/cluster.js';
import { jsonEvents } from './support/json-lines.js';

const unavailable = harnessUnavailable();
const FROM = '1.32.1';
const MIDDLE = `1.33.${KUBERNETES_MINORS[33]!.newestPatch}`;
const TO = '1.34.2';
const ADMIN = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';
const DRAIN_FLAGS = '--ignore-daemonsets --delete-emptydir-data --timeout=20s';

describe.skipIf(unavailable)(
  `kubestrap upgrade on existing hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let harness: Harness;
    let mirror: AptMirror;
    let dir: string;
    let spec: string;

    beforeAll(async () => {
      harness = await Harness.start(3, 'systemd');
      mirror = await AptMirror.start(harness, [FROM, MIDDLE, TO]);
      for (const host of harness.hosts) mirror.configureHost(host);
      dir = mkdtempSync(join(tmpdir(), 'upgrade-'));
      spec = harnessSpec(harness, { version: FROM, kubernetesRepository: mirror.kubernetesRepository });
      writeFileSync(join(dir, 'cluster.yaml'), spec);
    }, 900_000);

    afterAll(async () => {
      await mirror?.stop();
      await harness?.stop();
    });

    const cli = (...args: string[]) => kubestrapIn(dir, 900_000)(...args);
    const inside = (host: string, command: string) => harness.inside(harness.host(host), command);
    const calls = (host: string) => doubleCalls(harness, host).filter((c) => /^(kubeadm|kubelet|kubectl) /.test(c));
    const installed = (host: string) =>
      inside(host, "dpkg-query -W -f '${Package}=${Version}\\n' kubeadm kubelet kubectl").trim().split('\n').sort();
    const held = (host: string) => inside(host, 'apt-mark showhold').trim().split('\n').sort();
    const nodes = () =>
      [...parseNodeScheduling(inside('h1', `${ADMIN} get nodes -o jsonpath=${NODE_SCHEDULING_JSONPATH}`))].map(
        ([name, n]) => `${name} ${n.ready} ${n.version}${n.cordoned ? ' cordoned' : ''}`,
      );
    const record = () => JSON.parse(readFileSync(join(dir, '.kubestrap/harness/upgrade.json'), 'utf8'));

    it(`up brings a 1+2 cluster up at ${FROM}`, { timeout: 600_000 }, async () => {
      const result = await cli('up', '-f', 'cluster.yaml', '--no-workload-check');
      expect(result.status, result.stderr).toBe(0);
      expect(installed('h2')).toEqual([`kubeadm=${FROM}-1.1`, `kubectl=${FROM}-1.1`, `kubelet=${FROM}-1.1`]);
    });

    it(
      'upgrade to two minors up: the plan first, a drain blocked on the last worker stops it with the record',
      { timeout: 900_000 },
      async () => {
        writeFileSync(join(dir, 'cluster.yaml'), spec.replace(`version: ${FROM}`, `version: ${TO}`));
        // A pod no controller manages, on h3: kubectl drain refuses it without --force.
        const blocker = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'blocker', namespace: 'hand-made' },
          spec: {
            nodeName: 'h3',
            restartPolicy: 'Never',
            containers: [{ name: 'c', image: 'docker.io/library/busybox:1.37.0', command: ['sleep', '3600'] }],
          },
        };
        writeFileSync(
          join(harness.host('h1').root, 'root/blocker.yaml'),
          toYamlDocuments([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hand-made' } }, blocker]),
        );
        inside('h1', `${ADMIN} apply -f /root/blocker.yaml`);
        const before = calls('h1').length;

        const result = await cli('upgrade', '-f', 'cluster.yaml', '--yes', '--drain-timeout', '20s');
        expect(result.status, result.stderr).toBe(1);
        // The plan, before anything ran.
        expect(result.stdout).toContain(
          `Upgrade plan for cluster harness: ${FROM} to ${TO}, 2 steps (kubeadm upgrades one minor at a time)`,
        );
        expect(result.stdout.indexOf('Upgrade plan')).toBeLessThan(result.stdout.indexOf('Upgrade preflight'));
        expect(result.stderr).toContain('h3: the drain did not finish within 20 s');
        expect(result.stderr).toContain(
          'cannot delete Pods that declare no controller (use --force to override): hand-made/blocker',
        );
        expect(result.stderr).toContain('Where each node got to is in');

        // Step one reached h1 and h2; h3 has the new kubeadm, the old kubelet, and is cordoned.
        for (const host of ['h1', 'h2'])
          expect(installed(host)).toEqual([`kubeadm=${MIDDLE}-1.1`, `kubectl=${MIDDLE}-1.1`, `kubelet=${MIDDLE}-1.1`]);
        expect(installed('h3')).toEqual([`kubeadm=${MIDDLE}-1.1`, `kubectl=${FROM}-1.1`, `kubelet=${FROM}-1.1`]);
        for (const host of ['h1', 'h2', 'h3']) expect(held(host)).toEqual(['kubeadm', 'kubectl', 'kubelet']);
        expect(nodes()).toEqual([`h1 True v${MIDDLE}`, `h2 True v${MIDDLE}`, `h3 True v${FROM} cordoned`]);
        expect(record()).toMatchObject({
          from: FROM,
          to: TO,
          outcome: 'failed',
          nodes: {
            h1: { version: MIDDLE, cordoned: false },
            h2: { version: MIDDLE, cordoned: false },
            h3: { cordoned: true },
          },
        });

        // In kubeadm's order: apply on the first control plane, then each node drained, its
        // kubelet restarted at the new version, uncordoned; the next worker only after that.
        const api = calls('h1')
          .slice(before)
          .filter((c) => /^kubeadm upgrade|^kubectl .* (drain|uncordon) /.test(c));
        expect(api).toEqual([
          `kubeadm upgrade plan v${MIDDLE}`,
          `kubeadm upgrade apply v${MIDDLE} -y`,
          `${ADMIN} drain h1 ${DRAIN_FLAGS}`,
          'kubectl --kubeconfig /etc/kubernetes/admin.conf uncordon h1',
          `${ADMIN} drain h2 ${DRAIN_FLAGS}`,
          'kubectl --kubeconfig /etc/kubernetes/admin.conf uncordon h2',
          `${ADMIN} drain h3 ${DRAIN_FLAGS}`,
        ]);
        const h2 = calls('h2').filter((c) => /^kubeadm upgrade|^kubelet /.test(c));
        expect(h2.slice(-2)[0]).toBe('kubeadm upgrade node');
        expect(h2.slice(-1)[0]).toMatch(/^kubelet /);
      },
    );

    it(
      'with the pod gone, a re-run goes on from where it stopped; Ctrl-C on the last worker; the next run ends it',
      { timeout: 900_000 },
      async () => {
        inside('h1', `${ADMIN} delete namespace hand-made --wait=false`);
        const before = { h1: calls('h1').length, h2: calls('h2').length, h3: calls('h3').length };
        // Ctrl-C once h3 has its new kubelet package: it is cordoned, its kubelet not yet restarted or Ready.
        const interrupted = await interruptWhen(dir, ['upgrade', '-f', 'cluster.yaml', '--yes'], () =>
          installed('h3').includes(`kubelet=${TO}-1.1`),
        );
        expect(interrupted.status, interrupted.stderr).toBe(130);
        expect(interrupted.stderr).toContain('Where each node got to is in');
        expect(record()).toMatchObject({
          outcome: 'interrupted',
          nodes: { h1: { version: TO, cordoned: false }, h2: { version: TO, cordoned: false }, h3: { cordoned: true } },
        });
        expect(record().nodes.h3.version).toBeUndefined();
        const result = await cli('upgrade', '-f', 'cluster.yaml', '--yes');
        expect(result.status, result.stderr).toBe(0);
        // The plan from where the cluster stood: kubeadm-config said 1.33, so one step was left,
        // and h3's kubelet, left at 1.32, goes straight to 1.34 (within the kubelet's skew of three).
        const rows = interrupted.stdout
          .split('\n')
          .filter((l) => /^\d +1\./.test(l))
          .map((l) => l.split(/\s+/).slice(0, 5).join(' '));
        expect(rows).toEqual([
          `1 ${TO} h1 control-plane ${MIDDLE}`,
          `1 ${TO} h2 worker ${MIDDLE}`,
          `1 ${TO} h3 worker ${FROM}`,
        ]);
        // The third run: h3 alone was left (its cordon the record's), then the cluster is at the target.
        expect(result.stdout).toContain(`Cluster harness runs ${TO}.`);
        for (const host of ['h1', 'h2', 'h3']) {
          expect(installed(host)).toEqual([`kubeadm=${TO}-1.1`, `kubectl=${TO}-1.1`, `kubelet=${TO}-1.1`]);
          expect(held(host)).toEqual(['kubeadm', 'kubectl', 'kubelet']);
        }
        expect(nodes()).toEqual([`h1 True v${TO}`, `h2 True v${TO}`, `h3 True v${TO}`]);
        expect(record()).toMatchObject({ outcome: 'done', nodes: { h3: { version: TO, cordoned: false } } });
        // One kubeadm upgrade node per node and run, each followed by its kubelet's restart.
        for (const host of ['h2', 'h3'] as const) {
          const ran = calls(host)
            .slice(before[host])
            .filter((c) => /^kubeadm upgrade|^kubelet /.test(c));
          expect(ran.filter((c) => c === 'kubeadm upgrade node')).toHaveLength(1);
          expect(ran.indexOf('kubeadm upgrade node')).toBeLessThan(ran.findIndex((c) => c.startsWith('kubelet ')));
        }
        // containerd's sandbox image is the target minor's pause, on every node.
        for (const host of ['h1', 'h2', 'h3'])
          expect(inside(host, 'cat /etc/containerd/config.toml')).toContain(
            `sandbox_image = "registry.k8s.io/pause:${KUBERNETES_MINORS[34]!.pause}"`,
          );
        // The kubeadm config kubestrap keeps is the target's render.
        expect(inside('h1', 'cat /etc/kubernetes/kubeadm.conf')).toContain(`kubernetesVersion: v${TO}`);
        expect(calls('h1').slice(before.h1)).toContain(`kubeadm upgrade apply v${TO} -y`);
      },
    );

    it(
      'a third run finds every node at the target and changes nothing; nor does up',
      { timeout: 300_000 },
      async () => {
        const before = calls('h1').length;
        const result = await cli('upgrade', '-f', 'cluster.yaml', '--yes');
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toContain(`Cluster harness runs ${TO} on every node: nothing to upgrade.`);
        expect(
          calls('h1')
            .slice(before)
            .filter((c) => !c.startsWith('kubectl --kubeconfig /etc/kubernetes/admin.conf get')),
        ).toEqual([]);
        // And up with the upgraded spec finds nothing to change: the upgrade left what up builds.
        const up = await cli('up', '-f', 'cluster.yaml', '--no-workload-check', '--json');
        expect(up.status, up.stderr).toBe(0);
        const changed = jsonEvents(up.stdout)
          .filter((e) => e.type === 'host' && e.status === 'changed')
          .map((e) => `${e.phase} on ${e.host}`);
        expect(changed).toEqual([]);
      },
    );
  },
);
