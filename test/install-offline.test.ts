// The airgapped install end to end: a bundle built by `kubestrap bundle` from sources the
// test serves itself (signed Debian repository with Debian's real containerd and runc,
// pkgs.k8s.io-shaped packages carrying the kubeadm/kubelet/kubectl doubles, a registry
// with images the test built, Rook's manifests over HTTP), then `kubestrap install` onto
// systemd hosts whose traffic beyond the cluster's own network is dropped with iptables.
// The bundle is signed (bundle keygen, --sign-key) and installed with --key. Damaged
// bundles are refused before any host is touched; a .deb swapped with forged digests,
// installed past the signature check (--insecure-unsigned), is refused by the hosts'
// apt against the repository's signed index; a dropped SSH connection resumes the
// upload instead of restarting it. The control-plane endpoint is kubestrap's own
// (keepalived + haproxy on the one control plane, which the spec may have with a warning):
// both come from the bundle, and the worker joins through the VIP.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleManifest } from '../bundle/format.js';
import { interfaceCarrying } from '../provisioners/endpoint.js';
import { ENDPOINT_PACKAGES } from '../spec/host-packages.js';
import { KUBERNETES_MINORS } from '../spec/versions.js';
import { SshPool } from '../ssh/pool.js';
import { resumableUpload } from '../ssh/resumable-upload.js';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { zramUnavailable } from './harness/zram-disk.js';
import { harnessSpec } from './support/cluster.js';
import { REPO_ROOT, SHARED_REFERENCE, sharedReferenceMissing } from './support/fixtures.js';
import { startBundleSources, type BundleSources } from './support/bundle-sources.js';
import { tarDataOffset, tarMembers, tarWithout } from './support/tar.js';
import { phaseTitles } from './support/json-lines.js';
import tar from 'tar-stream';
import { missingTools, run, runAsync } from './support/tools.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const VERSION = `1.32.${KUBERNETES_MINORS[32]!.newestPatch}`;
/** The airgapped upgrade's two steps (the middle one at its minor's newest patch), a bundle each. */
const MIDDLE = `1.33.${KUBERNETES_MINORS[33]!.newestPatch}`;
const TO = '1.34.2';
const re = (text: string) => text.replaceAll('.', '\\.');
const ETCD = KUBERNETES_MINORS[32]!.etcd;
const PORT = 8443;
const unavailable =
  harnessUnavailable() ??
  zramUnavailable() ??
  sharedReferenceMissing() ??
  missingTools('gpgv', 'gpg', 'apt-ftparchive', 'dpkg-deb', 'skopeo', 'docker-registry', 'busybox', 'iptables');

describe.skipIf(unavailable)(`offline install from a bundle${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness;
  let mirror: AptMirror;
  let sources: BundleSources;
  let work: string;
  let bundle: string;
  let images: string[];
  let vip: string;

  const kubestrap = (args: string[]) =>
    runAsync(process.execPath, [CLI, ...args], {
      cwd: work,
      env: { ...process.env, NO_COLOR: '1' },
      timeoutMs: 900_000,
    });
  const onHost = (host: string, command: string) => harness.inside(harness.host(host), command);
  const netns = (host: string, args: string[]) => run('ip', ['netns', 'exec', harness.host(host).netns, ...args]);

  beforeAll(async () => {
    // h2's blank 6 GiB disk is Rook's: the kubelet double's osd-prepare makes it an OSD.
    harness = await Harness.start(2, 'systemd', { disks: { h2: [6] } });
    // The hosts' apt points at the test's mirror, as an online host's would; their
    // traffic to it (and anywhere off the cluster network) is dropped below.
    mirror = await AptMirror.start(harness, [VERSION, MIDDLE, TO]);
    for (const host of harness.hosts) mirror.configureHost(host);
    work = mkdtempSync(join(tmpdir(), 'install-offline-'));
    sources = await startBundleSources(mirror, work, VERSION);
    images = [...sources.images];
    // Free on the harness network: the hosts take the first addresses after the gateway.
    vip = harness.hosts[0]!.ip.replace(/\.\d+$/, '.250');

    const spec = harnessSpec(harness, {
      version: VERSION,
      rook: true,
      managedEndpoint: { address: vip, port: PORT },
      extraNodeYaml: (n) =>
        n === 'h1' ? '        storage: false\n' : `        disks:\n          - device: ${harness.host(n).disks[0]}\n`,
    }).replace(
      '      enabled: true\n',
      `      enabled: true\n      manifestBase: ${JSON.stringify(sources.rookUrl)}\n`,
    );
    writeFileSync(join(work, 'cluster.yaml'), `${spec}${sources.packagesYaml}`);
    bundle = join(work, 'cluster.kubestrap.tar');
    const keygen = await kubestrap(['bundle', 'keygen', 'bundle-key']);
    if (keygen.status !== 0) throw new Error(`kubestrap bundle keygen failed: ${keygen.stderr}`);
    const built = await kubestrap(['bundle', '-f', 'cluster.yaml', '-o', bundle, '--sign-key', 'bundle-key']);
    if (built.status !== 0) throw new Error(`kubestrap bundle failed: ${built.stderr}`);

    // Airgap: loopback, replies and the cluster's own network pass; the test machine
    // (the bridge's .1, where the mirror is) and everything beyond are dropped. TCP
    // connection attempts hit a counting rule first, so the test can tell none was made.
    for (const host of ['h1', 'h2']) {
      const subnet = `${harness.gateway.replace(/\.\d+$/, '.0')}/24`;
      for (const rule of [
        ['-A', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT'],
        ['-A', 'OUTPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
        ['-A', 'OUTPUT', '-d', harness.gateway, '-p', 'tcp', '--syn', '-j', 'DROP'],
        ['-A', 'OUTPUT', '-d', subnet, '-j', 'ACCEPT'],
        // keepalived's VRRP adverts (a lone node's go to 224.0.0.18): the cluster network's own.
        ['-A', 'OUTPUT', '-p', '112', '-j', 'ACCEPT'],
        ['-A', 'OUTPUT', '-p', 'tcp', '--syn', '-j', 'DROP'],
        ['-P', 'OUTPUT', 'DROP'],
      ]) {
        const result = netns(host, ['iptables', ...rule]);
        if (result.status !== 0) throw new Error(`iptables ${rule.join(' ')} on ${host}: ${result.stderr}`);
      }
    }
  }, 1_200_000);

  afterAll(async () => {
    await sources?.stop();
    await mirror?.stop();
    await harness?.stop();
  });

  /** dpkg-query's sorted list of the Kubernetes packages at `version`, Debian's containerd and runc. */
  const packageVersions = (version: string) => {
    const kubernetes = ['kubeadm', 'kubectl', 'kubelet'].map((p) => `${p} ${re(version)}-1\\.1\\n`).join('');
    return new RegExp(`^containerd \\S+\\n${kubernetes}runc \\S+\\n$`);
  };

  /** TCP connection attempts the airgap rules dropped on a host. */
  const droppedConnections = (host: string): number =>
    netns(host, ['iptables', '-L', 'OUTPUT', '-v', '-x', '-n'])
      .stdout.split('\n')
      .filter((l) => /\bDROP\b/.test(l) && /flags:0x17\/0x02/.test(l))
      .reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);

  it('the airgap holds: a host cannot reach the package mirror', () => {
    const tried = onHost(
      'h1',
      `timeout 5 /usr/lib/apt/apt-helper download-file ${mirror.url}/debian/Release /tmp/r 2>&1; echo "exit $?"`,
    );
    expect(tried).not.toMatch(/exit 0$/);
    expect(droppedConnections('h1')).toBeGreaterThan(0);
    netns('h1', ['iptables', '-Z', 'OUTPUT']);
    expect(droppedConnections('h1')).toBe(0);
  });

  const damaged = (name: string, change: (archive: Buffer) => Buffer): string => {
    const path = join(work, name);
    writeFileSync(path, change(Buffer.from(readFileSync(bundle))));
    return path;
  };

  it.each([
    [
      'a flipped byte',
      'flipped.tar',
      (a: Buffer) => {
        const at = tarDataOffset(a, `debs/kubernetes/kubelet_${VERSION}-1.1_amd64.deb`) + 600;
        a[at] = a[at]! ^ 0xff;
        return a;
      },
      new RegExp(`debs/kubernetes/kubelet_${re(VERSION)}-1\\.1_amd64\\.deb is damaged: sha256`),
    ],
    ['a truncated archive', 'truncated.tar', (a: Buffer) => a.subarray(0, a.length - 100_000), /truncated/],
  ])('refuses %s before touching any host (exit 2)', async (_what, name, change, message) => {
    const result = await kubestrap([
      'install',
      '--bundle',
      damaged(name, change),
      '--key',
      'bundle-key.pub',
      '-f',
      'cluster.yaml',
      '--ignore-preflight',
      'rook-disk',
    ]);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/Nothing was done on any host/);
    expect(result.status).toBe(2);
    for (const host of ['h1', 'h2']) expect(existsSync(join(harness.host(host).root, 'var/lib/kubestrap'))).toBe(false);
    // Not even a connection: no host log was opened.
    expect(existsSync(join(work, '.kubestrap/harness/logs'))).toBe(false);
  });

  it('refuses a bundle that lacks an image before touching any host (exit 2)', async () => {
    const path = join(work, 'no-etcd.tar');
    writeFileSync(path, await tarWithout(bundle, (m) => m === `images/registry.k8s.io_etcd_${ETCD}.tar`));
    const result = await kubestrap([
      'install',
      '--bundle',
      path,
      '--key',
      'bundle-key.pub',
      '-f',
      'cluster.yaml',
      '--ignore-preflight',
      'rook-disk',
    ]);
    expect(result.stderr).toMatch(
      new RegExp(
        `images/registry\\.k8s\\.io_etcd_${re(ETCD)}\\.tar is listed in bundle\\.json but missing from the archive`,
      ),
    );
    expect(result.status).toBe(2);
    for (const host of ['h1', 'h2']) expect(existsSync(join(harness.host(host).root, 'var/lib/kubestrap'))).toBe(false);
  });

  it('refuses a bundle made for another Kubernetes version, naming the spec field', async () => {
    writeFileSync(
      join(work, 'other.yaml'),
      readFileSync(join(work, 'cluster.yaml'), 'utf8').replace(`version: ${VERSION}`, `version: ${MIDDLE}`),
    );
    const result = await kubestrap(['install', '--bundle', bundle, '--key', 'bundle-key.pub', '-f', 'other.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`holds Kubernetes ${re(VERSION)}, the spec wants ${re(MIDDLE)} \\(spec\\.kubernetes\\.version\\)`),
    );
  });

  /**
   * What someone without the signing key can make: containerd's .deb replaced, its size and
   * sha256 in bundle.json and the seal recomputed, the signature (which no longer fits)
   * dropped. `alsoIndex`: the repository's Packages and InRelease rewritten to match too
   * (every hash of the .deb, every hash of Packages), which leaves InRelease's signature bad.
   */
  async function forged(name: string, alsoIndex: boolean): Promise<string> {
    const members = await tarMembers(bundle);
    const manifest = JSON.parse(members[0]!.data.toString()) as BundleManifest;
    const target = manifest.files.find((f) => f.kind === 'deb' && /^debs\/os\/containerd_/.test(f.path))!;
    const original = members.find((m) => m.name === target.path)!.data;
    const evil = Buffer.from(original);
    evil[evil.length - 100] = evil[evil.length - 100]! ^ 0xff;
    const replaced = new Map<string, Buffer>([[target.path, evil]]);
    if (alsoIndex) {
      const swapHashes = (text: string, from: Buffer, to: Buffer) => {
        for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512'])
          text = text.replaceAll(
            createHash(algorithm).update(from).digest('hex'),
            createHash(algorithm).update(to).digest('hex'),
          );
        return text;
      };
      const packages = members.find((m) => m.name === 'debs/os/Packages')!.data;
      const forgedPackages = Buffer.from(swapHashes(packages.toString(), original, evil));
      replaced.set('debs/os/Packages', forgedPackages);
      const release = members.find((m) => m.name === 'debs/os/InRelease')!.data.toString();
      replaced.set('debs/os/InRelease', Buffer.from(swapHashes(release, packages, forgedPackages)));
    }
    const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');
    const files = manifest.files.map((f) => {
      const data = replaced.get(f.path);
      return data ? { ...f, size: data.length, sha256: digest(data) } : f;
    });
    const text = `${JSON.stringify({ ...manifest, files }, null, 2)}\n`;
    const pack = tar.pack();
    pack.entry({ name: 'bundle.json', mtime: new Date(0) }, text);
    for (const m of members.slice(2, -1))
      pack.entry({ name: m.name, mtime: new Date(0) }, replaced.get(m.name) ?? m.data);
    pack.entry({ name: 'bundle.json.sha256', mtime: new Date(0) }, `${digest(Buffer.from(text))}  bundle.json\n`);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const path = join(work, name);
    writeFileSync(path, Buffer.concat(chunks));
    return path;
  }

  it.each([
    ['a forged .deb', false, /Hash Sum mismatch/i],
    // apt refuses the whole repository: its InRelease no longer carries the repository's signature.
    ['a forged .deb and repository index', true, /E: The repository 'file:\S+\/debs\/os \.\/ InRelease' is not signed/],
  ])(
    "%s: refused by the bundle's signature; past it (--insecure-unsigned), by the hosts' apt",
    { timeout: 900_000 },
    async (_what, alsoIndex, aptSays) => {
      const path = await forged(alsoIndex ? 'forged-index.tar' : 'forged.tar', alsoIndex);
      const refused = await kubestrap(['install', '--bundle', path, '--key', 'bundle-key.pub', '-f', 'cluster.yaml']);
      expect(refused.stderr).toMatch(/is not signed \(it has no bundle\.json\.sig\)/);
      expect(refused.status).toBe(2);
      const result = await kubestrap([
        'install',
        '--bundle',
        path,
        '--insecure-unsigned',
        '-f',
        'cluster.yaml',
        '--ignore-preflight',
        'rook-disk',
      ]);
      expect(result.stderr).toMatch(/^warning: --insecure-unsigned/m);
      // Every digest in bundle.json matched, on this machine and on the hosts: apt is what stops it.
      expect(result.stdout).toContain('check all');
      expect(`${result.stdout}${result.stderr}`).toMatch(aptSays);
      expect(result.status).toBe(1);
      for (const host of ['h1', 'h2']) {
        expect(onHost(host, "dpkg-query -W -f='${db:Status-Status}' containerd 2>&1; true")).not.toBe('installed');
        expect(droppedConnections(host)).toBe(0);
      }
    },
  );

  it('installs the cluster with no traffic beyond the cluster network', { timeout: 900_000 }, async () => {
    const result = await kubestrap([
      'install',
      '--bundle',
      bundle,
      '--key',
      'bundle-key.pub',
      '-f',
      'cluster.yaml',
      '--ignore-preflight',
      'rook-disk',
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(phaseTitles(result.stdout)).toEqual([
      'Preflight checks',
      'Bundle onto the hosts (upload, check, unpack)',
      'Host preparation',
      'Container runtime (containerd)',
      'Container images (from the bundle)',
      'Kubernetes packages',
      'Control-plane endpoint on the first control plane (keepalived VIP + haproxy)',
      'Initialise the control plane (kubeadm init)',
      'Fetch the admin kubeconfig',
      'kubectl for the login user (~/.kube/config)',
      'Join workers (kubeadm join)',
      'Pod network (Weave Net)',
      'Storage (Rook-Ceph)',
      'Verify the cluster',
    ]);
    // verify's workload ran on the bundle's image (the only source the hosts have): storage
    // on the worker, a pod reaching the server pod and its Service by name.
    expect(result.stdout).toContain('a pod on h2 to write and read PVC verify-h2');
    expect(result.stdout).toContain('to reach verify-server on h2 and resolve its Service');
    for (const host of ['h1', 'h2']) {
      // Packages from the bundle, at the exact version, held; Debian's real containerd running.
      expect(
        onHost(host, "dpkg-query -W -f='${Package} ${Version}\\n' kubeadm kubelet kubectl containerd runc | sort"),
      ).toMatch(packageVersions(VERSION));
      expect(onHost(host, 'systemctl is-active containerd').trim()).toBe('active');
      // By name; containerd's CRI plugin adds an image-ID reference (sha256:…) of its own.
      expect(
        onHost(host, 'ctr -n k8s.io images ls -q')
          .split('\n')
          .filter((r) => r && !r.startsWith('sha256:'))
          .sort(),
      ).toEqual(images);
      // Each upstream repository with its own key and signed index; nothing trusted blindly.
      const dir = `/var/lib/kubestrap/bundle/${onHost(host, 'ls /var/lib/kubestrap/bundle').trim()}`;
      expect(onHost(host, 'cat /etc/apt/sources.list.d/kubestrap-bundle.list')).toBe(
        `deb [arch=amd64 signed-by=${dir}/debs/keys/kubernetes.asc check-valid-until=no check-date=no] ` +
          `file:${dir}/debs/kubernetes /\n` +
          `deb [arch=amd64 signed-by=${dir}/debs/keys/os.asc check-valid-until=no check-date=no] ` +
          `file:${dir}/debs/os ./\n`,
      );
      // The archive is gone once unpacked and checked; the unpacked copy stays for re-runs.
      expect(onHost(host, 'ls /var/lib/kubestrap/bundle').trim()).toMatch(/^[0-9a-f]{16}$/);
      expect(droppedConnections(host)).toBe(0);
    }
    // The endpoint's packages at the versions the bundle carries (the hosts reach no other
    // source), on the control plane only; both running, the VIP on it, the worker joined through it.
    const carried = new Map(
      (JSON.parse((await tarMembers(bundle))[0]!.data.toString()) as BundleManifest).packages!.map((p) => [
        p.name,
        p.version,
      ]),
    );
    const endpointPackages = [...ENDPOINT_PACKAGES.debian].sort();
    expect(onHost('h1', `dpkg-query -W -f='\${Package} \${Version}\\n' ${endpointPackages.join(' ')} | sort`)).toBe(
      endpointPackages.map((p) => `${p} ${carried.get(p)}\n`).join(''),
    );
    expect(onHost('h1', 'systemctl is-active keepalived haproxy').trim().split('\n')).toEqual(['active', 'active']);
    expect(onHost('h2', "dpkg-query -W -f='${db:Status-Status}' keepalived 2>/dev/null || echo absent").trim()).toBe(
      'absent',
    );
    expect(interfaceCarrying(onHost('h1', 'ip -o -4 addr show'), vip)).toBeDefined();
    expect(readFileSync(join(harness.host('h2').root, 'etc/kubernetes/kubelet.conf'), 'utf8')).toContain(
      `server: https://${vip}:${PORT}`,
    );
    // Rook's manifests came from the bundle: the same bytes as upstream's.
    expect(
      readFileSync(join(harness.host('h1').root, 'etc/kubernetes/kubestrap/rook-v1.20.6/operator.yaml'), 'utf8'),
    ).toBe(readFileSync(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6/operator.yaml'), 'utf8'));
    expect(readFileSync(join(harness.host('h1').root, 'var/lib/kubestrap-doubles/api/nodes/h2'), 'utf8')).toContain(
      'role=worker',
    );
  });

  it(
    'a second run, as `up` with packages.source: bundle in the spec, changes nothing and uploads nothing',
    { timeout: 600_000 },
    async () => {
      const spec = readFileSync(join(work, 'cluster.yaml'), 'utf8').replace(
        '  packages:\n',
        '  packages:\n    source: bundle\n    bundle: cluster.kubestrap.tar\n    bundleKey: bundle-key.pub\n',
      );
      writeFileSync(join(work, 'from-bundle.yaml'), spec);
      const result = await kubestrap(['up', '-f', 'from-bundle.yaml', '--ignore-preflight', 'rook-disk', '--json']);
      expect(result.status).toBe(0);
      const changed = result.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; status?: string; phase?: string; host?: string })
        .filter((e) => e.type === 'host' && e.status === 'changed');
      expect(changed.map((e) => `${e.phase}/${e.host}`)).toEqual([]);
      expect(result.stdout).toContain('"phase":"Bundle onto the hosts (upload, check, unpack)"');
      for (const host of ['h1', 'h2']) expect(droppedConnections(host)).toBe(0);
    },
  );

  it(
    'upgrades two minors in two steps from a bundle each, with no traffic beyond the cluster network',
    { timeout: 900_000 },
    async () => {
      // A bundle per step, made on this (connected) machine from the spec at the step's version.
      const stepSources: BundleSources[] = [];
      try {
        for (const version of [MIDDLE, TO]) {
          const dir = mkdtempSync(join(tmpdir(), `install-offline-${version}-`));
          const at = await startBundleSources(mirror, dir, version);
          stepSources.push(at);
          const spec = readFileSync(join(work, 'cluster.yaml'), 'utf8')
            .replace(`version: ${VERSION}`, `version: ${version}`)
            .replace(sources.packagesYaml, at.packagesYaml);
          expect(spec).toContain(at.packagesYaml);
          writeFileSync(join(work, `upgrade-${version}.yaml`), spec);
          const built = await kubestrap([
            'bundle',
            '-f',
            `upgrade-${version}.yaml`,
            '-o',
            `upgrade-${version}.tar`,
            '--sign-key',
            'bundle-key',
          ]);
          expect(built.status, built.stderr).toBe(0);
        }
        const upgrade = (...bundles: string[]) => [
          'upgrade',
          '-f',
          `upgrade-${TO}.yaml`,
          ...bundles.flatMap((b) => ['--bundle', `upgrade-${b}.tar`]),
          '--key',
          'bundle-key.pub',
          '--yes',
        ];

        // The step no bundle carries is refused by name, before any host is asked to change.
        const missing = await kubestrap(upgrade(TO));
        expect(missing.stderr).toMatch(
          new RegExp(`no bundle carries the step to ${re(MIDDLE)}: make it on a connected machine`),
        );
        expect(missing.stderr).toContain('Nothing was changed on any host.');
        expect(missing.status).toBe(2);
        expect(onHost('h1', "dpkg-query -W -f='${Version}' kubeadm")).toBe(`${VERSION}-1.1`);

        for (const host of ['h1', 'h2']) netns(host, ['iptables', '-Z', 'OUTPUT']);
        const result = await kubestrap([...upgrade(TO, MIDDLE), '--json']);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        const step = (version: string) => [
          'Bundle onto the hosts (upload, check, unpack)',
          'Container images (from the bundle)',
          ...(version === MIDDLE ? [`kubeadm ${MIDDLE} upgrade plan (the bundle's kubeadm)`] : []),
          `Upgrade control planes to ${version} (one at a time)`,
          `Upgrade workers to ${version} (1 at a time: drain, upgrade, uncordon)`,
          `Verify the cluster at ${version}`,
        ];
        expect(phaseTitles(result.stdout)).toEqual([
          'Upgrade preflight (cgroups, disk, packages, kubeadm upgrade plan)',
          ...step(MIDDLE),
          ...step(TO),
        ]);
        for (const host of ['h1', 'h2']) {
          expect(
            onHost(host, "dpkg-query -W -f='${Package} ${Version}\\n' kubeadm kubelet kubectl containerd runc | sort"),
          ).toMatch(packageVersions(TO));
          // Each step's images came from its bundle; the sandbox image moved with the minor.
          const present = onHost(host, 'ctr -n k8s.io images ls -q');
          for (const version of [MIDDLE, TO]) expect(present).toContain(`registry.k8s.io/kube-proxy:v${version}`);
          expect(onHost(host, 'cat /etc/containerd/config.toml')).toContain(
            `registry.k8s.io/pause:${KUBERNETES_MINORS[34]!.pause}"`,
          );
          // Only the last step's bundle is left on the host.
          expect(onHost(host, 'ls /var/lib/kubestrap/bundle').trim()).toMatch(/^[0-9a-f]{16}$/);
          expect(droppedConnections(host)).toBe(0);
        }
        expect(onHost('h1', `cat /etc/kubernetes/manifests/kube-apiserver.yaml`)).toContain(`kube-apiserver:v${TO}`);
        // Run again: every node is there, nothing to do, and the bundles no step needs are said.
        const again = await kubestrap(upgrade(TO, MIDDLE));
        expect(again.status).toBe(0);
        expect(again.stdout).toContain(`runs ${TO} on every node: nothing to upgrade`);
        expect(again.stderr).toContain(`holds Kubernetes ${MIDDLE}, which is no step of this upgrade`);
      } finally {
        for (const at of stepSources) await at.stop();
      }
    },
  );

  it('a dropped connection resumes the upload where it stopped', { timeout: 300_000 }, async () => {
    const file = join(work, 'big.bin');
    const content = randomBytes(48 * 1024 * 1024);
    writeFileSync(file, content);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const pool = new SshPool({ knownHostsPath: join(work, 'known_hosts'), logDir: join(work, 'upload-logs') });
    try {
      const host = pool.host({
        name: 'h2',
        address: harness.host('h2').ip,
        port: 22,
        user: 'kube',
        privateKey: readFileSync(harness.clientKeyPath),
      });
      let dropped = false;
      const result = await resumableUpload(host, file, '/var/tmp/big.bin', {
        size: content.length,
        sha256,
        onProgress: (bytes) => {
          if (!dropped && bytes > content.length / 2) {
            dropped = true;
            void host.close();
          }
        },
      });
      expect(dropped).toBe(true);
      expect(result.startedAt).toHaveLength(2);
      expect(result.startedAt[0]).toBe(0);
      // The second attempt started from what had arrived, not from the beginning.
      expect(result.startedAt[1]).toBeGreaterThan(0);
      expect(onHost('h2', 'sha256sum /var/tmp/big.bin').split(' ')[0]).toBe(sha256);
      expect(onHost('h2', 'stat -c %a /var/tmp/big.bin').trim()).toBe('600');
      expect(existsSync(join(harness.host('h2').root, 'var/tmp/big.bin.part'))).toBe(false);
    } finally {
      await pool.close();
    }
  });
});
