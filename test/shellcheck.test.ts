// Every command and script the phases send to a host, checked by shellcheck. The phases
// run against recording hosts (test/support/recording-host.ts) for each fixture spec,
// online and from a bundle, once on fresh hosts (every probe says "absent") and once on
// prepared ones (every probe says "present"), so both branches of each probe build
// their commands. Hosts run them through `sh -c` (ssh/remote-command.ts wrapCommand), so
// they are checked as POSIX sh, all in one shellcheck call.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctorScript } from '../provisioners/doctor/host-facts.js';
import { clusterCollectors, hostCollectors, podLogCollector } from '../provisioners/support/collectors.js';
import type { VerifiedBundle } from '../provisioners/bundle.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import { HostStep } from '../engine/host-step.js';
import { hostPhases, upPhases } from '../provisioners/index.js';
import type { Phase } from '../engine/phase.js';
import { ResetPhase } from '../provisioners/reset.js';
import { hostPackages } from '../spec/host-packages.js';
import type { ClusterModel } from '../spec/model.js';
import { KUBERNETES_MINORS, parseKubernetesVersion, ROOK_FILES } from '../spec/versions.js';
import { UpgradeNodesPhase } from '../provisioners/upgrade-node.js';
import { UpgradePreflightPhase } from '../provisioners/upgrade-preflight.js';
import { UpgradeVerifyPhase } from '../provisioners/upgrade-verify.js';
import { atomicWriteScript, chmodChownCommand, probeFileScript, wrapCommand } from '../ssh/remote-command.js';
import { renderCluster } from '../templates/render.js';
import { FIXTURES, renderFixture } from './support/fixtures.js';
import { RecordingShell, type Recorded, type Responder, type WaitState } from './support/recording-host.js';
import { missingTools, run } from './support/tools.js';

const missing = missingTools('shellcheck');

/** A fresh host: a probe that may fail fails, any other answers with nothing. */
const fresh: Responder = (command, expectsFailure) => {
  if (command.startsWith('kubeadm token create')) return { stdout: 'abcdef.0123456789abcdef\n' };
  return { code: expectsFailure ? 1 : 0 };
};

/** A prepared host: everything installed, enabled, running and answering. */
function prepared(model: ClusterModel): Responder {
  const version = `${model.kubernetes.version.text}-1.1`;
  const packages = hostPackages(model.os.family, model.kubernetes.version.minor)
    .map((p) => `${p} ${p.startsWith('containerd') ? `${model.runtime.containerdVersion ?? '1.7.27'}-1` : version}`)
    .join('\n');
  // Every node's address and the managed endpoint's VIP on eth0: each node finds its interface, the VIP is held.
  const addresses = [...model.nodes.map((n) => n.ip), model.kubernetes.endpoint.host]
    .map((ip) => `2: eth0    inet ${ip}/24 scope global eth0`)
    .join('\n');
  return (command) => {
    if (command.startsWith('kubeadm token create')) return { stdout: 'abcdef.0123456789abcdef\n' };
    if (command.startsWith('ip -o -4 addr show')) return { stdout: `${addresses}\n`, settles: true };
    if (command.startsWith('cat /etc/kubestrap/vrrp-password')) return { stdout: 'Abcd1234\n' };
    if (command.startsWith('curl -fsk')) return { stdout: 'ok', settles: true };
    if (/^(dpkg-query|rpm -q --qf)/.test(command)) return { stdout: `${packages}\n` };
    if (command.startsWith('systemctl is-enabled containerd')) return { stdout: 'enabled\nactive\n' };
    if (command.startsWith('systemctl is-enabled')) return { stdout: 'enabled\n' };
    if (command === 'apt-mark showhold') return { stdout: 'kubelet\nkubeadm\nkubectl\n' };
    if (/ version$/.test(command)) return { stdout: 'Server:\n  Version: 1.7.27\n', settles: true };
    if (command.endsWith('get --raw=/readyz')) return { stdout: 'ok', settles: true };
    if (/ rollout status | get node \S+ -o name$/.test(command)) return { settles: true };
    if (command.includes('get cephcluster') && command.includes('jsonpath'))
      return { stdout: 'Ready HEALTH_OK', settles: true };
    if (command.includes('get pvc')) return { stdout: 'Bound', settles: true };
    // The bundle archive is already on the host, whole.
    if (command.includes('echo "whole')) return { stdout: `whole ${'b'.repeat(64)}\n` };
    if (command.startsWith('timedatectl')) return { stdout: 'no\n' };
    if (command.startsWith('ufw status')) return { stdout: 'Status: active\n' };
    if (command.startsWith('tail -n +2 /proc/swaps')) return { stdout: '/swap.img file 1024 0 -2\n' };
    if (command.startsWith('getenforce')) return { stdout: 'Enforcing\n' };
    if (command.startsWith('df -Pk /var')) return { stdout: '99999999\n' };
    if (command.startsWith('stat -fc %T /sys/fs/cgroup')) return { stdout: 'cgroup2fs\n' };
    if (command.startsWith('cat /etc/selinux/config')) return { stdout: 'SELINUX=enforcing\n' };
    return { stdout: '' };
  };
}

function offline(model: ClusterModel, localPath: string): { model: ClusterModel; bundle: VerifiedBundle } {
  const bundle: VerifiedBundle = {
    localPath,
    seal: 'a'.repeat(64),
    sha256: 'b'.repeat(64),
    size: 16,
    authenticated: false,
    manifest: {
      format: 2,
      createdBy: 'test',
      cluster: model.name,
      specDigest: 'c'.repeat(64),
      kubernetesVersion: model.kubernetes.version.text,
      os: { family: model.os.family, architecture: 'amd64' },
      files: [{ path: 'binaries/kubeadm', size: 1, sha256: 'd'.repeat(64), kind: 'binary' }],
      images: [
        { reference: 'registry.k8s.io/pause:3.10.1', digest: `sha256:${'e'.repeat(64)}`, path: 'images/pause.tar' },
      ],
      hostRequires: [
        {
          name: model.os.family === 'debian' ? 'libc6' : 'glibc',
          relation: model.os.family === 'debian' ? 'libc6 (>= 2.34)' : 'glibc >= 2.34',
          neededBy: 'kubelet',
        },
      ],
      aptRepositories:
        model.os.family === 'debian'
          ? [{ path: 'debs/kubernetes', suite: '/', components: [], key: 'debs/keys/kubernetes.asc', source: 'x' }]
          : [],
      rpmRepositories:
        model.os.family === 'rhel'
          ? [{ path: 'rpms/kubernetes', key: 'rpms/keys/kubernetes.asc', check: 'metadata', source: 'x' }]
          : [],
    },
  };
  return { model: { ...model, packages: { ...model.packages, source: 'bundle', bundle: localPath } }, bundle };
}

/** Runs each phase on each of its hosts as the runner would, going on past failures: the transcript is what counts. */
async function drive(phases: readonly Phase<NodeHost>[], hosts: readonly NodeHost[], waits: WaitState): Promise<void> {
  for (const phase of phases) {
    const mine = phase.hosts?.(hosts) ?? hosts;
    for (const host of mine) {
      const step = new HostStep(host, false, (line) => {
        if (/waiting for /.test(line)) waits.pending = true;
      });
      try {
        if (!phase.check || (await phase.check(step))) await phase.run(step);
      } catch {
        // A fake answer a phase rejects ends that host's phase; its commands so far are recorded.
      }
    }
    await phase.after?.(mine).catch(() => undefined);
    await phase.cleanup?.(mine).catch(() => undefined);
  }
}

/** One upgrade step to the next minor, on every node. */
function upgradePhases(model: ClusterModel): Phase<NodeHost>[] {
  const minor = model.kubernetes.version.minor + 1;
  const version = parseKubernetesVersion(`1.${minor}.${KUBERNETES_MINORS[minor]?.newestPatch ?? 0}`)!;
  const nodes = new Set(model.nodes.map((n) => n.name));
  const at = { ...model, kubernetes: { ...model.kubernetes, version } };
  const step = {
    model,
    version,
    nodes,
    files: renderCluster(at),
    maxUnavailable: 2,
    drainTimeoutSeconds: 60,
    readyTimeoutMs: 1_000,
    progress: async () => {},
  };
  return [
    new UpgradePreflightPhase({ model, versions: [version], nodes }),
    new UpgradeNodesPhase('control-plane', step),
    new UpgradeNodesPhase('worker', step),
    new UpgradeVerifyPhase(model, version, 1_000),
  ];
}

async function transcript(): Promise<Recorded[]> {
  const recorded: Recorded[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'kubestrap-shellcheck-'));
  const archive = join(scratch, 'bundle.tar');
  writeFileSync(archive, Buffer.alloc(16));
  const rookManifests = ROOK_FILES.map((name) => ({ name, content: 'kind: List\n' }));
  for (const name of FIXTURES) {
    const online = (await renderFixture(name)).loaded.model;
    for (const { model, bundle } of [{ model: online, bundle: undefined }, offline(online, archive)]) {
      const files = renderCluster(model);
      for (const responder of [fresh, prepared(model)]) {
        const waits: WaitState = { pending: false };
        const hosts: NodeHost[] = model.nodes.map((node) => ({
          name: node.name,
          node,
          ssh: new RecordingShell(node.name, recorded, responder, waits),
        }));
        const options = {
          saveKubeconfig: async () => true,
          kubeconfigPath: join(scratch, 'kubeconfig'),
          rookManifests,
          ...(bundle ? { bundle } : {}),
        };
        // upPhases holds hostPhases (what `up` runs on machines as they come up) and the rest.
        expect(
          upPhases(model, files, options)
            .slice(0, hostPhases(model, files, options).length)
            .map((p) => p.title),
        ).toEqual(hostPhases(model, files, options).map((p) => p.title));
        await drive(upPhases(model, files, options), hosts, waits);
        await drive([new ResetPhase(model)], hosts, waits);
        await drive(
          upgradePhases(bundle ? { ...model, packages: { ...model.packages, source: 'bundle' } } : model),
          hosts,
          waits,
        );
      }
    }
  }
  return recorded;
}

describe.skipIf(missing)(`shellcheck of every generated command${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it(
    'finds nothing in what the phases send to hosts, nor in the upload and wrapper scripts',
    { timeout: 120_000 },
    async () => {
      const recorded = await transcript();
      const commands = new Set(recorded.map((r) => r.cmd));
      // The transport's own scripts, with a target that needs quoting.
      commands.add(atomicWriteScript("/etc/kubestrap/it's here", 10, 0o644, 'root:root'));
      commands.add(probeFileScript("/etc/kubestrap/it's here"));
      commands.add(chmodChownCommand("/etc/kubestrap/it's here", 0o644, 'root:root'));
      commands.add(wrapCommand("echo 'hi'", { sudo: true, timeoutSeconds: 5 }));
      // doctor's probe (an operation's script, not a phase's), for both families.
      commands.add(doctorScript('debian'));
      commands.add(doctorScript('rhel'));
      // support-bundle's collectors.
      for (const name of FIXTURES) {
        const { model } = (await renderFixture(name)).loaded;
        for (const c of [...hostCollectors(model), ...clusterCollectors(), podLogCollector('kube-system', 'a-pod')])
          commands.add(c.command);
      }
      // Rendered files that are scripts (none today; a template that becomes one is checked too).
      for (const name of FIXTURES)
        for (const file of (await renderFixture(name)).files)
          if (file.content.startsWith('#!/bin/sh')) commands.add(file.content);
      // The transcript must reach both branches and every phase, or a clean result means little.
      const all = [...commands].join('\n');
      for (const expected of [
        'modprobe ',
        'sysctl -w ',
        'apt-get',
        'dnf install',
        'kubeadm init',
        'kubeadm join',
        'kubeadm token delete',
        'ctr -n k8s.io images import',
        'cat >>',
        'sha256sum -c',
        'kubeadm reset -f',
        'wipefs -a',
        '@@disks',
        'apply -f',
        'systemctl restart keepalived',
        'ip -o -4 addr show',
        'curl -fsk --max-time 3',
        'SOCK_RAW, 112',
        'kubeadm upgrade apply v',
        'kubeadm upgrade node',
        ' drain ',
        'dpkg-deb -x',
        'apt-cache madison',
        'repoquery --location',
        'rpm2cpio',
        'dnf install -y --disableexcludes=kubernetes kubeadm-',
        'protocol value="vrrp"',
        'proto vrrp',
        'client-certificate-data',
        'journalctl -u haproxy',
      ]) {
        expect(all, expected).toContain(expected);
      }
      expect(commands.size).toBeGreaterThan(150);

      const dir = mkdtempSync(join(tmpdir(), 'kubestrap-shellcheck-scripts-'));
      const paths = [...commands].map((command, i) => {
        const path = join(dir, `command-${String(i).padStart(4, '0')}.sh`);
        writeFileSync(path, `${command}\n`);
        return path;
      });
      const result = run('shellcheck', ['-s', 'sh', '-f', 'gcc', ...paths]);
      expect(result.stderr).toBe('');
      // Each finding with the line it is about, so a failure reads without the temp files.
      const byPath = new Map(paths.map((path, i) => [path, [...commands][i]!]));
      const findings = result.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((finding) => {
          const [path = '', line = '1'] = finding.split(':');
          return `${finding.slice(path.length + 1)}\n    in: ${byPath.get(path)?.split('\n')[Number(line) - 1]}`;
        });
      expect(findings).toEqual([]);
      expect(result.status).toBe(0);
    },
  );
});
