// rpm bundles for RHEL-like hosts: rpm's version order (checked against rpm itself), the
// dependency closure, `kubestrap bundle` from rpm repositories the test serves (signed
// metadata, signed packages, comps), and the bundle's own repository installed by the
// real dnf with the exact commands the provisioners run, with no other repository.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleManifest } from '../bundle/format.js';
import { rpmRequirementsMissing } from '../bundle/host-requirements.js';
import { resolveRpmClosure } from '../bundle/rpm-closure.js';
import type { RpmIndex, RpmPackage } from '../bundle/rpm-index.js';
import { parseRpmRelation } from '../bundle/rpm-relation.js';
import { compareEvr, parseEvr, rpmvercmp } from '../bundle/rpm-version.js';
import { verifyRpmSignatures } from '../bundle/signature.js';
import { BUNDLE_SOURCE_FILE, bundleSourceFile, installCommand, parseRpmProvides, rpmProvidesQuery } from '../provisioners/os-packages.js';
import { dnfKubernetesInstall } from '../provisioners/packages.js';
import { startBundleSources, type BundleSources } from './support/bundle-sources.js';
import { REPO_ROOT } from './support/fixtures.js';
import { rpmFiles, startRpmRepos, type RpmRepos } from './support/rpm-repos.js';
import { tarMembers } from './support/tar.js';
import { missingTools, run, runAsync } from './support/tools.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const VERSION = '1.34.2';

const PAIRS: [string, string][] = [
  ['1.0', '1.0'], ['1.0', '2.0'], ['2.0.1', '2.0'], ['2.0.1a', '2.0.1'], ['1.0a', '1.0'], ['5.5p1', '5.5p10'], ['10b2', '10a1'], ['1.0~rc1', '1.0'],
  ['1.0~rc1', '1.0~rc2'], ['1.0^', '1.0'], ['1.0^git1', '1.0.1'], ['1.0^git1', '1.0^git2'], ['1.0', '1.0.0'], ['xyz', 'xyz.1'], ['1.010', '1.9'], ['001', '1'],
  ['a', '1'], ['1_0', '1.0'], ['2.34', '2.34.0'], ['150500.1.1', '150500.1.10'], ['1.7.27', '1.7.3'], ['6.0.4+really5.18', '6.0.4'], ['1.0~', '1.0~~'],
];

describe('rpm version order', () => {
  it('gives each pair the order rpm itself gives', () => {
    const rpmAvailable = !missingTools('rpm');
    for (const [a, b] of PAIRS) {
      const ours = rpmvercmp(a, b);
      expect(rpmvercmp(b, a) + ours).toBe(0);
      if (rpmAvailable) {
        const theirs = Number(execFileSync('rpm', ['--eval', `%{lua: print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}))}`]).toString().trim());
        expect({ a, b, order: ours }).toEqual({ a, b, order: theirs });
      }
    }
    // Without rpm on the machine, the table still pins the known answers.
    expect(PAIRS.map(([a, b]) => rpmvercmp(a, b))).toEqual([0, -1, 1, 1, 1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, 0, -1, 0, -1, -1, 1, 1, 1]);
  });

  it('compares epochs first and releases only when both sides give one', () => {
    expect(compareEvr(parseEvr('2:1.0-1'), parseEvr('3.0-1'))).toBe(1);
    expect(compareEvr(parseEvr('1.34.2-150500.1.1'), parseEvr('1.34.2'))).toBe(0);
    expect(compareEvr(parseEvr('1.34.2-150500.1.1'), parseEvr('1.34.2-150500.1.2'))).toBe(-1);
  });

  it('reads plain, versioned and boolean dependencies, and refuses the boolean forms it cannot decide', () => {
    expect(parseRpmRelation('glibc >= 2.34')).toEqual([{ name: 'glibc', flag: 'GE', evr: { epoch: 0, version: '2.34' } }]);
    expect(parseRpmRelation('(iptables-nft or iptables-legacy)').map((d) => d.name)).toEqual(['iptables-nft', 'iptables-legacy']);
    expect(() => parseRpmRelation('(foo if bar)')).toThrow(/not supported/);
  });
});

const pkg = (name: string, version: string, more: Partial<RpmPackage> = {}): RpmPackage => ({
  name,
  arch: 'x86_64',
  evr: { epoch: 0, version, release: '1' },
  requires: [],
  provides: [{ name, flag: 'EQ', evr: { epoch: 0, version, release: '1' } }],
  files: [],
  url: `http://repo/${name}-${version}.rpm`,
  filename: `${name}-${version}-1.x86_64.rpm`,
  size: 1,
  sha256: '0'.repeat(64),
  repository: 'http://repo',
  ...more,
});
const index = (packages: RpmPackage[], coreGroup: string[] = []): RpmIndex => ({ repository: { url: 'http://repo', key: Buffer.alloc(0) }, packages, coreGroup, metadataSigned: true });

describe('rpm dependency closure', () => {
  it('stops at what a minimal install has, and records it and what nobody offers for the host check', () => {
    const closure = resolveRpmClosure(
      [
        index(
          [
            pkg('app', '1', { requires: [{ name: 'lib', flag: 'GE', evr: { epoch: 0, version: '2' } }, { name: '/bin/sh' }, { name: 'ghost' }, { name: 'libc.so.6()(64bit)' }] }),
            pkg('lib', '1'),
            pkg('lib', '2', { requires: [{ name: 'libc.so.6()(64bit)' }] }),
            pkg('lib', '3'),
            pkg('glibc', '2.34', { provides: [{ name: 'glibc' }, { name: 'libc.so.6()(64bit)' }] }),
            pkg('bash', '5', { files: ['/bin/sh'], requires: [{ name: 'libc.so.6()(64bit)' }] }),
          ],
          ['bash'],
        ),
      ],
      [{ name: 'app' }],
    );
    // glibc is in the baseline because bash (core) requires it, though only bash is listed.
    expect(closure.packages.map((p) => `${p.name}-${p.evr.version}`)).toEqual(['app-1', 'lib-3']);
    expect(closure.hostRequires.map((r) => r.relation)).toEqual(['/bin/sh', 'ghost', 'libc.so.6()(64bit)']);
  });

  it('names both sides when two packages need versions of a third that no single version meets', () => {
    const pinned = [{ name: 'lib', flag: 'EQ' as const, evr: { epoch: 0, version: '1', release: '1' } }];
    expect(() => resolveRpmClosure([index([pkg('a', '1', { requires: [{ name: 'lib' }] }), pkg('b', '1', { requires: pinned }), pkg('lib', '1'), pkg('lib', '2')])], [{ name: 'a' }, { name: 'b' }])).toThrow(
      /b-1-1.x86_64 requires lib = 1-1, but lib-2-1.x86_64 is what the rest needs/,
    );
  });

  it('checks host requirements against the Provides of installed packages, versions included', () => {
    const provided = parseRpmProvides('@@ glibc\nglibc = 2.34-100.el9\n@@ /bin/sh\nbash = 5.1.8-9.el9\n@@ libfoo\n');
    const need = (relation: string) => ({ name: relation.split(' ')[0]!, relation, neededBy: 'x' });
    expect(rpmRequirementsMissing([need('glibc >= 2.30'), need('/bin/sh'), need('glibc >= 2.35'), need('libfoo'), need('(libfoo or glibc)')], provided).map((r) => r.relation)).toEqual(['glibc >= 2.35', 'libfoo']);
  });
});

describe('kubestrap bundle for rhel hosts', () => {
  it('without rpmRepositories says which field to add, with exit 2 and nothing fetched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bundle-rpm-spec-'));
    writeFileSync(
      join(dir, 'cluster.yaml'),
      'apiVersion: kubestrap.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: r\nspec:\n  os:\n    family: rhel\n  machines:\n    provider: existing\n    network: 10.216.0.0/24\n    nodes:\n      - { name: cp, role: control-plane, ip: 10.216.0.10 }\n  storage:\n    rook:\n      enabled: false\n  packages:\n    kubernetesRepository: http://127.0.0.1:9/k8s\n',
    );
    const result = run(process.execPath, [CLI, 'bundle', '-f', 'cluster.yaml', '-o', 'out.tar'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('cluster.yaml: spec.packages.rpmRepositories is empty');
    expect(result.stderr).toContain('Nothing was done.');
  });
});

const unavailable = missingTools('rpm', 'rpmbuild', 'rpmsign', 'createrepo_c', 'dnf', 'gpg', 'gpgv', 'skopeo', 'docker-registry', 'busybox');

describe.skipIf(unavailable)(`rpm bundle from local sources${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let repos: RpmRepos;
  let sources: BundleSources;
  let work: string;
  let bundlePath: string;
  let manifest: BundleManifest;

  const kubestrap = (args: string[]) => runAsync(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 600_000 });
  const specText = (keys: { docker?: string; os?: string } = {}, architecture = 'amd64') => `apiVersion: kubestrap.dev/v1alpha1
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
  }, 600_000);

  afterAll(async () => {
    await sources?.stop();
    await repos?.stop();
  });

  it('builds a bundle with the exact packages and what they need beyond a minimal install', { timeout: 600_000 }, async () => {
    const result = await kubestrap(['bundle', '-f', 'cluster.yaml', '-o', bundlePath, '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as { packages: string[]; hostRequires: { relation: string; neededBy: string }[] };
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
    expect(summary.hostRequires.map((r) => r.relation)).toEqual(['/bin/sh', 'libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)']);
  });

  it('carries a repository over exactly those packages, made by createrepo_c, each member listed with its sha256', async () => {
    const all = await tarMembers(bundlePath);
    manifest = JSON.parse(all[0]!.data.toString('utf8')) as BundleManifest;
    expect(manifest.os).toEqual({ family: 'rhel', architecture: 'amd64' });
    const rpms = manifest.files.filter((f) => f.kind === 'rpm');
    expect(rpms).toHaveLength(13);
    // The repositories hold aarch64 builds of the same packages too.
    expect(rpms.filter((f) => !/\.(x86_64|noarch)\.rpm$/.test(f.path))).toEqual([]);
    expect(manifest.files.filter((f) => f.kind === 'rpm-metadata').map((f) => f.path.replace(/[0-9a-f]{64}-/, '')).sort()).toEqual([
      'rpms/repodata/filelists.xml.gz',
      'rpms/repodata/other.xml.gz',
      'rpms/repodata/primary.xml.gz',
      'rpms/repodata/repomd.xml',
    ]);
    for (const f of manifest.files) {
      const member = all.find((m) => m.name === f.path)!;
      expect(createHash('sha256').update(member.data).digest('hex')).toBe(f.sha256);
    }
    const primary = all.find((m) => /primary\.xml\.gz$/.test(m.name))!;
    const { gunzipSync } = await import('node:zlib');
    const text = gunzipSync(primary.data).toString('utf8');
    expect(text.match(/<name>[^<]+<\/name>/g)).toHaveLength(13);
    expect(text).not.toContain('<name>glibc</name>');
    const verified = await kubestrap(['bundle', 'verify', bundlePath]);
    expect(verified.status).toBe(0);
  });

  it('is reproducible: the same sources give the same bytes', { timeout: 600_000 }, async () => {
    const again = join(work, 'again.kubestrap.tar');
    expect((await kubestrap(['bundle', '-f', 'cluster.yaml', '-o', again])).status).toBe(0);
    const digest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(digest(again)).toBe(digest(bundlePath));
  });

  it("for arm64 hosts: the aarch64 packages, the arm64 binaries and each image's arm64 manifest", { timeout: 600_000 }, async () => {
    writeFileSync(join(work, 'arm64.yaml'), specText({}, 'arm64'));
    const arm64Path = join(work, 'arm64.kubestrap.tar');
    const result = await kubestrap(['bundle', '-f', 'arm64.yaml', '-o', arm64Path, '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const all = await tarMembers(arm64Path);
    const arm64 = JSON.parse(all[0]!.data.toString('utf8')) as BundleManifest;
    expect(arm64.os).toEqual({ family: 'rhel', architecture: 'arm64' });
    const rpms = arm64.files.filter((f) => f.kind === 'rpm').map((f) => f.path);
    expect(rpms).toHaveLength(13);
    expect(rpms.filter((p) => !/\.(aarch64|noarch)\.rpm$/.test(p))).toEqual([]);
    const published = readFileSync(join(work, 'dl', `v${VERSION}`, 'bin/linux/arm64/kubeadm'));
    expect(arm64.files.find((f) => f.path === 'binaries/kubeadm')!.sha256).toBe(createHash('sha256').update(published).digest('hex'));
    // The same multi-platform images (the digest recorded is the registry's, of the
    // index), each exported as its arm64 image, not the amd64 one.
    expect(arm64.images).toEqual(manifest.images);
    const member = (m: BundleManifest, path: string) => m.files.find((f) => f.path === path)!.sha256;
    for (const image of arm64.images) expect(member(arm64, image.path)).not.toBe(member(manifest, image.path));
    const pause = arm64.images.find((i) => i.reference.startsWith('registry.k8s.io/pause:'))!;
    const archive = join(work, 'pause-arm64.tar');
    writeFileSync(archive, all.find((m) => m.name === pause.path)!.data);
    const inner = await tarMembers(archive);
    const config = (JSON.parse(inner.find((m) => m.name === 'manifest.json')!.data.toString()) as { Config: string }[])[0]!.Config;
    expect(JSON.parse(inner.find((m) => m.name === config)!.data.toString())).toMatchObject({ architecture: 'arm64', os: 'linux' });

    // An arm64 bundle for the amd64 spec: refused before any host is reached.
    const refused = await kubestrap(['install', '--bundle', arm64Path, '-f', 'cluster.yaml']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('it holds arm64 packages and images, the spec has amd64 hosts (spec.os.architecture)');
  });

  /** The bundle's rpms/ unpacked where the host would have it, and an empty root for dnf. */
  function unpackInto(root: string): string {
    const dir = join(work, 'unpacked', `${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xf', bundlePath, '-C', dir, 'rpms']);
    mkdirSync(join(root, 'etc/yum.repos.d'), { recursive: true });
    // The same file the bundle phase writes, at the same path inside the root.
    writeFileSync(join(root, BUNDLE_SOURCE_FILE.rhel), bundleSourceFile('rhel', dir));
    return dir;
  }
  /** A provisioner's dnf command, run by the real dnf against `root` instead of /. */
  const dnfIn = (root: string, command: string) =>
    run('sh', ['-c', command.replace(/^dnf /, `dnf --installroot=${root} --releasever=9 --setopt=reposdir=${root}/etc/yum.repos.d --setopt=cachedir=${root}/var/cache/dnf `)]);
  const installed = (root: string) => run('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{VERSION}\\n']).stdout.split('\n').filter(Boolean).sort();

  it('installs containerd.io and the Kubernetes packages with dnf from the bundle alone onto a minimal host', { timeout: 300_000 }, () => {
    const root = mkdtempSync(join(tmpdir(), 'rpm-root-'));
    // The minimal host: the core group, installed from the OS repository.
    expect(run('dnf', ['-y', '-q', `--installroot=${root}`, '--releasever=9', `--repofrompath=os,file://${repos.os.dir}`, '--repo=os', '--setopt=os.gpgcheck=0', 'install', 'glibc', 'bash']).status).toBe(0);
    unpackInto(root);
    // What the preflight asks the host before anything changes: nothing missing.
    const probe = rpmProvidesQuery(manifest.hostRequires.map((r) => r.name)).replaceAll('rpm -q ', `rpm --root ${root} -q `);
    expect(rpmRequirementsMissing(manifest.hostRequires, parseRpmProvides(run('sh', ['-c', probe]).stdout))).toEqual([]);

    const runtime = dnfIn(root, installCommand('rhel', ['containerd.io'], true));
    expect(runtime.stderr).not.toMatch(/Error/);
    expect(runtime.status).toBe(0);
    const kubernetes = dnfIn(root, dnfKubernetesInstall(VERSION, true));
    expect(kubernetes.status).toBe(0);
    expect(installed(root)).toEqual(expect.arrayContaining(['bash-5.1.8', 'glibc-2.34', 'containerd.io-1.7.27', 'kubelet-1.34.2', 'kubeadm-1.34.2', 'kubectl-1.34.2', 'cri-tools-1.34.0', 'kubernetes-cni-1.7.1', 'conntrack-tools-1.4.7']));
    expect(readFileSync(join(root, 'usr/bin/kubeadm'), 'utf8')).toBe(readFileSync(join(REPO_ROOT, 'test/doubles/kubeadm'), 'utf8'));
  });

  it('on a host without the core packages: the preflight names them, and dnf fails rather than forcing', { timeout: 300_000 }, () => {
    const root = mkdtempSync(join(tmpdir(), 'rpm-root-'));
    unpackInto(root);
    run('rpm', ['--root', root, '--initdb']);
    const probe = rpmProvidesQuery(manifest.hostRequires.map((r) => r.name)).replaceAll('rpm -q ', `rpm --root ${root} -q `);
    expect(rpmRequirementsMissing(manifest.hostRequires, parseRpmProvides(run('sh', ['-c', probe]).stdout)).map((r) => r.relation)).toEqual(['/bin/sh', 'libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)']);
    const result = dnfIn(root, dnfKubernetesInstall(VERSION, true));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/nothing provides libc\.so\.6/);
    expect(installed(root)).toEqual([]);
  });

  it('an unsigned package does not pass the package signature check on its digests alone', async () => {
    // Docker's test repository signs its metadata, not its packages.
    const unsigned = join(repos.docker.dir, rpmFiles(repos.docker.dir)[0]!);
    await expect(verifyRpmSignatures(readFileSync(repos.docker.key), [unsigned], 'repository docker')).rejects.toThrow(/is not signed by the repository's key/);
    const signed = join(repos.os.dir, rpmFiles(repos.os.dir)[0]!);
    await expect(verifyRpmSignatures(readFileSync(repos.os.key), [signed], 'repository os')).resolves.toBeUndefined();
  });

  it("refuses repositories whose metadata or packages the spec's keys did not sign, naming what failed", { timeout: 600_000 }, async () => {
    writeFileSync(join(work, 'bad-docker.yaml'), specText({ docker: repos.strangerKey }));
    const metadata = await kubestrap(['bundle', '-f', 'bad-docker.yaml', '-o', join(work, 'bad.tar')]);
    expect(metadata.status).toBe(1);
    expect(metadata.stderr).toContain(`repository ${repos.docker.url}: repodata/repomd.xml is not signed by the repository's key`);
    writeFileSync(join(work, 'bad-os.yaml'), specText({ os: repos.strangerKey }));
    const packages = await kubestrap(['bundle', '-f', 'bad-os.yaml', '-o', join(work, 'bad.tar')]);
    expect(packages.status).toBe(1);
    expect(packages.stderr).toMatch(new RegExp(`repository ${repos.os.url}: \\S+\\.rpm is not signed by the repository's key`));
  });
});
