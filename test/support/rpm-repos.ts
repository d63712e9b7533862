// Three rpm repositories the rpm bundle tests serve themselves, shaped like the real ones
// a RHEL-like site bundles from (x86_64 and aarch64 packages side by side), built with
// the real tools (rpmbuild, createrepo_c, gpg, rpmsign):
//  - pkgs.k8s.io's layout (BASE/v1.34/rpm/): kubelet/kubeadm/kubectl wrapping the test
//    doubles, two kubelet releases, cri-tools, kubernetes-cni; repomd.xml signed, its
//    key published beside it as repodata/repomd.xml.key;
//  - Docker CE's: containerd.io 1.7 and 1.6; repomd.xml signed;
//  - an OS release's BaseOS: comps group `core` (glibc, bash), the packages kubelet and
//    containerd.io need, two releases of one library, keepalived and haproxy (AppStream's
//    on a real EL9); metadata unsigned, every package signed (as RHEL's and AlmaLinux's
//    own repositories do).
// The .rpms are test packages (tiny scripts), named as the real ones so the resolver
// meets the real names; their dependencies copy the real packages' shapes (sonames,
// file dependencies, epochs, a boolean dependency, rpmlib()).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { APISERVER_DOUBLE_UNIT } from './api-double.js';
import { REPO_ROOT } from './fixtures.js';
import { kubeadmFieldList } from './kubeadm-fields.js';
import { POD_BUSYBOX } from './pod-busybox.js';
import { stopGpgAgents } from './gpg-agent.js';
import { serveDirectory, type StaticServer } from './static-server.js';

interface TestRpm {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  readonly epoch?: number;
  /** Default: built for x86_64 and aarch64 both, as multi-architecture repositories are. */
  readonly arch?: 'noarch';
  readonly requires?: readonly string[];
  readonly provides?: readonly string[];
  /** Installed path → content. */
  readonly files?: Readonly<Record<string, string | Buffer>>;
}

const sh = (cmd: string, args: readonly string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }).toString();

/** `arch`: the target of a per-architecture package (rpmbuild --target), or noarch. */
function buildRpm(pkg: TestRpm, top: string, arch: 'x86_64' | 'aarch64' | 'noarch'): string {
  const files = pkg.files ?? { [`/usr/share/doc/${pkg.name}/README`]: `${pkg.name} (kubestrap test package)\n` };
  const install = Object.entries(files)
    .map(
      ([path], i) =>
        `mkdir -p %{buildroot}$(dirname ${path})\ninstall -m 0755 %{_sourcedir}/${pkg.name}-${i} %{buildroot}${path}`,
    )
    .join('\n');
  mkdirSync(join(top, 'SOURCES'), { recursive: true });
  Object.values(files).forEach((content, i) => writeFileSync(join(top, 'SOURCES', `${pkg.name}-${i}`), content));
  const spec = [
    `Name: ${pkg.name}`,
    `Version: ${pkg.version}`,
    `Release: ${pkg.release}`,
    ...(pkg.epoch ? [`Epoch: ${pkg.epoch}`] : []),
    'Summary: kubestrap test package',
    'License: Apache-2.0',
    ...(arch === 'noarch' ? ['BuildArch: noarch'] : []),
    ...(pkg.requires ?? []).map((r) => `Requires: ${r}`),
    ...(pkg.provides ?? []).map((p) => `Provides: ${p}`),
    // The test packages carry scripts, not ELF files: nothing for rpm to find on its own.
    'AutoReqProv: no',
    '%description',
    'A package for the tests of kubestrap; named as the real one.',
    '%install',
    install,
    '%files',
    ...Object.keys(files),
  ].join('\n');
  const specFile = join(top, `${pkg.name}-${pkg.version}-${pkg.release}.spec`);
  writeFileSync(specFile, `${spec}\n`);
  sh(
    'rpmbuild',
    [
      '-bb',
      ...(arch === 'noarch' ? [] : ['--target', arch]),
      '--define',
      `_topdir ${top}`,
      '--define',
      '_buildhost kubestrap-test',
      '--define',
      'source_date_epoch_from_changelog 0',
      specFile,
    ],
    { SOURCE_DATE_EPOCH: '1700000000' },
  );
  return join(top, 'RPMS', arch, `${pkg.name}-${pkg.version}-${pkg.release}.${arch}.rpm`);
}

const COMPS = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>core</id>
    <name>Core</name>
    <description>Smallest possible installation</description>
    <default>false</default>
    <uservisible>false</uservisible>
    <packagelist>
      <packagereq type="mandatory">bash</packagereq>
      <packagereq type="default">glibc</packagereq>
      <packagereq type="optional">socat</packagereq>
    </packagelist>
  </group>
  <group>
    <id>network-tools</id>
    <name>Network tools</name>
    <packagelist>
      <packagereq type="mandatory">ethtool</packagereq>
    </packagelist>
  </group>
</comps>
`;

const script = (what: string) => `#!/bin/sh\necho ${what}\n`;
const double = (name: string, version = '') =>
  readFileSync(join(REPO_ROOT, 'test/doubles', name), 'utf8').replaceAll('@VERSION@', version);

export const K8S_RPMS = (version: string): TestRpm[] => [
  {
    name: 'kubelet',
    version,
    release: '150500.1.1',
    requires: [
      'conntrack',
      'ethtool',
      'socat',
      '(iptables-nft or iptables-legacy)',
      'kubernetes-cni >= 1.2.0',
      'libc.so.6()(64bit)',
    ],
    files: {
      '/usr/bin/kubelet': double('kubelet', version),
      '/usr/libexec/kubelet-double/api-call': double('api-call', version),
      '/usr/libexec/kubelet-double/busybox': readFileSync(POD_BUSYBOX),
      '/usr/libexec/kubelet-double/coredns-double': double('coredns-double', version),
      '/usr/libexec/kubelet-double/weave-double': double('weave-double', version),
    },
  },
  // An older release of the same minor: the resolver must take the spec's exact version.
  {
    name: 'kubelet',
    version: version.replace(/\.\d+$/, '.1'),
    release: '150500.1.1',
    requires: ['conntrack'],
    files: { '/usr/bin/kubelet': double('kubelet', version) },
  },
  {
    name: 'kubeadm',
    version,
    release: '150500.1.1',
    requires: ['cri-tools >= 1.30.0'],
    files: {
      '/usr/bin/kubeadm': double('kubeadm', version),
      '/usr/libexec/kubeadm-double/api-call': double('api-call', version),
      '/usr/lib/kubestrap-doubles/apiserver': double('apiserver-double', version),
      '/usr/lib/kubestrap-doubles/kubeadm-fields': kubeadmFieldList(),
      '/usr/lib/systemd/system/kubestrap-apiserver-double.service': APISERVER_DOUBLE_UNIT,
    },
  },
  {
    name: 'kubectl',
    version,
    release: '150500.1.1',
    files: {
      '/usr/bin/kubectl': double('kubectl', version),
      '/usr/libexec/kubectl-double/api-call': double('api-call', version),
    },
  },
  { name: 'cri-tools', version: '1.34.0', release: '150500.1.1', files: { '/usr/bin/crictl': script('crictl') } },
  {
    name: 'kubernetes-cni',
    version: '1.7.1',
    release: '150500.1.1',
    files: { '/opt/cni/bin/portmap': script('portmap') },
  },
];

export const DOCKER_RPMS: TestRpm[] = [
  {
    name: 'containerd.io',
    version: '1.7.27',
    release: '3.1.el9',
    requires: ['container-selinux >= 2:2.74', 'libseccomp', '/bin/sh'],
    provides: ['runc'],
    files: { '/usr/bin/containerd': script('containerd') },
  },
  {
    name: 'containerd.io',
    version: '1.6.33',
    release: '3.1.el9',
    requires: ['container-selinux >= 2:2.74', 'libseccomp'],
    provides: ['runc'],
    files: { '/usr/bin/containerd': script('containerd') },
  },
];

export const OS_RPMS: TestRpm[] = [
  {
    name: 'glibc',
    version: '2.34',
    release: '100.el9',
    provides: ['libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)'],
  },
  {
    name: 'bash',
    version: '5.1.8',
    release: '9.el9',
    requires: ['libc.so.6()(64bit)'],
    files: { '/usr/bin/bash': script('bash'), '/bin/sh': script('sh') },
  },
  {
    name: 'conntrack-tools',
    version: '1.4.7',
    release: '2.el9',
    requires: ['libnetfilter_conntrack >= 1.0.9', 'libc.so.6(GLIBC_2.34)(64bit)'],
    provides: ['conntrack'],
    files: { '/usr/sbin/conntrack': script('conntrack') },
  },
  { name: 'libnetfilter_conntrack', version: '1.0.8', release: '1.el9' },
  { name: 'libnetfilter_conntrack', version: '1.0.9', release: '1.el9' },
  {
    name: 'iptables-nft',
    version: '1.8.10',
    release: '4.el9',
    provides: ['iptables'],
    files: { '/usr/sbin/iptables-nft': script('iptables') },
  },
  { name: 'iptables-legacy', version: '1.8.10', release: '4.el9', provides: ['iptables'] },
  { name: 'ethtool', version: '6.2', release: '1.el9', epoch: 2 },
  { name: 'socat', version: '1.7.4.1', release: '5.el9' },
  { name: 'container-selinux', version: '2.229.0', release: '1.el9', epoch: 3, arch: 'noarch', requires: ['/bin/sh'] },
  { name: 'libseccomp', version: '2.5.2', release: '2.el9', requires: ['libc.so.6()(64bit)'] },
  // The managed endpoint's (AppStream's on EL9; here beside the rest): keepalived needs a
  // library a minimal install lacks, haproxy only what it has.
  {
    name: 'keepalived',
    version: '2.2.8',
    release: '4.el9',
    requires: ['libnl-3.so.200()(64bit)', 'libc.so.6()(64bit)'],
    files: { '/usr/sbin/keepalived': script('keepalived') },
  },
  { name: 'libnl3', version: '3.9.0', release: '1.el9', provides: ['libnl-3.so.200()(64bit)'] },
  {
    name: 'haproxy',
    version: '2.8.14',
    release: '1.el9',
    requires: ['/bin/sh', 'libc.so.6()(64bit)'],
    files: { '/usr/sbin/haproxy': script('haproxy') },
  },
];

export interface RpmRepos {
  /** pkgs.k8s.io-shaped base: BASE/v1.X/rpm/. */
  readonly kubernetesRepository: string;
  readonly docker: { readonly url: string; readonly key: string; readonly dir: string };
  readonly os: { readonly url: string; readonly key: string; readonly dir: string };
  /** A key that signed none of them. */
  readonly strangerKey: string;
  readonly server: StaticServer;
  stop(): Promise<void>;
}

function newKey(home: string, name: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  sh('gpg', [
    '--homedir',
    home,
    '--batch',
    '--passphrase',
    '',
    '--quick-gen-key',
    `${name} <${name}@kubestrap.invalid>`,
    'rsa2048',
    'sign',
    'never',
  ]);
  const key = join(home, 'public.asc');
  sh('gpg', ['--homedir', home, '--batch', '--yes', '--armor', '--export', '-o', key]);
  return key;
}

function makeRepo(dir: string, rpms: readonly string[], options: { comps?: string; signMetadataWith?: string }): void {
  mkdirSync(dir, { recursive: true });
  for (const rpm of rpms) copyFileSync(rpm, join(dir, rpm.replace(/^.*\//, '')));
  const args = ['--quiet', '--no-database', '--general-compress-type', 'gz'];
  if (options.comps) {
    writeFileSync(join(dir, '..', 'comps.xml'), options.comps);
    args.push('--groupfile', join(dir, '..', 'comps.xml'));
  }
  sh('createrepo_c', [...args, dir]);
  if (options.signMetadataWith) {
    sh('gpg', [
      '--homedir',
      options.signMetadataWith,
      '--batch',
      '--yes',
      '--armor',
      '--detach-sign',
      '-o',
      join(dir, 'repodata/repomd.xml.asc'),
      join(dir, 'repodata/repomd.xml'),
    ]);
  }
}

export async function startRpmRepos(work: string, version: string): Promise<RpmRepos> {
  const www = join(work, 'rpm-www');
  const keys = join(work, 'rpm-keys');
  const homes = ['k8s', 'docker', 'os', 'stranger'].map((name) => join(keys, name));
  try {
    return await serveRpmRepos(work, version, www, keys);
  } finally {
    stopGpgAgents(...homes);
  }
}

async function serveRpmRepos(work: string, version: string, www: string, keys: string): Promise<RpmRepos> {
  const k8sKey = newKey(join(keys, 'k8s'), 'k8s');
  const dockerKey = newKey(join(keys, 'docker'), 'docker');
  const osKey = newKey(join(keys, 'os'), 'os');
  const strangerKey = newKey(join(keys, 'stranger'), 'stranger');
  const top = join(work, 'rpmbuild');
  const build = (list: readonly TestRpm[]) =>
    list.flatMap((p) =>
      p.arch === 'noarch' ? [buildRpm(p, top, 'noarch')] : [buildRpm(p, top, 'x86_64'), buildRpm(p, top, 'aarch64')],
    );

  const channel = `v${version.split('.').slice(0, 2).join('.')}`;
  const k8sDir = join(www, 'k8s', channel, 'rpm');
  makeRepo(k8sDir, build(K8S_RPMS(version)), { signMetadataWith: join(keys, 'k8s') });
  copyFileSync(k8sKey, join(k8sDir, 'repodata/repomd.xml.key'));
  const dockerDir = join(www, 'docker', 'stable');
  makeRepo(dockerDir, build(DOCKER_RPMS), { signMetadataWith: join(keys, 'docker') });
  // The OS signs its packages instead of its metadata.
  const osRpms = build(OS_RPMS);
  sh('rpmsign', [
    '--define',
    '__gpg /usr/bin/gpg',
    '--define',
    `_gpg_path ${join(keys, 'os')}`,
    '--define',
    '_gpg_name os <os@kubestrap.invalid>',
    '--addsign',
    ...osRpms,
  ]);
  const osDir = join(www, 'os', 'BaseOS');
  makeRepo(osDir, osRpms, { comps: COMPS });

  const server = await serveDirectory(www);
  return {
    kubernetesRepository: `${server.url}/k8s`,
    docker: { url: `${server.url}/docker/stable`, key: dockerKey, dir: dockerDir },
    os: { url: `${server.url}/os/BaseOS`, key: osKey, dir: osDir },
    strangerKey,
    server,
    stop: () => server.close(),
  };
}

/** The .rpm files of a repository directory. */
export const rpmFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.rpm'));
