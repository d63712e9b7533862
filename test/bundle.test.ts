// The offline bundle, built from sources the test serves itself: a signed Debian
// repository with Debian's real containerd, runc and their dependencies, and a
// pkgs.k8s.io-shaped one whose kubelet/kubeadm/kubectl packages carry the test doubles;
// Rook's manifests from a local HTTP server. Then `bundle verify` on the bundle and on
// damaged copies of it, each rejected naming the first bad member.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveClosure } from '../bundle/deb-closure.js';
import { hostRequirementsMissing } from '../bundle/host-requirements.js';
import type { DebPackage } from '../bundle/deb-index.js';
import { compareVersions, parseRelations } from '../bundle/debian-version.js';
import { downloadFile } from '../base/download.js';
import { exportImage } from '../bundle/images.js';
import { bundleArchitectureVerdict, bundleSpaceVerdict } from '../provisioners/preflight/bundle-checks.js';
import type { BundleManifest } from '../bundle/format.js';
import { AptMirror } from './harness/apt-mirror.js';
import { harnessUnavailable } from './harness/hosts.js';
import { startBundleSources, type BundleSources } from './support/bundle-sources.js';
import { REPO_ROOT, SHARED_REFERENCE } from './support/fixtures.js';
import { serveDirectory, type StaticServer } from './support/static-server.js';
import { tarDataOffset, tarMembers, tarWithout } from './support/tar.js';
import { missingTools, run, runAsync } from './support/tools.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const VERSION = '1.34.2';

describe('Debian version order', () => {
  // Each pair is checked against dpkg itself where dpkg is installed.
  const pairs: [string, string][] = [
    ['1.0', '1.0'], ['1.0', '1.0-1'], ['1.0-1', '1.0-2'], ['1.0~rc1', '1.0'], ['1.0~rc1-1', '1.0~rc2-1'], ['1:0.9', '2.0'], ['2.0', '1:0.9'],
    ['1.6.20~ds1-1+b1', '1.6.20~ds1-1'], ['1.34.2-1.1', '1.34.10-1.1'], ['1.34.2-1.1', '1.34.2-1.10'], ['2.36-9+deb12u4', '2.36-9+deb12u10'],
    ['1.1.5+ds1-1+deb12u1', '1.1.5+ds1-1'], ['1.0a', '1.0'], ['1.0a', '1.0+'], ['1.0~', '1.0'], ['1.0~~', '1.0~'], ['0:1.2', '1.2'], ['1.2.3', '1.2.3.0'],
    ['10', '9'], ['1.002', '1.2'], ['1.0-0ubuntu1', '1.0-0ubuntu1.1'], ['3.5.15-0', '3.5.15'],
  ];
  const dpkg = missingTools('dpkg') === undefined;

  it.each(pairs)('%s vs %s', (a, b) => {
    const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
    const ours = sign(compareVersions(a, b));
    expect(sign(compareVersions(b, a))).toBe(-ours || 0);
    if (!dpkg) return;
    const lt = run('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
    const eq = run('dpkg', ['--compare-versions', a, 'eq', b]).status === 0;
    expect(ours).toBe(lt ? -1 : eq ? 0 : 1);
  });

  it('reads relations with alternatives, versions, architecture qualifiers', () => {
    expect(parseRelations('libc6 (>= 2.34), runc (>= 1.0.0~rc2~) | crun, python3:any, foo (<< 2)')).toEqual([
      [{ name: 'libc6', operator: '>=', version: '2.34', text: 'libc6 (>= 2.34)' }],
      [{ name: 'runc', operator: '>=', version: '1.0.0~rc2~', text: 'runc (>= 1.0.0~rc2~)' }, { name: 'crun', text: 'crun' }],
      [{ name: 'python3', text: 'python3:any' }],
      [{ name: 'foo', operator: '<<', version: '2', text: 'foo (<< 2)' }],
    ]);
  });
});

describe('dependency closure', () => {
  const pkg = (name: string, version: string, extra: Partial<DebPackage> = {}): DebPackage => ({
    name, version, architecture: 'amd64', priority: 'optional', depends: '', preDepends: '', provides: '', url: `http://x/${name}.deb`, filename: `${name}_${version}_amd64.deb`, size: 1, sha256: '0'.repeat(64), stanza: `Package: ${name}`, ...extra,
  });

  it('takes the exact Kubernetes version, the newest satisfying dependency, and leaves what every host has to the host', () => {
    const index = [
      pkg('kubeadm', '1.34.2-1.1', { depends: 'cri-tools (>= 1.30.0), kubeadm-helper | other-helper' }),
      pkg('kubeadm', '1.34.10-1.1'),
      pkg('cri-tools', '1.29.0-1.1'),
      pkg('cri-tools', '1.34.0-1.1', { depends: 'libc6 (>= 2.34)' }),
      pkg('other-helper', '1'),
      pkg('libc6', '2.36-9', { priority: 'required' }),
      pkg('containerd', '1.6.20~ds1-1+b1', { depends: 'runc (>= 1.0.0~rc2~), libseccomp2 (>= 2.5)' }),
      pkg('runc', '1.1.5+ds1-1+deb12u1'),
    ];
    const closure = resolveClosure(index, [{ name: 'kubeadm', upstreamVersion: '1.34.2' }, { name: 'containerd' }]);
    expect(closure.packages.map((p) => `${p.name}=${p.version}`)).toEqual(['containerd=1.6.20~ds1-1+b1', 'cri-tools=1.34.0-1.1', 'kubeadm=1.34.2-1.1', 'other-helper=1', 'runc=1.1.5+ds1-1+deb12u1']);
    expect(closure.hostRequires.map((r) => `${r.relation} for ${r.neededBy}`)).toEqual(['libc6 (>= 2.34) for cri-tools 1.34.0-1.1', 'libseccomp2 (>= 2.5) for containerd 1.6.20~ds1-1+b1']);
  });

  it('stops when two packages need versions of a third that no one version satisfies', () => {
    const index = [pkg('a', '1', { depends: 'lib (<< 2)' }), pkg('b', '1', { depends: 'lib (>= 2)' }), pkg('lib', '1'), pkg('lib', '2')];
    expect(() => resolveClosure(index, [{ name: 'a' }, { name: 'b' }])).toThrow('b 1 needs lib (>= 2), but lib 1 is what the rest needs');
  });

  it('names the versions on offer when the wanted one is missing', () => {
    expect(() => resolveClosure([pkg('kubeadm', '1.34.1-1.1')], [{ name: 'kubeadm', upstreamVersion: '1.34.2' }])).toThrow('kubeadm 1.34.2 is not in the repositories (versions offered: 1.34.1-1.1)');
  });
});

describe('what a bundle leaves to the hosts', () => {
  const requires = [
    { name: 'libc6', relation: 'libc6 (>= 2.34)', neededBy: 'runc 1.1.5' },
    { name: 'libseccomp2', relation: 'libseccomp2 (>= 2.5) | libseccomp-static', neededBy: 'containerd 1.6.20' },
  ];

  it('is met by installed packages at versions the relations accept, any alternative counting', () => {
    expect(hostRequirementsMissing(requires, new Map([['libc6', '2.36-9+deb12u4'], ['libseccomp-static', '1']]))).toEqual([]);
  });

  it('names each requirement an installed version does not meet, or nothing installed meets', () => {
    expect(hostRequirementsMissing(requires, new Map([['libc6', '2.31-13']])).map((r) => r.relation)).toEqual(['libc6 (>= 2.34)', 'libseccomp2 (>= 2.5) | libseccomp-static']);
  });
});

describe('the architecture a bundle is for, on a host', () => {
  it("passes a host whose uname -m is the bundle's architecture, and names the spec field otherwise", () => {
    expect(bundleArchitectureVerdict('x86_64', 'amd64').verdict).toBe('pass');
    expect(bundleArchitectureVerdict('aarch64', 'arm64').verdict).toBe('pass');
    expect(bundleArchitectureVerdict('aarch64', 'amd64')).toEqual({
      name: 'bundle-arch',
      verdict: 'fail',
      detail: 'the host is aarch64 (arm64), the bundle holds amd64 packages and images — set spec.os.architecture: arm64 and build the bundle again',
    });
  });
});

describe('room for the bundle on a host', () => {
  it('needs twice the bundle (the archive and its unpacked copy), and says how much there is', () => {
    expect(bundleSpaceVerdict(3 * 1024 ** 3, 1024 ** 3).verdict).toBe('pass');
    expect(bundleSpaceVerdict(1.5 * 1024 ** 3, 1024 ** 3)).toEqual({
      name: 'bundle-space',
      verdict: 'fail',
      detail: '1.5 GiB free under /var/lib/kubestrap/bundle, the bundle needs 2.0 GiB there (the archive and its unpacked copy) — free space, or give /var/lib/kubestrap its own volume',
    });
  });
});

describe('bundle command input', () => {
  const kubestrap = (args: string[]) => run(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });

  it('needs -o, and says so with exit 2', () => {
    const result = kubestrap(['bundle']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/kubestrap bundle needs -o FILE/);
  });

  it('verify of a file that does not exist is invalid input (exit 2)', () => {
    const result = kubestrap(['bundle', 'verify', '/nonexistent/cluster.kubestrap.tar']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no such file/);
  });

  it('names the tool to install when skopeo is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(exportImage('registry.k8s.io/pause:3.10.1', 'amd64', {}, mkdtempSync(join(tmpdir(), 'no-skopeo-')))).rejects.toThrow('skopeo is needed to copy container images into the bundle (Debian/Ubuntu: apt-get install skopeo)');
    } finally {
      process.env.PATH = path;
    }
  });

  it('install without --bundle is invalid input (exit 2), nothing done', () => {
    const result = kubestrap(['install']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/kubestrap install needs --bundle FILE/);
  });
});

describe('resumed downloads', () => {
  let dir: string;
  let server: StaticServer;
  const content = Buffer.alloc(3 * 1024 * 1024, 7).fill(9, 1024 * 1024);
  const sha = createHash('sha256').update(content).digest('hex');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'download-'));
    writeFileSync(join(dir, 'big.bin'), content);
    server = await serveDirectory(dir);
  });
  afterAll(() => server?.close());

  it('continues where a dropped connection stopped, and checks the whole file', async () => {
    server.dropOnce('/big.bin', 1024 * 1024);
    const dest = join(dir, 'out', 'big.bin');
    const got = await downloadFile(`${server.url}/big.bin`, dest, { sha256: sha, size: content.length });
    expect(got.sha256).toBe(sha);
    expect(readFileSync(dest).equals(content)).toBe(true);
    const asked = server.requests.filter((r) => r.path === '/big.bin');
    expect(asked).toHaveLength(2);
    // It asked only for the rest: from what had arrived, not from byte 0.
    const from = Number(/^bytes=(\d+)-$/.exec(asked[1]!.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(1024 * 1024);
    // In the cache with the right hash: not fetched again.
    await downloadFile(`${server.url}/big.bin`, dest, { sha256: sha });
    expect(server.requests.filter((r) => r.path === '/big.bin')).toHaveLength(2);
  });

  it('refuses a file whose hash is not the published one', async () => {
    await expect(downloadFile(`${server.url}/big.bin`, join(dir, 'out', 'bad.bin'), { sha256: 'a'.repeat(64) })).rejects.toThrow(/sha256 [0-9a-f]{64}, the source publishes a{64} — a broken mirror/);
    expect(readdirSync(join(dir, 'out'))).not.toContain('bad.bin.part');
  });
});

const unavailable = harnessUnavailable() ?? missingTools('gpgv', 'gpg', 'apt-ftparchive', 'dpkg-deb', 'skopeo', 'docker-registry', 'busybox');

describe.skipIf(unavailable)(`bundle from local sources${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let mirror: AptMirror;
  let sources: BundleSources;
  let expectedImages: readonly string[];
  let work: string;
  let bundlePath: string;
  let manifest: BundleManifest;

  // Asynchronous: the sources are served from this process, which must stay responsive.
  const kubestrap = (args: string[]) => runAsync(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 600_000 });
  const specText = () => `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: offline
spec:
  kubernetes:
    version: ${VERSION}
  machines:
    provider: existing
    network: 10.214.0.0/24
    ssh:
      user: kube
    nodes:
      - name: cp
        role: control-plane
        ip: 10.214.0.10
        storage: false
      - name: w1
        role: worker
        ip: 10.214.0.11
        disks:
          - device: /dev/vdb
  storage:
    rook:
      enabled: true
      manifestBase: ${JSON.stringify(sources.rookUrl)}
${sources.packagesYaml}`;

  beforeAll(async () => {
    mirror = await AptMirror.start('127.0.0.1', VERSION);
    work = mkdtempSync(join(tmpdir(), 'bundle-'));
    sources = await startBundleSources(mirror, work, VERSION);
    expectedImages = sources.images;
    writeFileSync(join(work, 'cluster.yaml'), specText());
    bundlePath = join(work, 'offline.kubestrap.tar');
  }, 900_000);

  afterAll(async () => {
    await sources?.stop();
    await mirror?.stop();
  });

  const members = tarMembers;
  const dataOffset = tarDataOffset;

  it('builds a bundle with the exact packages, their dependencies, an apt index and Rook manifests', { timeout: 600_000 }, async () => {
    const result = await kubestrap(['bundle', '-f', 'cluster.yaml', '-o', bundlePath, '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as { packages: string[]; hostRequires: { name: string }[] };
    expect(summary.packages).toEqual(expect.arrayContaining(['kubeadm=1.34.2-1.1', 'kubelet=1.34.2-1.1', 'kubectl=1.34.2-1.1', 'cri-tools=1.34.0-1.1', 'kubernetes-cni=1.7.1-1.1']));
    expect(summary.packages.some((p) => p.startsWith('containerd='))).toBe(true);
    expect(summary.packages.some((p) => p.startsWith('runc='))).toBe(true);
    // The test mirror carries only what the base root lacks: the rest is the hosts' own.
    expect(summary.hostRequires.map((r) => r.name)).toContain('libc6');
  });

  it('lists every member with its size and sha256, each equal to what the sources published', async () => {
    const all = await members(bundlePath);
    expect(all[0]!.name).toBe('bundle.json');
    expect(all.at(-1)!.name).toBe('bundle.json.sha256');
    manifest = JSON.parse(all[0]!.data.toString('utf8')) as BundleManifest;
    expect(all.at(-1)!.data.toString()).toBe(`${createHash('sha256').update(all[0]!.data).digest('hex')}  bundle.json\n`);
    expect(manifest).toMatchObject({ format: 1, cluster: 'offline', kubernetesVersion: VERSION, os: { family: 'debian', architecture: 'amd64' } });
    expect(all.slice(1, -1).map((m) => m.name)).toEqual(manifest.files.map((f) => f.path));
    for (const m of all.slice(1, -1)) {
      const entry = manifest.files.find((f) => f.path === m.name)!;
      expect(m.data.length).toBe(entry.size);
      expect(createHash('sha256').update(m.data).digest('hex')).toBe(entry.sha256);
    }
    // The .debs are byte for byte the mirror's.
    const kubeadm = all.find((m) => m.name === 'debs/kubeadm_1.34.2-1.1_amd64.deb')!;
    expect(kubeadm.data.equals(readFileSync(join(mirror.dir, 'www/core:/stable:/v1.34/deb/kubeadm_1.34.2-1.1_amd64.deb')))).toBe(true);
    const debianDebs = readdirSync(join(mirror.dir, 'www/debian')).filter((f) => f.endsWith('.deb'));
    const runc = debianDebs.find((f) => f.startsWith('runc_'))!;
    expect(all.find((m) => m.name === `debs/${runc}`)!.data.equals(readFileSync(join(mirror.dir, 'www/debian', runc)))).toBe(true);
    // The apt index names every bundled .deb, relative to itself.
    const index = all.find((m) => m.name === 'debs/Packages')!.data.toString();
    expect([...index.matchAll(/^Filename: (.*)$/gm)].map((m) => m[1]).sort()).toEqual(manifest.files.filter((f) => f.kind === 'deb').map((f) => `./${f.path.slice('debs/'.length)}`).sort());
    expect(all.find((m) => m.name === 'manifests/rook-v1.20.6/operator.yaml')!.data.equals(readFileSync(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6/operator.yaml')))).toBe(true);
    expect(all.find((m) => m.name === 'binaries/kubeadm')!.data.equals(readFileSync(join(REPO_ROOT, 'test/doubles/kubeadm')))).toBe(true);
  });

  it('carries every image the cluster runs, under its own name, with the digest the registry gave', async () => {
    expect(manifest.images.map((i) => i.reference)).toEqual(expectedImages);
    const all = await members(bundlePath);
    for (const image of manifest.images) {
      const digest = run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${sources.registry}/${image.reference}`]).stdout.trim();
      expect(image.digest).toBe(digest);
      // A docker-archive that names the image as the kubelet will ask for it.
      const archive = join(work, 'image.tar');
      writeFileSync(archive, all.find((m) => m.name === image.path)!.data);
      const tags = JSON.parse(run('tar', ['-xOf', archive, 'manifest.json']).stdout) as { RepoTags: string[] }[];
      expect(tags[0]!.RepoTags).toEqual([image.reference.replace(/^docker\.io\//, 'docker.io/')]);
    }
  });

  it('makes the same archive, byte for byte, from the same sources', { timeout: 600_000 }, async () => {
    const again = join(work, 'again.tar');
    expect((await kubestrap(['bundle', '-f', 'cluster.yaml', '-o', again])).status).toBe(0);
    expect(readFileSync(again).equals(readFileSync(bundlePath))).toBe(true);
  });

  it('bundle verify accepts the bundle', async () => {
    const result = await kubestrap(['bundle', 'verify', bundlePath]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`ok — ${manifest.files.length} files, .* MiB, every size and sha256 as bundle.json lists them; Kubernetes ${VERSION} for cluster offline`));
  });

  it('draws a progress bar in place on a terminal, and none when output is not one', async () => {
    const { CI: _ci, ...env } = process.env;
    // util-linux script(1) gives the command a pseudo-terminal, as a user's shell would.
    const command = [process.execPath, CLI, 'bundle', 'verify', bundlePath].map((a) => `'${a}'`).join(' ');
    const onTty = await runAsync('script', ['-qec', command, '/dev/null'], { cwd: work, env: { ...env, NO_COLOR: '1' } });
    expect(onTty.status).toBe(0);
    expect(onTty.stdout).toMatch(/\r\x1b\[K\[[#.]{30}\] \d+\.\d\/\d+\.\d MiB verify (debs|images|binaries|manifests)\//);
    // The bar is wiped before the verdict, which stands on a clean line.
    expect(onTty.stdout).toMatch(/\r\x1b\[K[^\r]*: ok — /);
    const piped = await kubestrap(['bundle', 'verify', bundlePath]);
    expect(piped.stderr).not.toContain('\r');
  });

  const damaged = (name: string, change: (archive: Buffer) => Buffer): string => {
    const path = join(work, name);
    writeFileSync(path, change(Buffer.from(readFileSync(bundlePath))));
    return path;
  };

  it('rejects a flipped byte, naming the member', async () => {
    const path = damaged('flipped.tar', (a) => {
      const at = dataOffset(a, 'debs/kubeadm_1.34.2-1.1_amd64.deb') + 1000;
      a[at] = a[at]! ^ 0x01;
      return a;
    });
    const result = await kubestrap(['bundle', 'verify', path]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/debs\/kubeadm_1\.34\.2-1\.1_amd64\.deb is damaged: sha256 [0-9a-f]{64}, bundle\.json says [0-9a-f]{64}/);
  });

  it('rejects a truncated archive', async () => {
    const path = damaged('truncated.tar', (a) => a.subarray(0, Math.floor(a.length * 0.6)));
    const result = await kubestrap(['bundle', 'verify', path]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/truncated/);
  });

  const without = async (name: string, drop: (member: string) => boolean): Promise<string> => {
    const path = join(work, name);
    writeFileSync(path, await tarWithout(bundlePath, drop));
    return path;
  };

  it('rejects an archive that lacks a listed package', async () => {
    const result = await kubestrap(['bundle', 'verify', await without('missing-deb.tar', (m) => m.startsWith('debs/runc_'))]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/debs\/runc_[^ ]+ is listed in bundle\.json but missing from the archive/);
  });

  it('rejects an archive that lacks an image', async () => {
    const result = await kubestrap(['bundle', 'verify', await without('missing-image.tar', (m) => m === 'images/registry.k8s.io_etcd_3.6.4-0.tar')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/images\/registry\.k8s\.io_etcd_3\.6\.4-0\.tar is listed in bundle\.json but missing from the archive/);
  });

  it('rejects an altered bundle.json by its seal', async () => {
    const path = damaged('altered.tar', (a) => {
      const at = dataOffset(a, 'bundle.json');
      const text = a.subarray(at, at + 4096).toString('latin1');
      const i = text.indexOf('"cluster": "offline"') + '"cluster": "'.length;
      a[at + i] = 'O'.charCodeAt(0);
      return a;
    });
    const result = await kubestrap(['bundle', 'verify', path]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bundle\.json does not match its seal/);
  });

  it('rejects a member that is a link, not a plain file', async () => {
    const all = await members(bundlePath);
    const pack = tar.pack();
    pack.entry({ name: all[0]!.name, mtime: new Date(0) }, all[0]!.data);
    pack.entry({ name: all[1]!.name, type: 'symlink', linkname: '/etc/shadow', mtime: new Date(0) });
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const path = join(work, 'link.tar');
    writeFileSync(path, Buffer.concat(chunks));
    const result = await kubestrap(['bundle', 'verify', path]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${all[1]!.name} is a symlink, not a plain file`);
  });

  it('is a plain tar that standard tools read', () => {
    const listed = run('tar', ['-tf', bundlePath]);
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n').filter(Boolean)).toEqual(['bundle.json', ...manifest.files.map((f) => f.path), 'bundle.json.sha256']);
    expect(statSync(bundlePath).size % 512).toBe(0);
  });
});
