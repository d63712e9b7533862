// rpm bundles for RHEL-like hosts, the parts that need no served repositories: rpm's
// version order (checked against rpm itself where installed), dependency relations, the
// closure and the host check. Building and installing real rpm bundles is in
// bundle-rpm-build.test.ts (hosts tier).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledHostPackages } from '../bundle/build.js';
import { rpmRequirementsMissing } from '../bundle/host-requirements.js';
import { resolveRpmClosure } from '../bundle/rpm-closure.js';
import type { RpmIndex, RpmPackage } from '../bundle/rpm-index.js';
import { parseRpmRelation } from '../bundle/rpm-relation.js';
import { compareEvr, parseEvr, rpmvercmp } from '../bundle/rpm-version.js';
import { parseRpmProvides } from '../provisioners/os-packages.js';
import { ENDPOINT_PACKAGES } from '../spec/host-packages.js';
import { bundleModel } from './support/bundle-models.js';
import { REPO_ROOT } from './support/fixtures.js';
import { missingTools, run } from './support/tools.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');

const PAIRS: [string, string][] = [
  ['1.0', '1.0'],
  ['1.0', '2.0'],
  ['2.0.1', '2.0'],
  ['2.0.1a', '2.0.1'],
  ['1.0a', '1.0'],
  ['5.5p1', '5.5p10'],
  ['10b2', '10a1'],
  ['1.0~rc1', '1.0'],
  ['1.0~rc1', '1.0~rc2'],
  ['1.0^', '1.0'],
  ['1.0^git1', '1.0.1'],
  ['1.0^git1', '1.0^git2'],
  ['1.0', '1.0.0'],
  ['xyz', 'xyz.1'],
  ['1.010', '1.9'],
  ['001', '1'],
  ['a', '1'],
  ['1_0', '1.0'],
  ['2.34', '2.34.0'],
  ['150500.1.1', '150500.1.10'],
  ['1.7.27', '1.7.3'],
  ['6.0.4+really5.18', '6.0.4'],
  ['1.0~', '1.0~~'],
];

describe('rpm version order', () => {
  it('gives each pair the order rpm itself gives', () => {
    const rpmAvailable = !missingTools('rpm');
    for (const [a, b] of PAIRS) {
      const ours = rpmvercmp(a, b);
      expect(rpmvercmp(b, a) + ours).toBe(0);
      if (rpmAvailable) {
        const theirs = Number(
          execFileSync('rpm', ['--eval', `%{lua: print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}))}`])
            .toString()
            .trim(),
        );
        expect({ a, b, order: ours }).toEqual({ a, b, order: theirs });
      }
    }
    // Without rpm on the machine, the table still pins the known answers.
    expect(PAIRS.map(([a, b]) => rpmvercmp(a, b))).toEqual([
      0, -1, 1, 1, 1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, 0, -1, 0, -1, -1, 1, 1, 1,
    ]);
  });

  it('compares epochs first and releases only when both sides give one', () => {
    expect(compareEvr(parseEvr('2:1.0-1'), parseEvr('3.0-1'))).toBe(1);
    expect(compareEvr(parseEvr('1.34.2-150500.1.1'), parseEvr('1.34.2'))).toBe(0);
    expect(compareEvr(parseEvr('1.34.2-150500.1.1'), parseEvr('1.34.2-150500.1.2'))).toBe(-1);
  });

  it('reads plain, versioned and boolean dependencies, and refuses the boolean forms it cannot decide', () => {
    expect(parseRpmRelation('glibc >= 2.34')).toEqual([
      { name: 'glibc', flag: 'GE', evr: { epoch: 0, version: '2.34' } },
    ]);
    expect(parseRpmRelation('(iptables-nft or iptables-legacy)').map((d) => d.name)).toEqual([
      'iptables-nft',
      'iptables-legacy',
    ]);
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
const index = (packages: RpmPackage[], coreGroup: string[] = []): RpmIndex => ({
  repository: { url: 'http://repo', key: Buffer.alloc(0) },
  packages,
  coreGroup,
  metadataSigned: true,
  signedFiles: [],
});

describe('rpm dependency closure', () => {
  it('stops at what a minimal install has, and records it and what nobody offers for the host check', () => {
    const closure = resolveRpmClosure(
      [
        index(
          [
            pkg('app', '1', {
              requires: [
                { name: 'lib', flag: 'GE', evr: { epoch: 0, version: '2' } },
                { name: '/bin/sh' },
                { name: 'ghost' },
                { name: 'libc.so.6()(64bit)' },
              ],
            }),
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
    expect(() =>
      resolveRpmClosure(
        [
          index([
            pkg('a', '1', { requires: [{ name: 'lib' }] }),
            pkg('b', '1', { requires: pinned }),
            pkg('lib', '1'),
            pkg('lib', '2'),
          ]),
        ],
        [{ name: 'a' }, { name: 'b' }],
      ),
    ).toThrow(/b-1-1.x86_64 requires lib = 1-1, but lib-2-1.x86_64 is what the rest needs/);
  });

  it('takes a wanted name no package has by what provides it, as dnf install does, unless a chosen one does', () => {
    const provides = (name: string) => ({ provides: [{ name }, { name: 'iptables' }] });
    const repo = [
      pkg('iptables-legacy', '1.8.10', provides('iptables-legacy')),
      pkg('iptables-nft', '1.8.10', provides('iptables-nft')),
      pkg('kubelet', '1.32.1', { requires: [{ name: '(iptables-nft or iptables-legacy)' }] }),
    ];
    const names = (wanted: string[]) =>
      resolveRpmClosure(
        [index(repo)],
        wanted.map((name) => ({ name })),
      ).packages.map((p) => p.name);
    // kubelet's choice meets it: no second provider comes along.
    expect(names(['iptables', 'kubelet'])).toEqual(['iptables-nft', 'kubelet']);
    expect(names(['iptables'])).toEqual(['iptables-legacy']);
    expect(() => names(['nftables'])).toThrow('nftables is not in the repositories (no package is or provides it)');
  });

  it('checks host requirements against the Provides of installed packages, versions included', () => {
    const provided = parseRpmProvides('@@ glibc\nglibc = 2.34-100.el9\n@@ /bin/sh\nbash = 5.1.8-9.el9\n@@ libfoo\n');
    const need = (relation: string) => ({ name: relation.split(' ')[0]!, relation, neededBy: 'x' });
    expect(
      rpmRequirementsMissing(
        [need('glibc >= 2.30'), need('/bin/sh'), need('glibc >= 2.35'), need('libfoo'), need('(libfoo or glibc)')],
        provided,
      ).map((r) => r.relation),
    ).toEqual(['glibc >= 2.35', 'libfoo']);
  });
});

describe('the managed endpoint in an rpm bundle', () => {
  const so = (name: string) => [{ name }];
  // EL9's shapes: keepalived needs libnl3 (not in a minimal install), haproxy only what core has.
  const repo = index(
    [
      ...['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'kubernetes-cni', 'containerd.io'].map((n) => pkg(n, '1')),
      pkg('keepalived', '2.2.8', { requires: [{ name: 'libnl-3.so.200()(64bit)' }, { name: 'libc.so.6()(64bit)' }] }),
      pkg('libnl3', '3.9.0', {
        provides: [{ name: 'libnl3' }, { name: 'libnl-3.so.200()(64bit)' }],
        requires: so('libc.so.6()(64bit)'),
      }),
      pkg('haproxy', '2.8.14', { requires: [{ name: 'libc.so.6()(64bit)' }, { name: '/bin/sh' }] }),
      pkg('glibc', '2.34', { provides: [{ name: 'glibc' }, { name: 'libc.so.6()(64bit)' }] }),
      pkg('bash', '5', { files: ['/bin/sh'], requires: so('libc.so.6()(64bit)') }),
    ],
    ['bash'],
  );
  const closure = (managed: boolean) =>
    resolveRpmClosure(
      [repo],
      bundledHostPackages(bundleModel('rhel', managed)).map((name) => ({ name })),
    );

  it('carries keepalived and haproxy with what a minimal install lacks for a managed endpoint, none without', () => {
    const managed = closure(true);
    const names = managed.packages.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining([...ENDPOINT_PACKAGES.rhel, 'libnl3']));
    expect(names).not.toContain('glibc');
    expect(managed.hostRequires.map((r) => r.relation)).toEqual(['/bin/sh', 'libc.so.6()(64bit)']);
    const plain = closure(false).packages.map((p) => p.name);
    expect(plain).toEqual(['containerd.io', 'cri-tools', 'kubeadm', 'kubectl', 'kubelet', 'kubernetes-cni']);
  });
});

describe('kubestrap bundle for rhel hosts', () => {
  it('without rpmRepositories says which field to add, with exit 2 and nothing fetched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bundle-rpm-spec-'));
    writeFileSync(
      join(dir, 'cluster.yaml'),
      'apiVersion: kubestrap.dev/v1alpha1\n' +
        'kind: Cluster\n' +
        'metadata:\n' +
        '  name: r\n' +
        'spec:\n' +
        '  os:\n' +
        '    family: rhel\n' +
        '  machines:\n' +
        '    provider: existing\n' +
        '    network: 10.216.0.0/24\n' +
        '    nodes:\n' +
        '      - { name: cp, role: control-plane, ip: 10.216.0.10 }\n' +
        '  storage:\n' +
        '    rook:\n' +
        '      enabled: false\n' +
        '  packages:\n' +
        '    kubernetesRepository: http://127.0.0.1:9/k8s\n' +
        '    insecureHttpKey: true\n',
    );
    const result = run(process.execPath, [CLI, 'bundle', '-f', 'cluster.yaml', '-o', 'out.tar'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('cluster.yaml: spec.packages.rpmRepositories is empty');
    expect(result.stderr).toContain('Nothing was done.');
  });
});
