// The offline bundle's parts that need no served sources: Debian's version order
// (checked against dpkg where installed), the dependency closure, what a bundle leaves to
// the hosts, the command's input checks and resumed downloads. Building real bundles
// from a signed mirror is in bundle-build.test.ts (hosts tier).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveClosure } from '../bundle/deb-closure.js';
import { hostRequirementsMissing } from '../bundle/host-requirements.js';
import type { DebPackage } from '../bundle/deb-index.js';
import { compareVersions, parseRelations } from '../bundle/debian-version.js';
import { downloadFile } from '../base/download.js';
import { exportImage } from '../bundle/images.js';
import { bundleArchitectureVerdict, bundleSpaceVerdict } from '../provisioners/preflight/bundle-checks.js';
import { REPO_ROOT } from './support/fixtures.js';
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

describe('dependency closure', () => {
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
