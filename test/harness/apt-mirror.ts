// A package mirror on the test network, as an offline site would have: a flat Debian
// repository with containerd, runc and what they need (real Debian packages, downloaded
// once and cached), and a pkgs.k8s.io-shaped repository (core:/stable:/v1.X/deb/)
// whose kubelet/kubeadm/kubectl/cri-tools/kubernetes-cni packages carry the test
// doubles. Both are signed with a key made per run, and served over HTTP from the
// bridge's address.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENDPOINT_PACKAGES } from '../../spec/host-packages.js';
import { APISERVER_DOUBLE_UNIT } from '../support/api-double.js';
import { kubeadmFieldList } from '../support/kubeadm-fields.js';
import { POD_BUSYBOX } from '../support/pod-busybox.js';
import { stopGpgAgents } from '../support/gpg-agent.js';
import { serveDirectory, type StaticServer } from '../support/static-server.js';
import { baseRoot, cachedBuild, CACHE_DIR, type Harness, type TestHost } from './hosts.js';

// containerd, and what kubestrap installs for kubeadm's preflight beyond the base root
// (iptables, ethtool, conntrack: spec/host-packages.ts PREFLIGHT_TOOLS).
const DISTRO_PACKAGES = ['containerd', 'iptables', 'ethtool', 'conntrack'];
// Served too, never preinstalled: the managed endpoint's packages (ENDPOINT_PACKAGES), which
// the packages phase installs on control planes for real, and which would otherwise start
// haproxy on every test host.
const SERVED_ONLY_PACKAGES = ENDPOINT_PACKAGES.debian;
const DOUBLES = fileURLToPath(new URL('../doubles/', import.meta.url));
const CRI_TOOLS_VERSION = '1.34.0';
const CNI_VERSION = '1.7.1';

function sh(command: string, args: string[], options: { cwd?: string; input?: string } = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...options });
}

/** These packages (default: containerd and its kin) and what they need beyond the base root, downloaded once. */
export async function distroDebs(packages: readonly string[] = DISTRO_PACKAGES): Promise<string> {
  const root = await baseRoot();
  const key = createHash('sha256').update(root).update(packages.join(',')).digest('hex').slice(0, 12);
  const dir = join(CACHE_DIR, `debs-${key}`);
  if (existsSync(dir)) return dir;
  const work = mkdtempSync('/tmp/kubestrap-debs-');
  const merged = join(work, 'merged');
  for (const sub of ['upper', 'work', 'merged']) mkdirSync(join(work, sub));
  sh('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${root},upperdir=${work}/upper,workdir=${work}/work`,
    merged,
  ]);
  try {
    copyFileSync('/etc/resolv.conf', join(merged, 'etc/resolv.conf'));
    sh('chroot', [merged, 'apt-get', 'update', '-qq']);
    sh('chroot', [
      merged,
      'apt-get',
      'install',
      '-qq',
      '-y',
      '--download-only',
      '--no-install-recommends',
      ...packages,
    ]);
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    for (const deb of readdirSync(join(merged, 'var/cache/apt/archives')).filter((f) => f.endsWith('.deb')))
      copyFileSync(join(merged, 'var/cache/apt/archives', deb), join(partial, deb));
    renameSync(partial, dir);
  } finally {
    sh('umount', ['-l', merged]);
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

/**
 * `lower` (a cached root) with the Debian packages the mirror serves already installed,
 * built once: for machines whose test is not about installing containerd (dpkg under
 * TCG takes minutes; test/runtime-packages.test.ts and test/vm.test.ts prove the
 * install). They are the mirror's very files, so the runtime phase finds the version it
 * would have installed and only configures it.
 */
export async function withMirrorPackages(lower: string): Promise<string> {
  const debs = await distroDebs();
  const key = createHash('sha256').update(lower).update(debs).digest('hex').slice(0, 12);
  const root = join(CACHE_DIR, `root-${key}`);
  return cachedBuild(root, () => {
    const partial = `${root}.partial`;
    rmSync(partial, { recursive: true, force: true });
    sh('cp', ['-a', lower, partial]);
    const archives = join(partial, 'var/cache/apt/archives');
    const files = readdirSync(debs).filter((f) => f.endsWith('.deb'));
    for (const deb of files) copyFileSync(join(debs, deb), join(archives, deb));
    // No systemd runs in the chroot, so the maintainer scripts enable containerd without starting it.
    sh('chroot', [partial, 'dpkg', '-i', ...files.map((deb) => `/var/cache/apt/archives/${deb}`)]);
    for (const deb of files) rmSync(join(archives, deb));
    renameSync(partial, root);
  });
}

interface DebFile {
  readonly path: string;
  readonly content: string | Buffer;
  readonly mode: number;
}

function buildDeb(
  out: string,
  name: string,
  version: string,
  files: DebFile[],
  description: string,
  depends: readonly string[] = [],
  recommends: readonly string[] = [],
): void {
  const tree = mkdtempSync('/tmp/kubestrap-deb-');
  try {
    mkdirSync(join(tree, 'DEBIAN'));
    writeFileSync(
      join(tree, 'DEBIAN/control'),
      `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: kubestrap tests ` +
        `<tests@kubestrap.invalid>\n${depends.length ? `Depends: ${depends.join(', ')}\n` : ''}` +
        `${recommends.length ? `Recommends: ${recommends.join(', ')}\n` : ''}` +
        `Description: ${description}\n`,
    );
    for (const file of files) {
      mkdirSync(join(tree, file.path, '..'), { recursive: true });
      writeFileSync(join(tree, file.path), file.content);
      chmodSync(join(tree, file.path), file.mode);
    }
    sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, join(out, `${name}_${version}_amd64.deb`)]);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

function double(name: string, kubernetesVersion: string): string {
  return readFileSync(join(DOUBLES, name), 'utf8')
    .replaceAll('@VERSION@', kubernetesVersion)
    .replaceAll('@CRI_VERSION@', CRI_TOOLS_VERSION);
}

/** Indexes and signs a flat repository (`deb URL ./` style, as pkgs.k8s.io is). */
function publish(dir: string, gnupgHome: string): void {
  const packages = sh('apt-ftparchive', ['packages', '.'], { cwd: dir });
  writeFileSync(join(dir, 'Packages'), packages);
  const release = sh('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Origin=kubestrap-test', 'release', '.'], {
    cwd: dir,
  });
  writeFileSync(join(dir, 'Release'), release);
  sh('gpg', [
    '--homedir',
    gnupgHome,
    '--batch',
    '--yes',
    '--clearsign',
    '-o',
    join(dir, 'InRelease'),
    join(dir, 'Release'),
  ]);
  sh('gpg', ['--homedir', gnupgHome, '--batch', '--yes', '--armor', '--export', '-o', join(dir, 'Release.key')]);
}

export class AptMirror {
  private constructor(
    readonly dir: string,
    private readonly server: StaticServer,
    readonly url: string,
    readonly minor: number,
  ) {}

  /** pkgs.k8s.io's layout: `${kubernetesRepository}/v1.X/deb/`. */
  get kubernetesRepository(): string {
    return `${this.url}/core:/stable:`;
  }

  /**
   * Serves the mirror on `bind` (the test bridge's gateway, or loopback for a VM behind qemu's
   * user network), with a repository per version's minor (several for upgrades), all signed by one key.
   */
  static async start(bind: Harness | string, kubernetesVersions: string | readonly string[]): Promise<AptMirror> {
    const address = typeof bind === 'string' ? bind : bind.gateway;
    const versions = typeof kubernetesVersions === 'string' ? [kubernetesVersions] : kubernetesVersions;
    const minor = Number(versions[0]!.split('.')[1]);
    const dir = mkdtempSync('/tmp/kubestrap-mirror-');
    // The signing key's home stays outside what the server publishes.
    const gnupg = join(dir, 'gnupg');
    const www = join(dir, 'www');
    mkdirSync(gnupg, { mode: 0o700 });
    try {
      return await AptMirror.build(dir, gnupg, www, address, versions, minor);
    } finally {
      stopGpgAgents(gnupg);
    }
  }

  private static async build(
    dir: string,
    gnupg: string,
    www: string,
    address: string,
    versions: readonly string[],
    minor: number,
  ): Promise<AptMirror> {
    sh('gpg', [
      '--homedir',
      gnupg,
      '--batch',
      '--passphrase',
      '',
      '--quick-gen-key',
      'kubestrap test mirror <mirror@kubestrap.invalid>',
      'ed25519',
      'sign',
      'never',
    ]);

    const debian = join(www, 'debian');
    cpSync(await distroDebs(), debian, { recursive: true });
    cpSync(await distroDebs(SERVED_ONLY_PACKAGES), debian, { recursive: true });
    publish(debian, gnupg);

    for (const version of versions) AptMirror.buildKubernetesRepository(www, version, gnupg);
    const server = await serveDirectory(www, address);
    return new AptMirror(dir, server, server.url, minor);
  }

  /** pkgs.k8s.io's repository of one minor, with the doubles at `kubernetesVersion`. */
  private static buildKubernetesRepository(www: string, kubernetesVersion: string, gnupg: string): void {
    const k8s = join(www, `core:/stable:/v1.${kubernetesVersion.split('.')[1]}/deb`);
    mkdirSync(k8s, { recursive: true });
    const revision = `${kubernetesVersion}-1.1`;
    buildDeb(
      k8s,
      'kubeadm',
      revision,
      [
        { path: 'usr/bin/kubeadm', content: double('kubeadm', kubernetesVersion), mode: 0o755 },
        {
          path: 'usr/lib/kubestrap-doubles/apiserver',
          content: double('apiserver-double', kubernetesVersion),
          mode: 0o755,
        },
        {
          path: 'lib/systemd/system/kubestrap-apiserver-double.service',
          content: APISERVER_DOUBLE_UNIT,
          mode: 0o644,
        },
        { path: 'usr/libexec/kubeadm-double/api-call', content: double('api-call', kubernetesVersion), mode: 0o755 },
        { path: 'usr/lib/kubestrap-doubles/kubeadm-fields', content: kubeadmFieldList(), mode: 0o644 },
      ],
      'TEST DOUBLE of kubeadm',
    );
    buildDeb(
      k8s,
      'kubelet',
      revision,
      [
        { path: 'usr/bin/kubelet', content: double('kubelet', kubernetesVersion), mode: 0o755 },
        { path: 'usr/libexec/kubelet-double/api-call', content: double('api-call', kubernetesVersion), mode: 0o755 },
        // The pods' image (busybox), the cluster DNS responder and the Weave router status the kubelet double runs.
        { path: 'usr/libexec/kubelet-double/busybox', content: readFileSync(POD_BUSYBOX), mode: 0o755 },
        {
          path: 'usr/libexec/kubelet-double/coredns-double',
          content: double('coredns-double', kubernetesVersion),
          mode: 0o755,
        },
        {
          path: 'usr/libexec/kubelet-double/weave-double',
          content: double('weave-double', kubernetesVersion),
          mode: 0o755,
        },
      ],
      'TEST DOUBLE of the kubelet',
      // pkgs.k8s.io's kubelet (kubernetes/release, krel templates): iptables only Recommended,
      // no conntrack or ethtool; what kubeadm's preflight looks for kubestrap installs itself.
      ['kubernetes-cni (>= 1.2.0)', 'mount', 'util-linux'],
      ['iptables (>= 1.8.4)'],
    );
    buildDeb(
      k8s,
      'kubectl',
      revision,
      [
        { path: 'usr/bin/kubectl', content: double('kubectl', kubernetesVersion), mode: 0o755 },
        { path: 'usr/libexec/kubectl-double/api-call', content: double('api-call', kubernetesVersion), mode: 0o755 },
      ],
      'TEST DOUBLE of kubectl',
    );
    buildDeb(
      k8s,
      'cri-tools',
      `${CRI_TOOLS_VERSION}-1.1`,
      [{ path: 'usr/bin/crictl', content: double('crictl', kubernetesVersion), mode: 0o755 }],
      'TEST DOUBLE of crictl',
    );
    buildDeb(
      k8s,
      'kubernetes-cni',
      `${CNI_VERSION}-1.1`,
      [{ path: 'opt/cni/bin/portmap', content: '#!/bin/sh\necho "portmap (test double)" >&2\nexit 1\n', mode: 0o755 }],
      'TEST DOUBLE of the CNI plugins',
    );
    publish(k8s, gnupg);
  }

  /**
   * Points a host's apt at this mirror only, as an offline site would: the Debian
   * sources are replaced by the mirror's Debian repository.
   */
  configureHost(host: TestHost): void {
    this.configureRoot(host.root);
  }

  /** Writes the mirror's apt sources into a root filesystem; `url` as the host will see it. */
  configureRoot(root: string, url = this.url): void {
    rmSync(join(root, 'etc/apt/sources.list'), { force: true });
    rmSync(join(root, 'etc/apt/sources.list.d'), { recursive: true, force: true });
    mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
    mkdirSync(join(root, 'etc/apt/keyrings'), { recursive: true });
    copyFileSync(join(this.dir, 'www/debian/Release.key'), join(root, 'etc/apt/keyrings/kubestrap-test-mirror.asc'));
    writeFileSync(
      join(root, 'etc/apt/sources.list.d/mirror.list'),
      `deb [signed-by=/etc/apt/keyrings/kubestrap-test-mirror.asc] ${url}/debian ./\n`,
    );
  }

  async stop(): Promise<void> {
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
