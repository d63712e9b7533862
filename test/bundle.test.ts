// The offline bundle's parts that need no served sources: Debian's version order
// (checked against dpkg where installed), the dependency closure, what a bundle leaves to
// the hosts, the command's input checks and resumed downloads. Building real bundles
// from a signed mirror is in bundle-build.test.ts (hosts tier).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledHostPackages } from '../bundle/build.js';
import { bundleProblems } from '../bundle/coverage.js';
import { resolveClosure } from '../bundle/deb-closure.js';
import { hostRequirementsMissing } from '../bundle/host-requirements.js';
import { urlPath, type DebPackage } from '../bundle/deb-index.js';
import { compareVersions, parseRelations } from '../bundle/debian-version.js';
import { parseRpmRelation } from '../bundle/rpm-relation.js';
import { downloadFile } from '../base/download.js';
import { exportImage } from '../bundle/images.js';
import { bundleArchitectureVerdict, bundleSpaceVerdict } from '../provisioners/preflight/bundle-checks.js';
import { installedQuery, parseInstalled, rpmProvidesQuery } from '../provisioners/os-packages.js';
import { writeBundle } from '../bundle/archive.js';
import { BundleError, verifyBundle } from '../bundle/verify.js';
import { BUNDLE_FORMAT, type BundleManifest } from '../bundle/format.js';
import { ENDPOINT_PACKAGES } from '../spec/host-packages.js';
import { bundleModel } from './support/bundle-models.js';
import { REPO_ROOT } from './support/fixtures.js';
import { tarDataOffset, tarOf, type TarEntry } from './support/tar.js';
import { serveDirectory, type StaticServer } from './support/static-server.js';
import { missingTools, run } from './support/tools.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');

describe('Debian version order', () => {
  // Each pair is checked against dpkg itself where dpkg is installed.
  const pairs: [string, string][] = [
    ['1.0', '1.0'],
    ['1.0', '1.0-1'],
    ['1.0-1', '1.0-2'],
    ['1.0~rc1', '1.0'],
    ['1.0~rc1-1', '1.0~rc2-1'],
    ['1:0.9', '2.0'],
    ['2.0', '1:0.9'],
    ['1.6.20~ds1-1+b1', '1.6.20~ds1-1'],
    ['1.34.2-1.1', '1.34.10-1.1'],
    ['1.34.2-1.1', '1.34.2-1.10'],
    ['2.36-9+deb12u4', '2.36-9+deb12u10'],
    ['1.1.5+ds1-1+deb12u1', '1.1.5+ds1-1'],
    ['1.0a', '1.0'],
    ['1.0a', '1.0+'],
    ['1.0~', '1.0'],
    ['1.0~~', '1.0~'],
    ['0:1.2', '1.2'],
    ['1.2.3', '1.2.3.0'],
    ['10', '9'],
    ['1.002', '1.2'],
    ['1.0-0ubuntu1', '1.0-0ubuntu1.1'],
    ['3.5.15-0', '3.5.15'],
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
      [
        { name: 'runc', operator: '>=', version: '1.0.0~rc2~', text: 'runc (>= 1.0.0~rc2~)' },
        { name: 'crun', text: 'crun' },
      ],
      [{ name: 'python3', text: 'python3:any' }],
      [{ name: 'foo', operator: '<<', version: '2', text: 'foo (<< 2)' }],
    ]);
  });
});

/** A Debian package as the repositories' index describes it; only what a test names differs. */
const pkg = (name: string, version: string, extra: Partial<DebPackage> = {}): DebPackage => ({
  name,
  version,
  architecture: 'amd64',
  priority: 'optional',
  depends: '',
  preDepends: '',
  provides: '',
  url: `http://x/${name}.deb`,
  repositoryPath: `${name}.deb`,
  filename: `${name}_${version}_amd64.deb`,
  size: 1,
  sha256: '0'.repeat(64),
  stanza: `Package: ${name}`,
  ...extra,
});

describe('dependency closure', () => {
  it(
    'takes the exact Kubernetes version, the newest satisfying dependency, ' +
      'and leaves what every host has to the host',
    () => {
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
      expect(closure.packages.map((p) => `${p.name}=${p.version}`)).toEqual([
        'containerd=1.6.20~ds1-1+b1',
        'cri-tools=1.34.0-1.1',
        'kubeadm=1.34.2-1.1',
        'other-helper=1',
        'runc=1.1.5+ds1-1+deb12u1',
      ]);
      expect(closure.hostRequires.map((r) => `${r.relation} for ${r.neededBy}`)).toEqual([
        'libc6 (>= 2.34) for cri-tools 1.34.0-1.1',
        'libseccomp2 (>= 2.5) for containerd 1.6.20~ds1-1+b1',
      ]);
    },
  );

  it('stops when two packages need versions of a third that no one version satisfies', () => {
    const index = [
      pkg('a', '1', { depends: 'lib (<< 2)' }),
      pkg('b', '1', { depends: 'lib (>= 2)' }),
      pkg('lib', '1'),
      pkg('lib', '2'),
    ];
    expect(() => resolveClosure(index, [{ name: 'a' }, { name: 'b' }])).toThrow(
      'b 1 needs lib (>= 2), but lib 1 is what the rest needs',
    );
  });

  it('names the versions on offer when the wanted one is missing', () => {
    expect(() =>
      resolveClosure([pkg('kubeadm', '1.34.1-1.1')], [{ name: 'kubeadm', upstreamVersion: '1.34.2' }]),
    ).toThrow('kubeadm 1.34.2 is not in the repositories (versions offered: 1.34.1-1.1)');
  });
});

describe('the managed endpoint in a bundle', () => {
  // Debian 12's shapes: keepalived and curl pull libraries the base lacks, haproxy adduser (important).
  const index = [
    ...['kubeadm', 'kubelet', 'kubectl'].map((n) => pkg(n, '1.34.2-1.1')),
    pkg('cri-tools', '1.34.0-1.1'),
    pkg('kubernetes-cni', '1.7.1-1.1'),
    pkg('containerd', '1.6.20~ds1-1+b1', { depends: 'runc (>= 1.0.0~rc2~)' }),
    pkg('runc', '1.1.5+ds1-1+deb12u1'),
    pkg('keepalived', '1:2.2.7-1+b2', { depends: 'libc6 (>= 2.34), libnl-3-200 (>= 3.2.7)' }),
    pkg('haproxy', '2.6.12-1+deb12u2', { preDepends: 'adduser', depends: 'libc6 (>= 2.34), libssl3 (>= 3.0.0)' }),
    pkg('curl', '7.88.1-10+deb12u12', { depends: 'libcurl4 (= 7.88.1-10+deb12u12), libc6 (>= 2.34)' }),
    pkg('libcurl4', '7.88.1-10+deb12u12', { depends: 'libssl3 (>= 3.0.0)' }),
    pkg('libnl-3-200', '3.7.0-0.2+b1'),
    pkg('libssl3', '3.0.17-1~deb12u2'),
    pkg('libc6', '2.36-9+deb12u10', { priority: 'required' }),
    pkg('adduser', '3.134', { priority: 'important' }),
  ];
  const closure = (managed: boolean) =>
    resolveClosure(
      index,
      bundledHostPackages(bundleModel('debian', managed)).map((name) => ({ name })),
    );
  const endpointOnly = ['curl', 'haproxy', 'keepalived', 'libcurl4', 'libnl-3-200', 'libssl3'];

  it('carries keepalived, haproxy and curl with what they need for a managed endpoint, none of it without', () => {
    const managed = closure(true);
    expect(managed.packages.map((p) => p.name)).toEqual(
      expect.arrayContaining([...ENDPOINT_PACKAGES.debian, ...endpointOnly]),
    );
    // What every Debian host has is left to the hosts' check, as for the other packages.
    expect(managed.hostRequires.map((r) => r.relation)).toEqual(['adduser', 'libc6 (>= 2.34)']);
    const plain = closure(false);
    expect(plain.packages.map((p) => p.name)).toEqual([
      'containerd',
      'cri-tools',
      'kubeadm',
      'kubectl',
      'kubelet',
      'kubernetes-cni',
      'runc',
    ]);
    expect(plain.hostRequires).toEqual([]);
  });

  const manifest = (family: 'debian' | 'rhel', packages: string[] | undefined): BundleManifest => ({
    format: BUNDLE_FORMAT,
    createdBy: 'test',
    cluster: 'bundled',
    specDigest: '0'.repeat(64),
    kubernetesVersion: '1.34.2',
    os: { family, architecture: 'amd64' },
    files: [],
    images: [],
    ...(packages ? { packages: packages.map((name) => ({ name, version: '1' })) } : {}),
    hostRequires: [],
    aptRepositories: [],
    rpmRepositories: [],
  });
  /** The problems about packages (the test manifests carry no images). */
  const packageProblems = (family: 'debian' | 'rhel', managed: boolean, packages: string[] | undefined) =>
    bundleProblems(bundleModel(family, managed), manifest(family, packages)).filter((p) => !p.includes('image'));

  it.each(['debian', 'rhel'] as const)(
    '%s: install refuses a bundle without them for a managed endpoint, naming what it lacks and the spec field',
    (family) => {
      const base = ['kubeadm', 'kubelet', 'kubectl'];
      expect(packageProblems(family, true, [...base, ...ENDPOINT_PACKAGES[family]])).toEqual([]);
      expect(packageProblems(family, true, [...base, 'keepalived'])).toEqual([
        `the control-plane endpoint is managed (spec.kubernetes.controlPlaneEndpoint.managed: keepalived-haproxy) ` +
          `but the bundle lacks ${ENDPOINT_PACKAGES[family].slice(1).join(', ')}, which the control planes run for it`,
      ]);
      // A bundle that does not list its packages predates them: it carries none.
      expect(packageProblems(family, true, undefined)).toHaveLength(1);
      expect(packageProblems(family, true, undefined)[0]).toContain(`lacks ${ENDPOINT_PACKAGES[family].join(', ')},`);
      // Without a managed endpoint nothing is asked of it.
      expect(packageProblems(family, false, base)).toEqual([]);
      expect(packageProblems(family, false, undefined)).toEqual([]);
    },
  );
});

describe('what a bundle leaves to the hosts', () => {
  const requires = [
    { name: 'libc6', relation: 'libc6 (>= 2.34)', neededBy: 'runc 1.1.5' },
    { name: 'libseccomp2', relation: 'libseccomp2 (>= 2.5) | libseccomp-static', neededBy: 'containerd 1.6.20' },
  ];

  it('is met by installed packages at versions the relations accept, any alternative counting', () => {
    expect(
      hostRequirementsMissing(
        requires,
        new Map([
          ['libc6', '2.36-9+deb12u4'],
          ['libseccomp-static', '1'],
        ]),
      ),
    ).toEqual([]);
  });

  it('names each requirement an installed version does not meet, or nothing installed meets', () => {
    expect(hostRequirementsMissing(requires, new Map([['libc6', '2.31-13']])).map((r) => r.relation)).toEqual([
      'libc6 (>= 2.34)',
      'libseccomp2 (>= 2.5) | libseccomp-static',
    ]);
  });
});

describe('the architecture a bundle is for, on a host', () => {
  it("passes a host whose uname -m is the bundle's architecture, and names the spec field otherwise", () => {
    expect(bundleArchitectureVerdict('x86_64', 'amd64').verdict).toBe('pass');
    expect(bundleArchitectureVerdict('aarch64', 'arm64').verdict).toBe('pass');
    expect(bundleArchitectureVerdict('aarch64', 'amd64')).toEqual({
      name: 'bundle-arch',
      verdict: 'fail',
      detail:
        'the host is aarch64 (arm64), the bundle holds amd64 packages and images ' +
        '— set spec.os.architecture: arm64 and build the bundle again',
    });
  });
});

describe('room for the bundle on a host', () => {
  it('needs twice the bundle (the archive and its unpacked copy), and says how much there is', () => {
    expect(bundleSpaceVerdict(3 * 1024 ** 3, 1024 ** 3).verdict).toBe('pass');
    expect(bundleSpaceVerdict(1.5 * 1024 ** 3, 1024 ** 3)).toEqual({
      name: 'bundle-space',
      verdict: 'fail',
      detail:
        '1.5 GiB free under /var/lib/kubestrap/bundle, ' +
        'the bundle needs 2.0 GiB there (the archive and its unpacked copy) ' +
        '— free space, or give /var/lib/kubestrap its own volume',
    });
  });
});

describe('bundle command input', () => {
  const kubestrap = (args: string[]) =>
    run(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });

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
      await expect(
        exportImage('registry.k8s.io/pause:3.10.1', 'amd64', {}, mkdtempSync(join(tmpdir(), 'no-skopeo-'))),
      ).rejects.toThrow(
        'skopeo is needed to copy container images into the bundle (Debian/Ubuntu: apt-get install skopeo)',
      );
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
    await expect(
      downloadFile(`${server.url}/big.bin`, join(dir, 'out', 'bad.bin'), { sha256: 'a'.repeat(64) }),
    ).rejects.toThrow(/sha256 [0-9a-f]{64}, the source publishes a{64} — a broken mirror/);
    expect(readdirSync(join(dir, 'out'))).not.toContain('bad.bin.part');
  });
});

describe('bundle verify refuses what kubestrap never writes, cleanly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-bundle-'));
  const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
  const deb = Buffer.from('not really a .deb');
  const image = Buffer.from('not really an image');
  const manifest = (patch: (m: BundleManifest) => void = () => undefined): string => {
    const m: BundleManifest = {
      format: BUNDLE_FORMAT,
      createdBy: 'test',
      cluster: 'hostile',
      specDigest: '0'.repeat(64),
      kubernetesVersion: '1.34.2',
      os: { family: 'debian', architecture: 'amd64' },
      files: [
        { path: 'debs/a.deb', size: deb.length, sha256: sha(deb), kind: 'deb' },
        { path: 'images/pause.tar', size: image.length, sha256: sha(image), kind: 'image' },
      ],
      images: [
        { reference: 'registry.k8s.io/pause:3.10.1', digest: `sha256:${'1'.repeat(64)}`, path: 'images/pause.tar' },
      ],
      hostRequires: [],
      aptRepositories: [],
      rpmRepositories: [],
    };
    patch(m);
    return `${JSON.stringify(m, null, 2)}\n`;
  };
  const seal = (text: string): TarEntry => ({ name: 'bundle.json.sha256', data: `${sha(text)}  bundle.json\n` });
  /** bundle.json, its members (as given), the seal. */
  const archive = (text: string, members: TarEntry[]) =>
    tarOf([{ name: 'bundle.json', data: text }, ...members, seal(text)]);
  const wholeMembers = (): TarEntry[] => [
    { name: 'debs/a.deb', data: deb },
    { name: 'images/pause.tar', data: image },
  ];
  const verify = (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const result = run(process.execPath, [CLI, 'bundle', 'verify', path, '--json'], { cwd: REPO_ROOT });
    const lines = result.stdout.split('\n').filter(Boolean);
    return { ...result, path, lines, json: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
  };
  /** In this process (cheaper than the CLI): the BundleError verify refuses it with. */
  const refusal = async (name: string, bytes: Buffer): Promise<BundleError> => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const error = await verifyBundle(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BundleError);
    return error as BundleError;
  };
  /** Exit 2, no stack trace, one JSON line: not ok, the message, the member at fault. */
  const expectRefused = (result: ReturnType<typeof verify>, member: string, message: RegExp) => {
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.status).toBe(2);
    expect(result.lines).toHaveLength(1);
    expect(result.json[0]).toMatchObject({ ok: false, member });
    expect(result.json[0]!.error).toMatch(message);
  };

  it('accepts a whole one: exit 0, one JSON line', async () => {
    const result = verify('whole.tar', await archive(manifest(), wholeMembers()));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.lines).toHaveLength(1);
    expect(result.json[0]).toMatchObject({ ok: true, files: 2, cluster: 'hostile' });
  });

  it('a member twice', async () => {
    const text = manifest();
    const result = verify('twice.tar', await archive(text, [...wholeMembers(), { name: 'debs/a.deb', data: deb }]));
    expectRefused(result, 'debs/a.deb', /debs\/a\.deb appears twice/);
  });

  it('a member bundle.json does not list', async () => {
    const result = verify(
      'unlisted.tar',
      await archive(manifest(), [...wholeMembers(), { name: 'debs/b.deb', data: deb }]),
    );
    expectRefused(result, 'debs/b.deb', /debs\/b\.deb is not listed in bundle\.json/);
  });

  it.each(['../../etc/cron.d/x', '/etc/cron.d/x', 'debs/../../x'])(
    'a member outside the directory: %s',
    async (name) => {
      const result = verify('traversal.tar', await archive(manifest(), [{ name, data: deb }, ...wholeMembers()]));
      expectRefused(result, name, /points outside the directory it is unpacked into/);
    },
  );

  it('a member larger than bundle.json says', async () => {
    const members = wholeMembers();
    members[0] = { name: 'debs/a.deb', data: Buffer.concat([deb, Buffer.from('!')]) };
    const result = verify('size.tar', await archive(manifest(), members));
    expectRefused(
      result,
      'debs/a.deb',
      new RegExp(`debs/a\\.deb is ${deb.length + 1} bytes, bundle\\.json says ${deb.length}`),
    );
  });

  it('bundle.json not first', async () => {
    const text = manifest();
    const bytes = await tarOf([{ name: 'debs/a.deb', data: deb }, { name: 'bundle.json', data: text }, seal(text)]);
    expectRefused(
      verify('late-manifest.tar', bytes),
      'debs/a.deb',
      /the first member is debs\/a\.deb, not bundle\.json/,
    );
  });

  it('a zero block between members, where GNU tar on the host would stop', async () => {
    const whole = await archive(manifest(), wholeMembers());
    const at = tarDataOffset(whole, 'debs/a.deb') + 512;
    const bytes = Buffer.concat([whole.subarray(0, at), Buffer.alloc(512), whole.subarray(at)]);
    // GNU tar ends the archive there (what the host would unpack), with exit 0.
    const listed = run('tar', ['-tf', '-'], { input: bytes.toString('latin1') });
    expect(listed.stdout.split('\n').filter(Boolean)).toEqual(['bundle.json', 'debs/a.deb']);
    expectRefused(
      verify('zero-block.tar', bytes),
      'images/pause.tar',
      /512 bytes before images\/pause\.tar .*zero block/,
    );
  });

  it('an extended (pax) header', async () => {
    const members = wholeMembers();
    members[1] = { ...members[1]!, header: { pax: { comment: 'x' } } };
    const error = await refusal('pax.tar', await archive(manifest(), members));
    expect(error.member).toBe('images/pause.tar');
    expect(error.message).toMatch(/images\/pause\.tar has an extended \(pax\) header/);
  });

  it('a setuid, world-writable member, and one owned by another user', async () => {
    const setuid = wholeMembers();
    setuid[0] = { ...setuid[0]!, header: { mode: 0o4777 } };
    expect((await refusal('setuid.tar', await archive(manifest(), setuid))).message).toMatch(
      /debs\/a\.deb has mode 4777/,
    );
    const owned = wholeMembers();
    owned[1] = { ...owned[1]!, header: { uid: 1234, gid: 1234 } };
    expect((await refusal('owned.tar', await archive(manifest(), owned))).message).toMatch(
      /images\/pause\.tar is owned by 1234:1234/,
    );
  });

  it('an image whose member is not in files', async () => {
    const text = manifest((m) => void (m.files = m.files.filter((f) => f.kind !== 'image')));
    const result = verify('image-unlisted.tar', await archive(text, [{ name: 'debs/a.deb', data: deb }]));
    expectRefused(result, 'bundle.json', /bundle\.json at images\.0\.path: images\/pause\.tar .* is not in files/);
  });

  it.each(['debian', 'rhel'] as const)(
    'a %s host requirement that is an option to dpkg-query or rpm (--eval=...)',
    async (family) => {
      const mark = join(dir, `pwned-${family}`);
      const payload = `--eval=%(touch ${mark})`;
      const text = manifest((m) => {
        m.os.family = family;
        m.hostRequires = [{ name: payload, relation: payload, neededBy: 'x 1' }];
      });
      const result = verify(`eval-${family}.tar`, await archive(text, wholeMembers()));
      expectRefused(result, 'bundle.json', /bundle\.json at hostRequires\.0\.relation: "--eval=%\(touch .*" is not a/);
      expect(existsSync(mark)).toBe(false);
    },
  );

  it('a member path a plain tar header cannot hold (it would need the extended header verify refuses)', async () => {
    const long = `images/${'x'.repeat(97)}.tar`;
    const text = manifest((m) => {
      m.files[1]!.path = long;
      m.images[0]!.path = long;
    });
    expect(long.length - 'images/'.length).toBe(101);
    await expect(writeBundle(join(dir, 'long.tar'), JSON.parse(text) as BundleManifest, new Map())).rejects.toThrow(
      'bundle: bundle.json at files.1.path: too long for a tar header',
    );
  });

  it('a requirement whose name is not one its relation names', async () => {
    const text = manifest((m) => (m.hostRequires = [{ name: '-x', relation: 'libc6 (>= 2.34)', neededBy: 'runc 1' }]));
    expect((await refusal('name.tar', await archive(text, wholeMembers()))).message).toMatch(
      /hostRequires\.0\.name: "-x" is not one of the names in "libc6 \(>= 2\.34\)"/,
    );
  });

  it('a carried package whose name is not a package name', async () => {
    const text = manifest((m) => (m.packages = [{ name: '--eval', version: '1' }]));
    expect((await refusal('package.tar', await archive(text, wholeMembers()))).message).toMatch(/packages\.0\.name/);
  });

  it('accepts the relations the builder writes, and the builder writes no bundle verify would refuse', async () => {
    const requires = {
      debian: [
        'libc6 (>= 2.34)',
        'libseccomp2 (>= 2.5) | libseccomp-static',
        'python3:any',
        'init-system-helpers (>= 1.54~)',
      ],
      rhel: [
        'glibc >= 2.34',
        'libc.so.6(GLIBC_2.34)(64bit)',
        '/bin/sh',
        'config(bash) = 5.1.8-6.el9',
        'container-selinux >= 2:2.74',
        '(iptables-nft or iptables-legacy)',
        'ld-linux-x86-64.so.2()(64bit)',
        'font(:lang=en)',
      ],
    };
    for (const family of ['debian', 'rhel'] as const) {
      const text = manifest((m) => {
        m.os.family = family;
        m.hostRequires = requires[family].map((relation) => ({
          name: (family === 'debian' ? parseRelations(relation)[0]![0]! : parseRpmRelation(relation)[0]!).name,
          relation,
          neededBy: 'x 1',
        }));
      });
      const path = join(dir, `requires-${family}.tar`);
      writeFileSync(path, await archive(text, wholeMembers()));
      expect((await verifyBundle(path)).manifest.hostRequires).toHaveLength(requires[family].length);
    }
    const bad = JSON.parse(manifest((m) => (m.images[0]!.path = 'images/other.tar'))) as BundleManifest;
    await expect(writeBundle(join(dir, 'never.tar'), bad, new Map())).rejects.toThrow(
      'bundle: bundle.json at images.0.path: ' +
        'images/other.tar (the member of registry.k8s.io/pause:3.10.1) is not in files',
    );
    expect(existsSync(join(dir, 'never.tar.part'))).toBe(false);
  });
});

describe("the host probes for a bundle's requirements pass names as operands, never options", () => {
  const dir = mkdtempSync(join(tmpdir(), 'probe-'));
  const rpm = missingTools('rpm');

  it.skipIf(rpm)(`rpm: --eval=%(cmd) as a capability runs nothing${rpm ? ` (skipped: ${rpm})` : ''}`, () => {
    const mark = join(dir, 'pwned-rpm');
    const payload = `--eval=%(touch ${mark})`;
    for (const probe of [rpmProvidesQuery([payload]), installedQuery('rhel', [payload])]) {
      rmSync(mark, { force: true });
      const result = run('sh', ['-c', probe]);
      expect(result.status).toBe(0);
      expect(existsSync(mark)).toBe(false);
    }
    // rpm itself still answers: the payload was asked about as a capability.
    expect(run('sh', ['-c', rpmProvidesQuery([payload])]).stdout).toBe(`@@ ${payload}\n`);
  });

  it('dpkg-query: a name that is an option cannot forge an installed package', () => {
    // Without --, dpkg-query would take this as its output format and print the forged line for bash.
    const payload = '--showformat=libc6 99:9 installed\\n';
    const installed = parseInstalled(run('sh', ['-c', installedQuery('debian', [payload, 'dpkg'])]).stdout);
    expect(installed.has('libc6') && installed.get('libc6') === '99:9').toBe(false);
    expect(installed.get('dpkg')).toMatch(/^\d/);
  });
});

describe('Packages index file names as URLs', () => {
  it('escapes what apt escapes: an epoch kept as %3a by apt-get download, spaces, #', () => {
    expect(urlPath('pool/main/c/conntrack_1%3a1.4.7-1+b2_amd64.deb')).toBe(
      'pool/main/c/conntrack_1%253a1.4.7-1%2Bb2_amd64.deb',
    );
    expect(urlPath('./a b#c.deb')).toBe('./a%20b%23c.deb');
    expect(urlPath('pool/main/k/kubeadm_1.34.2-1.1_amd64.deb')).toBe('pool/main/k/kubeadm_1.34.2-1.1_amd64.deb');
  });
});
