// rpm bundles for RHEL-like hosts: `kubestrap bundle` from rpm repositories the test
// serves (signed metadata, signed packages, comps), and the bundle's own repository
// installed by the real dnf with the exact commands the provisioners run, with no other
// repository. (rpm's version order and the dependency closure are in bundle-rpm.test.ts.)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleManifest } from '../bundle/format.js';
import { rpmRequirementsMissing } from '../bundle/host-requirements.js';
import { verifyRpmSignatures } from '../bundle/signature.js';
import {
  BUNDLE_SOURCE_FILE,
  bundleSourceFile,
  installCommand,
  parseRpmProvides,
  rpmProvidesQuery,
} from '../provisioners/os-packages.js';
import { dnfKubernetesInstall } from '../provisioners/packages.js';
import { packagesReachableScript } from '../provisioners/upgrade-preflight.js';
import { loadSpecText } from '../spec/load.js';
import { parseKubernetesVersion } from '../spec/versions.js';
import { ENDPOINT_PACKAGES } from '../spec/host-packages.js';
import { startBundleSources, type BundleSources } from './support/bundle-sources.js';
import { REPO_ROOT, sharedReferenceMissing } from './support/fixtures.js';
import { stopGpgAgents } from './support/gpg-agent.js';
import { rpmFiles, startRpmRepos, type RpmRepos } from './support/rpm-repos.js';
import { tarMembers } from './support/tar.js';
import { missingTools, run, runAsync } from './support/tools.js';
import { jsonResult } from './support/json-lines.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const VERSION = '1.34.2';

const unavailable =
  sharedReferenceMissing() ??
  missingTools(
    'rpm',
    'rpmbuild',
    'rpmsign',
    'createrepo_c',
    'dnf',
    'gpg',
    'gpgv',
    'skopeo',
    'docker-registry',
    'busybox',
  );

describe.skipIf(unavailable)(`rpm bundle from local sources${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let repos: RpmRepos;
  let sources: BundleSources;
  let work: string;
  let bundlePath: string;
  let manifest: BundleManifest;

  const kubestrap = (args: string[]) =>
    runAsync(process.execPath, [CLI, ...args], {
      cwd: work,
      env: { ...process.env, NO_COLOR: '1' },
      timeoutMs: 600_000,
    });
  const specText = (
    keys: { docker?: string; os?: string } = {},
    architecture = 'amd64',
  ) => `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: offline-rhel
spec:
  kubernetes:
    version: ${VERSION}
  os:
    family: rhel
    architecture: ${architecture}
  machines:
    provider: existing
    network: 10.215.0.0/24
    ssh:
      user: kube
    nodes:
      - name: cp
        role: control-plane
        ip: 10.215.0.10
        storage: false
      - name: w1
        role: worker
        ip: 10.215.0.11
        disks:
          - device: /dev/vdb
  storage:
    rook:
      enabled: true
      manifestBase: ${JSON.stringify(sources.rookUrl)}
${sources.packagesYaml.replace(
  '  packages:\n',
  `  packages:
    kubernetesRepository: ${JSON.stringify(repos.kubernetesRepository)}
    insecureHttpKey: true
    rpmRepositories:
      - url: ${JSON.stringify(repos.docker.url)}
        key: ${JSON.stringify(keys.docker ?? repos.docker.key)}
      - url: ${JSON.stringify(repos.os.url)}
        key: ${JSON.stringify(keys.os ?? repos.os.key)}
`,
)}`;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'bundle-rpm-'));
    repos = await startRpmRepos(work, VERSION);
    sources = await startBundleSources(undefined, work, VERSION);
    writeFileSync(join(work, 'cluster.yaml'), specText());
    bundlePath = join(work, 'offline.kubestrap.tar');
    const keygen = await kubestrap(['bundle', 'keygen', 'bundle-key']);
    if (keygen.status !== 0) throw new Error(`bundle keygen: ${keygen.stderr}`);
  }, 600_000);

  // dnf's repo_gpgcheck imports each repository's key into a keyring under the root's cache
  // and leaves a gpg-agent running there: stopped with the roots.
  const roots: string[] = [];
  const newRoot = (): string => {
    const root = mkdtempSync(join(tmpdir(), 'rpm-root-'));
    roots.push(root);
    return root;
  };

  afterAll(async () => {
    for (const root of roots) {
      const cache = join(root, 'var/cache/dnf');
      if (!existsSync(cache)) continue;
      stopGpgAgents(
        ...readdirSync(cache)
          .map((repo) => join(cache, repo, 'pubring'))
          .filter((dir) => existsSync(dir)),
      );
    }
    await sources?.stop();
    await repos?.stop();
  });

  it(
    'builds a bundle with the exact packages and what they need beyond a minimal install',
    { timeout: 600_000 },
    async () => {
      const result = await kubestrap([
        'bundle',
        '-f',
        'cluster.yaml',
        '-o',
        bundlePath,
        '--sign-key',
        'bundle-key',
        '--json',
      ]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const summary = jsonResult<{
        packages: string[];
        hostRequires: { relation: string; neededBy: string }[];
      }>(result.stdout);
      expect(summary.packages).toEqual([
        'conntrack-tools=1.4.7-2.el9',
        'container-selinux=3:2.229.0-1.el9',
        'containerd.io=1.7.27-3.1.el9',
        'cri-tools=1.34.0-150500.1.1',
        'ethtool=2:6.2-1.el9',
        'iptables-nft=1.8.10-4.el9',
        'kubeadm=1.34.2-150500.1.1',
        'kubectl=1.34.2-150500.1.1',
        'kubelet=1.34.2-150500.1.1',
        'kubernetes-cni=1.7.1-150500.1.1',
        'libnetfilter_conntrack=1.0.9-1.el9',
        'libseccomp=2.5.2-2.el9',
        'socat=1.7.4.1-5.el9',
      ]);
      // glibc and bash are the core group's: every host has them, the bundle does not carry them.
      expect(summary.hostRequires.map((r) => r.relation)).toEqual([
        '/bin/sh',
        'libc.so.6()(64bit)',
        'libc.so.6(GLIBC_2.34)(64bit)',
      ]);
    },
  );

  it("the upgrade preflight finds a step's packages with a scratch dnf, naming a repository without them", async () => {
    const { model } = loadSpecText(specText(), 'cluster.yaml');
    // --releasever: this machine is no EL release for dnf to read one from; the repository names none.
    // Asynchronously: the repositories are served from this process.
    const reachable = (version: string) =>
      runAsync('sh', [
        '-c',
        packagesReachableScript(model, parseKubernetesVersion(version)!).replace(
          'dnf -q -y',
          'dnf --releasever=9 -q -y',
        ),
      ]);
    const found = await reachable(VERSION);
    expect(found.stderr).toBe('');
    expect(found.status).toBe(0);
    expect(found.stdout.trim()).toMatch(new RegExp(`^${VERSION.replaceAll('.', '\\.')}-\\S+$`));
    const absent = await reachable('1.34.99');
    expect(absent.status).toBe(1);
    expect(absent.stderr).toContain(`kubeadm 1.34.99 is not in ${repos.kubernetesRepository}/v1.34/rpm/`);
  });

  it('holds each repository as dnf checks it: signed metadata as published, or signed packages', async () => {
    const all = await tarMembers(bundlePath);
    manifest = JSON.parse(all[0]!.data.toString('utf8')) as BundleManifest;
    expect(manifest.os).toEqual({ family: 'rhel', architecture: 'amd64' });
    const rpms = manifest.files.filter((f) => f.kind === 'rpm');
    expect(rpms).toHaveLength(13);
    // The repositories hold aarch64 builds of the same packages too.
    expect(rpms.filter((f) => !/\.(x86_64|noarch)\.rpm$/.test(f.path))).toEqual([]);
    expect(manifest.rpmRepositories).toEqual([
      {
        path: 'rpms/kubernetes',
        key: 'rpms/keys/kubernetes.asc',
        check: 'metadata',
        source: `${repos.kubernetesRepository}/v1.34/rpm/`,
      },
      { path: 'rpms/repository-1', key: 'rpms/keys/repository-1.asc', check: 'metadata', source: repos.docker.url },
      { path: 'rpms/repository-2', key: 'rpms/keys/repository-2.asc', check: 'packages', source: repos.os.url },
    ]);
    const metadata = (dir: string) =>
      manifest.files
        .filter((f) => f.kind === 'rpm-metadata' && f.path.startsWith(`${dir}/`))
        .map((f) => f.path.slice(dir.length + 1).replace(/[0-9a-f]{64}-/, ''))
        .sort();
    // Signed metadata: repomd.xml, its signature and what it lists, byte for byte as published.
    for (const [dir, published] of [
      ['rpms/kubernetes', join(work, 'rpm-www/k8s/v1.34/rpm')],
      ['rpms/repository-1', repos.docker.dir],
    ] as const) {
      expect(metadata(dir)).toEqual(
        expect.arrayContaining(['repodata/primary.xml.gz', 'repodata/repomd.xml', 'repodata/repomd.xml.asc']),
      );
      for (const f of manifest.files.filter((f) => f.path.startsWith(`${dir}/repodata/`)))
        expect(
          all.find((m) => m.name === f.path)!.data.equals(readFileSync(join(published, f.path.slice(dir.length + 1)))),
        ).toBe(true);
    }
    // Signed packages: the bundle's own repodata over exactly the carried ones.
    expect(metadata('rpms/repository-2')).toEqual([
      'repodata/filelists.xml.gz',
      'repodata/other.xml.gz',
      'repodata/primary.xml.gz',
      'repodata/repomd.xml',
    ]);
    for (const f of manifest.files) {
      const member = all.find((m) => m.name === f.path)!;
      expect(createHash('sha256').update(member.data).digest('hex')).toBe(f.sha256);
    }
    const primary = all.find((m) => /^rpms\/repository-2\/repodata\/.*primary\.xml\.gz$/.test(m.name))!;
    const { gunzipSync } = await import('node:zlib');
    const text = gunzipSync(primary.data).toString('utf8');
    expect(text.match(/<name>[^<]+<\/name>/g)).toHaveLength(
      rpms.filter((f) => f.path.startsWith('rpms/repository-2/')).length,
    );
    expect(text).not.toContain('<name>glibc</name>');
    const verified = await kubestrap(['bundle', 'verify', bundlePath, '--key', 'bundle-key.pub']);
    expect(verified.status).toBe(0);
  });

  it('is reproducible: the same sources give the same bytes', { timeout: 600_000 }, async () => {
    const again = join(work, 'again.kubestrap.tar');
    expect((await kubestrap(['bundle', '-f', 'cluster.yaml', '-o', again, '--sign-key', 'bundle-key'])).status).toBe(0);
    const digest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(digest(again)).toBe(digest(bundlePath));
  });

  it(
    "for arm64 hosts: the aarch64 packages, the arm64 binaries and each image's arm64 manifest",
    { timeout: 600_000 },
    async () => {
      writeFileSync(join(work, 'arm64.yaml'), specText({}, 'arm64'));
      const arm64Path = join(work, 'arm64.kubestrap.tar');
      const result = await kubestrap([
        'bundle',
        '-f',
        'arm64.yaml',
        '-o',
        arm64Path,
        '--sign-key',
        'bundle-key',
        '--json',
      ]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const all = await tarMembers(arm64Path);
      const arm64 = JSON.parse(all[0]!.data.toString('utf8')) as BundleManifest;
      expect(arm64.os).toEqual({ family: 'rhel', architecture: 'arm64' });
      const rpms = arm64.files.filter((f) => f.kind === 'rpm').map((f) => f.path);
      expect(rpms).toHaveLength(13);
      expect(rpms.filter((p) => !/\.(aarch64|noarch)\.rpm$/.test(p))).toEqual([]);
      const published = readFileSync(join(work, 'dl', `v${VERSION}`, 'bin/linux/arm64/kubeadm'));
      expect(arm64.files.find((f) => f.path === 'binaries/kubeadm')!.sha256).toBe(
        createHash('sha256').update(published).digest('hex'),
      );
      // The same multi-platform images (the digest recorded is the registry's, of the
      // index), each exported as its arm64 image, not the amd64 one.
      expect(arm64.images).toEqual(manifest.images);
      const member = (m: BundleManifest, path: string) => m.files.find((f) => f.path === path)!.sha256;
      for (const image of arm64.images) expect(member(arm64, image.path)).not.toBe(member(manifest, image.path));
      const pause = arm64.images.find((i) => i.reference.startsWith('registry.k8s.io/pause:'))!;
      const archive = join(work, 'pause-arm64.tar');
      writeFileSync(archive, all.find((m) => m.name === pause.path)!.data);
      const inner = await tarMembers(archive);
      const config = (
        JSON.parse(inner.find((m) => m.name === 'manifest.json')!.data.toString()) as { Config: string }[]
      )[0]!.Config;
      expect(JSON.parse(inner.find((m) => m.name === config)!.data.toString())).toMatchObject({
        architecture: 'arm64',
        os: 'linux',
      });

      // An arm64 bundle for the amd64 spec: refused before any host is reached.
      const refused = await kubestrap([
        'install',
        '--bundle',
        arm64Path,
        '--key',
        'bundle-key.pub',
        '-f',
        'cluster.yaml',
      ]);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain(
        'it holds arm64 packages and images, the spec has amd64 hosts (spec.os.architecture)',
      );
    },
  );

  /** A bundle's rpms/ unpacked where the host would have it, and an empty root for dnf. */
  function unpackInto(root: string, bundle = bundlePath, its = manifest): string {
    const dir = join(work, 'unpacked', `${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xf', bundle, '-C', dir, 'rpms']);
    mkdirSync(join(root, 'etc/yum.repos.d'), { recursive: true });
    // The same file the bundle phase writes, at the same path inside the root.
    writeFileSync(join(root, BUNDLE_SOURCE_FILE.rhel), bundleSourceFile(its, dir));
    return dir;
  }
  /** A provisioner's dnf command, run by the real dnf against `root` instead of /. */
  const dnfIn = (root: string, command: string) =>
    run('sh', [
      '-c',
      command.replace(
        /^dnf /,
        `dnf --installroot=${root} --releasever=9 ` +
          `--setopt=reposdir=${root}/etc/yum.repos.d --setopt=cachedir=${root}/var/cache/dnf `,
      ),
    ]);
  /** A minimal host: the core group, installed from the OS repository. */
  const minimalHost = (): string => {
    const root = newRoot();
    const core = run('dnf', [
      '-y',
      '-q',
      `--installroot=${root}`,
      '--releasever=9',
      `--repofrompath=os,file://${repos.os.dir}`,
      '--repo=os',
      '--setopt=os.gpgcheck=0',
      'install',
      'glibc',
      'bash',
    ]);
    expect(core.status).toBe(0);
    return root;
  };
  const flipByte = (file: string) => {
    const bytes = readFileSync(file);
    bytes[bytes.length - 64] = bytes[bytes.length - 64]! ^ 0xff;
    writeFileSync(file, bytes);
  };
  const installed = (root: string) =>
    run('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{VERSION}\\n']).stdout.split('\n').filter(Boolean).sort();

  it(
    'installs containerd.io and the Kubernetes packages with dnf from the bundle alone onto a minimal host',
    { timeout: 300_000 },
    () => {
      const root = minimalHost();
      unpackInto(root);
      // What the preflight asks the host before anything changes: nothing missing.
      const probe = rpmProvidesQuery(manifest.hostRequires.map((r) => r.name)).replaceAll(
        'rpm -q ',
        `rpm --root ${root} -q `,
      );
      expect(rpmRequirementsMissing(manifest.hostRequires, parseRpmProvides(run('sh', ['-c', probe]).stdout))).toEqual(
        [],
      );

      const runtime = dnfIn(root, installCommand('rhel', ['containerd.io'], true));
      expect(runtime.stderr).not.toMatch(/Error/);
      expect(runtime.status).toBe(0);
      const kubernetes = dnfIn(root, dnfKubernetesInstall(VERSION, true));
      expect(kubernetes.status).toBe(0);
      expect(installed(root)).toEqual(
        expect.arrayContaining([
          'bash-5.1.8',
          'glibc-2.34',
          'containerd.io-1.7.27',
          'kubelet-1.34.2',
          'kubeadm-1.34.2',
          'kubectl-1.34.2',
          'cri-tools-1.34.0',
          'kubernetes-cni-1.7.1',
          'conntrack-tools-1.4.7',
        ]),
      );
      // The packaged double, stamped with its version as the package sources stamp it.
      expect(readFileSync(join(root, 'usr/bin/kubeadm'), 'utf8')).toBe(
        readFileSync(join(REPO_ROOT, 'test/doubles/kubeadm'), 'utf8').replaceAll('@VERSION@', VERSION),
      );
    },
  );

  it(
    'with a managed endpoint: keepalived and haproxy carried and installed by dnf from the bundle alone; ' +
      'the bundle without them refused for that spec',
    { timeout: 300_000 },
    async () => {
      writeFileSync(
        join(work, 'managed.yaml'),
        specText().replace(
          `    version: ${VERSION}\n`,
          `    version: ${VERSION}\n    controlPlaneEndpoint:\n      address: 10.215.0.250\n` +
            '      managed: keepalived-haproxy\n',
        ),
      );
      const managedPath = join(work, 'managed.kubestrap.tar');
      const result = await kubestrap([
        'bundle',
        '-f',
        'managed.yaml',
        '-o',
        managedPath,
        '--sign-key',
        'bundle-key',
        '--json',
      ]);
      expect(result.status).toBe(0);
      const summary = jsonResult<{ packages: string[] }>(result.stdout);
      // The plain bundle's 13 and the endpoint's, with the library keepalived needs.
      expect(summary.packages.filter((p) => !/^(keepalived|haproxy|libnl3)=/.test(p))).toHaveLength(13);
      expect(summary.packages).toEqual(
        expect.arrayContaining(['haproxy=2.8.14-1.el9', 'keepalived=2.2.8-4.el9', 'libnl3=3.9.0-1.el9']),
      );
      const managed = JSON.parse((await tarMembers(managedPath))[0]!.data.toString('utf8')) as BundleManifest;
      expect(manifest.packages!.map((p) => p.name)).not.toContain('keepalived');
      expect(managed.packages!.map((p) => p.name)).toEqual(expect.arrayContaining([...ENDPOINT_PACKAGES.rhel]));

      // The packages phase's command on a control plane, by the real dnf, the bundle its only repository.
      const root = minimalHost();
      unpackInto(root, managedPath, managed);
      const endpoint = dnfIn(root, installCommand('rhel', ENDPOINT_PACKAGES.rhel, true));
      expect(endpoint.stderr).not.toMatch(/Error/);
      expect(endpoint.status).toBe(0);
      expect(installed(root)).toEqual(expect.arrayContaining(['haproxy-2.8.14', 'keepalived-2.2.8', 'libnl3-3.9.0']));

      const refused = await kubestrap([
        'install',
        '--bundle',
        bundlePath,
        '--key',
        'bundle-key.pub',
        '-f',
        'managed.yaml',
      ]);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain(
        'the control-plane endpoint is managed (spec.kubernetes.controlPlaneEndpoint.managed: keepalived-haproxy) ' +
          'but the bundle lacks keepalived, haproxy, which the control planes run for it',
      );
      expect(refused.stderr).toContain('Nothing was done.');
    },
  );

  it(
    'on a host without the core packages: the preflight names them, and dnf fails rather than forcing',
    { timeout: 300_000 },
    () => {
      const root = newRoot();
      unpackInto(root);
      run('rpm', ['--root', root, '--initdb']);
      const probe = rpmProvidesQuery(manifest.hostRequires.map((r) => r.name)).replaceAll(
        'rpm -q ',
        `rpm --root ${root} -q `,
      );
      expect(
        rpmRequirementsMissing(manifest.hostRequires, parseRpmProvides(run('sh', ['-c', probe]).stdout)).map(
          (r) => r.relation,
        ),
      ).toEqual(['/bin/sh', 'libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)']);
      const result = dnfIn(root, dnfKubernetesInstall(VERSION, true));
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/nothing provides libc\.so\.6/);
      expect(installed(root)).toEqual([]);
    },
  );

  it(
    "a swapped package is refused by the hosts' dnf: by the signed repomd's checksums, or by its own signature",
    { timeout: 300_000 },
    () => {
      // Past bundle.json (its digests forged, or verify bypassed): what dnf itself checks.
      const root = minimalHost();
      const dir = unpackInto(root);
      const kubelet = manifest.files.find((f) =>
        /^rpms\/kubernetes\/.*kubelet-1\.34\.2-.*\.x86_64\.rpm$/.test(f.path),
      )!;
      flipByte(join(dir, kubelet.path));
      const kubernetes = dnfIn(root, dnfKubernetesInstall(VERSION, true));
      expect(kubernetes.status).not.toBe(0);
      expect(`${kubernetes.stdout}${kubernetes.stderr}`).toMatch(/incorrect checksum|checksum mismatch|checksum/i);
      expect(installed(root).filter((p) => p.startsWith('kube'))).toEqual([]);

      // The OS repository's repodata is the bundle's own, so a forger can remake it; the
      // package's signature they cannot.
      const other = minimalHost();
      const otherDir = unpackInto(other);
      const socat = manifest.files.find((f) => /^rpms\/repository-2\/socat-.*\.rpm$/.test(f.path))!;
      flipByte(join(otherDir, socat.path));
      execFileSync('createrepo_c', ['--quiet', '--no-database', join(otherDir, 'rpms/repository-2')]);
      const result = dnfIn(other, dnfKubernetesInstall(VERSION, true));
      expect(result.status).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toMatch(/Problem opening package socat-\S+\s+Error: GPG check FAILED/);
      expect(installed(other).filter((p) => p.startsWith('socat'))).toEqual([]);
    },
  );

  it('an unsigned package does not pass the package signature check on its digests alone', async () => {
    // Docker's test repository signs its metadata, not its packages.
    const unsigned = join(repos.docker.dir, rpmFiles(repos.docker.dir)[0]!);
    await expect(verifyRpmSignatures(readFileSync(repos.docker.key), [unsigned], 'repository docker')).rejects.toThrow(
      /is not signed by the repository's key/,
    );
    const signed = join(repos.os.dir, rpmFiles(repos.os.dir)[0]!);
    await expect(verifyRpmSignatures(readFileSync(repos.os.key), [signed], 'repository os')).resolves.toBeUndefined();
  });

  it(
    "refuses repositories whose metadata or packages the spec's keys did not sign, naming what failed",
    { timeout: 600_000 },
    async () => {
      writeFileSync(join(work, 'bad-docker.yaml'), specText({ docker: repos.strangerKey }));
      const metadata = await kubestrap(['bundle', '-f', 'bad-docker.yaml', '-o', join(work, 'bad.tar')]);
      expect(metadata.status).toBe(1);
      expect(metadata.stderr).toContain(
        `repository ${repos.docker.url}: repodata/repomd.xml is not signed by the repository's key`,
      );
      writeFileSync(join(work, 'bad-os.yaml'), specText({ os: repos.strangerKey }));
      const packages = await kubestrap(['bundle', '-f', 'bad-os.yaml', '-o', join(work, 'bad.tar')]);
      expect(packages.status).toBe(1);
      expect(packages.stderr).toMatch(
        new RegExp(`repository ${repos.os.url}: \\S+\\.rpm is not signed by the repository's key`),
      );
    },
  );
});
