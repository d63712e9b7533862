// Builds a bundle on a connected machine: the Kubernetes packages at the spec's exact
// version and containerd, with every dependency the hosts may lack (from the
// configured repositories, signatures and hashes checked) and a package index over
// them (apt's Packages or dnf's repodata), the Kubernetes binaries (published sha256
// checked), every container image the cluster runs, and the upstream manifests it
// applies; then one archive with bundle.json.
import type { KeyObject } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClusterModel } from '../spec/model.js';
import {
  CONTAINERD_PACKAGE,
  ENDPOINT_PACKAGES,
  hostPackages,
  PINNED_KUBERNETES_PACKAGES,
} from '../spec/host-packages.js';
import { kubernetesPackageRepository } from '../spec/versions.js';
import { writeBundle } from './archive.js';
import { resolveClosure } from './deb-closure.js';
import { isFlat, readIndex, type DebRepository } from './deb-index.js';
import { downloadFile, fetchBytes } from '../base/download.js';
import { sha256File } from '../base/digest.js';
import {
  BUNDLE_FORMAT,
  type AptRepositoryEntry,
  type RpmRepositoryEntry,
  type BundleFileEntry,
  type BundleManifest,
  type CarriedPackageEntry,
  type HostRequirement,
} from './format.js';
import { exportImage, imageMemberPath, kubeadmImages } from './images.js';
import { resolveRpmClosure } from './rpm-closure.js';
import { readRpmIndex, type RpmIndex, type RpmRepository } from './rpm-index.js';
import { writeRepodata } from './rpm-repodata.js';
import { formatEvr } from './rpm-version.js';
import { isArmoured, verifyRpmSignatures } from './signature.js';
import { managedEndpoint } from '../templates/endpoint.js';
import { weaveImages } from '../templates/weave.js';
import { VERIFY_IMAGE } from '../templates/verify-workload.js';
import { sha256 } from '../base/digest.js';

export const BUNDLE_DEB_DIR = 'debs';
export const BUNDLE_RPM_DIR = 'rpms';
/** What every host gets from the bundle instead of the network. */
const VERSIONED = new Set<string>(PINNED_KUBERNETES_PACKAGES);
/** Carried as plain binaries too, for hosts where the packages cannot be used. */
export const BUNDLED_BINARIES = ['kubeadm', 'kubelet', 'kubectl'] as const;

export interface BundleInputFile {
  /** Path inside the bundle, under manifests/. */
  readonly path: string;
  readonly content: string;
  readonly source: string;
}

export interface BuildOptions {
  readonly out: string;
  /** Downloads are kept here between runs (and resumed from here). */
  readonly cacheDir: string;
  /** sha256 of the spec the bundle is for (its parsed form, so comments do not count). */
  readonly specDigest: string;
  readonly createdBy: string;
  readonly manifests: readonly BundleInputFile[];
  /** Images beyond kubeadm's and Weave's (Rook's images.txt). */
  readonly extraImages: readonly string[];
  readonly onStep?: (line: string) => void;
  readonly onProgress?: (what: string, bytes: number, total: number | undefined) => void;
  /** Signs bundle.json (bundle.json.sig); without it the bundle is unsigned. */
  readonly signingKey?: KeyObject;
}

export type BundledPackage = CarriedPackageEntry;

export interface BuildResult {
  readonly manifest: BundleManifest;
  readonly packages: readonly BundledPackage[];
  readonly images: readonly string[];
}

/** What the package half of a bundle adds: members, where their bytes are, and what is left to the hosts. */
interface CollectedPackages {
  readonly files: BundleFileEntry[];
  readonly sources: Map<string, string>;
  readonly packages: BundledPackage[];
  readonly hostRequires: HostRequirement[];
  readonly aptRepositories: AptRepositoryEntry[];
  readonly rpmRepositories: RpmRepositoryEntry[];
}

function kubernetesRepository(model: ClusterModel, kind: 'deb' | 'rpm'): string {
  return kubernetesPackageRepository(model.packages.kubernetesRepository, model.kubernetes.version, kind);
}

/** A repository's signing key from the file the spec names; `hint` says where such keys come from. */
function readKey(path: string, field: string, url: string, hint: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new Error(`${field}: cannot read ${path} — give the signing key of ${url} (${hint})`);
  }
}

/** `dir/relative` as a member path, refused when the repository names a path no bundle may hold. */
function memberPath(dir: string, relative: string, url: string): string {
  const path = `${dir}/${relative}`;
  if (
    !/^[A-Za-z0-9._+~:%-]+(\/[A-Za-z0-9._+~:%-]+)*$/.test(path) ||
    path.split('/').some((s) => s === '..' || s === '.')
  )
    throw new Error(`repository ${url} names the file ${JSON.stringify(relative)}, which a bundle cannot hold as is`);
  return path;
}

/**
 * What the bundle carries for its hosts: one set for all of them, so a control plane's,
 * which holds a worker's and, with a managed endpoint, keepalived and haproxy.
 */
export function bundledHostPackages(model: ClusterModel): string[] {
  return hostPackages(model.os.family, model.kubernetes.version.minor, managedEndpoint(model));
}

/**
 * The endpoint's packages, refused up front when no repository offers them: the resolver
 * would only say "not in the repositories", not which repository the spec lacks.
 */
function requireEndpointPackages(model: ClusterModel, offered: ReadonlySet<string>, field: string, hint: string): void {
  if (!managedEndpoint(model)) return;
  const absent = ENDPOINT_PACKAGES[model.os.family].filter((name) => !offered.has(name));
  if (absent.length)
    throw new Error(
      `the managed control-plane endpoint (spec.kubernetes.controlPlaneEndpoint.managed) needs ` +
        `${ENDPOINT_PACKAGES[model.os.family].join(', ')} on the control planes, and no repository of the spec ` +
        `offers ${absent.join(', ')}: add the repository that does to ${field} (${hint})`,
    );
}

/** A staged file of our own making (an index, a manifest) as a member. */
function textMember(
  collected: Pick<CollectedPackages, 'files' | 'sources'>,
  staging: string,
  path: string,
  content: string | Buffer,
  kind: BundleFileEntry['kind'],
  source?: string,
): void {
  const local = join(staging, path.replaceAll('/', '__'));
  writeFileSync(local, content);
  collected.files.push({
    path,
    size: Buffer.byteLength(content),
    sha256: sha256(content),
    kind,
    ...(source ? { source } : {}),
  });
  collected.sources.set(path, local);
}

async function debPackages(model: ClusterModel, options: BuildOptions, staging: string): Promise<CollectedPackages> {
  const step = options.onStep ?? (() => undefined);
  const k8sUrl = kubernetesRepository(model, 'deb');
  // The same trust as an online install: the key the repository publishes, over its URL.
  const k8s: DebRepository = { url: k8sUrl, dist: '/', components: [], key: await fetchBytes(`${k8sUrl}Release.key`) };
  const osRepo = model.packages.osRepository;
  const os: DebRepository = {
    url: osRepo.url,
    dist: osRepo.suite,
    components: osRepo.components,
    key: readKey(
      osRepo.key,
      'spec.packages.osRepository.key',
      osRepo.url,
      'Debian: the debian-archive-keyring package',
    ),
  };

  step(`read the index of ${k8sUrl}`);
  const k8sIndex = await readIndex(k8s, model.os.architecture);
  step(`read the index of ${osRepo.url} ${osRepo.suite}`);
  const osIndex = await readIndex(os, model.os.architecture);
  const version = model.kubernetes.version.text;
  requireEndpointPackages(
    model,
    new Set([...k8sIndex.packages, ...osIndex.packages].map((p) => p.name)),
    'spec.packages.osRepository',
    'Debian: main',
  );
  const repositories = [
    { name: 'kubernetes', repo: k8s, index: k8sIndex },
    { name: 'os', repo: os, index: osIndex },
  ];
  const closure = resolveClosure(
    [...k8sIndex.packages, ...osIndex.packages],
    bundledHostPackages(model).map((name) => (VERSIONED.has(name) ? { name, upstreamVersion: version } : { name })),
  );

  const collected: CollectedPackages = {
    files: [],
    sources: new Map(),
    packages: closure.packages.map((p) => ({ name: p.name, version: p.version })),
    hostRequires: closure.hostRequires,
    aptRepositories: [],
    rpmRepositories: [],
  };
  // Each repository as its own apt source on the hosts, with the InRelease and Packages it
  // published and its key: apt checks every .deb against the repository's signature itself,
  // not only against bundle.json. The index lists more than the bundle carries; apt only
  // opens the .debs it installs.
  for (const { name, repo, index } of repositories) {
    const dir = `${BUNDLE_DEB_DIR}/${name}`;
    for (const file of index.signedFiles)
      textMember(
        collected,
        staging,
        memberPath(dir, file.path, repo.url),
        file.bytes,
        file.path.endsWith('InRelease') ? 'deb-release' : 'deb-index',
        `${repo.url.replace(/\/+$/, '')}/${file.path}`,
      );
    const key = `${BUNDLE_DEB_DIR}/keys/${name}.${isArmoured(repo.key) ? 'asc' : 'gpg'}`;
    textMember(collected, staging, key, repo.key, 'repository-key');
    collected.aptRepositories.push({
      path: dir,
      suite: repo.dist,
      // A flat repository (`deb URL ./`) takes no components; apt refuses a line that gives some.
      components: isFlat(repo) ? [] : [...repo.components],
      key,
      source: repo.url,
    });
  }
  const repositoryOf = new Map(
    repositories.flatMap(({ name, index }) => index.packages.map((p) => [p, `${BUNDLE_DEB_DIR}/${name}`] as const)),
  );
  for (const p of closure.packages) {
    step(`download ${p.name} ${p.version}`);
    const local = join(options.cacheDir, 'debs', `${p.sha256.slice(0, 12)}-${p.filename}`);
    await downloadFile(p.url, local, {
      sha256: p.sha256,
      size: p.size,
      onProgress: (b, t) => options.onProgress?.(p.filename, b, t),
    });
    const path = memberPath(repositoryOf.get(p)!, p.repositoryPath, p.url);
    collected.files.push({ path, size: p.size, sha256: p.sha256, kind: 'deb', source: p.url });
    collected.sources.set(path, local);
  }
  return collected;
}

async function rpmPackages(model: ClusterModel, options: BuildOptions, staging: string): Promise<CollectedPackages> {
  const step = options.onStep ?? (() => undefined);
  const k8sUrl = kubernetesRepository(model, 'rpm');
  // pkgs.k8s.io signs repomd.xml and publishes the key beside it; online installs trust that key URL too.
  const repositories: RpmRepository[] = [
    { url: k8sUrl, key: await fetchBytes(`${k8sUrl}repodata/repomd.xml.key`) },
    ...model.packages.rpmRepositories.map((r, i) => ({
      url: r.url,
      key: readKey(
        r.key,
        `spec.packages.rpmRepositories[${i}].key`,
        r.url,
        'the RPM-GPG-KEY file the repository publishes',
      ),
    })),
  ];
  const indexes: RpmIndex[] = [];
  for (const repo of repositories) {
    step(`read the metadata of ${repo.url}`);
    indexes.push(await readRpmIndex(repo, model.os.architecture));
  }
  requireEndpointPackages(
    model,
    new Set(indexes.flatMap((i) => i.packages.map((p) => p.name))),
    'spec.packages.rpmRepositories',
    "EL: the release's AppStream",
  );
  const version = model.kubernetes.version.text;
  const containerd = model.runtime.containerdVersion;
  const closure = resolveRpmClosure(
    indexes,
    bundledHostPackages(model).map((name) =>
      VERSIONED.has(name)
        ? { name, version }
        : name === CONTAINERD_PACKAGE.rhel && containerd
          ? { name, versionPrefix: containerd }
          : { name },
    ),
  );

  const collected: CollectedPackages = {
    files: [],
    sources: new Map(),
    packages: closure.packages.map((p) => ({ name: p.name, version: formatEvr(p.evr) })),
    hostRequires: closure.hostRequires,
    aptRepositories: [],
    rpmRepositories: [],
  };
  // Each repository as its own dnf repository on the hosts, checked there as dnf checks it
  // online: one that signs its metadata keeps its signed repomd.xml and what it lists
  // (repo_gpgcheck: repomd's signature, then primary's sha256, then each package's); one
  // that signs its packages gets createrepo_c's repodata over the carried .rpms and
  // gpgcheck, each .rpm's own signature against the repository's key.
  const stagingRoot = join(staging, BUNDLE_RPM_DIR);
  rmSync(stagingRoot, { recursive: true, force: true });
  for (const [i, index] of indexes.entries()) {
    const repository = index.repository;
    const name = i === 0 ? 'kubernetes' : `repository-${i}`;
    const dir = `${BUNDLE_RPM_DIR}/${name}`;
    const key = `${BUNDLE_RPM_DIR}/keys/${name}.${isArmoured(repository.key) ? 'asc' : 'gpg'}`;
    const own = closure.packages.filter((p) => p.repository === repository.url);
    if (!own.length) continue;
    textMember(collected, staging, key, repository.key, 'repository-key');
    collected.rpmRepositories.push({
      path: dir,
      key,
      check: index.metadataSigned ? 'metadata' : 'packages',
      source: repository.url,
    });
    const repoDir = join(stagingRoot, name);
    mkdirSync(repoDir, { recursive: true });
    const locals: string[] = [];
    for (const p of own) {
      step(`download ${p.name} ${formatEvr(p.evr)}`);
      const local = join(options.cacheDir, 'rpms', `${p.sha256.slice(0, 12)}-${p.filename}`);
      await downloadFile(p.url, local, {
        sha256: p.sha256,
        onProgress: (b, t) => options.onProgress?.(p.filename, b, t),
      });
      locals.push(local);
      const prefix = `${repository.url.replace(/\/+$/, '')}/`;
      // With upstream metadata the .rpm must be where primary.xml says; with our own, beside it.
      const relative = index.metadataSigned
        ? p.url.startsWith(prefix)
          ? p.url.slice(prefix.length)
          : undefined
        : p.filename;
      if (!relative)
        throw new Error(
          `repository ${repository.url} places ${p.filename} at ${p.url}, outside itself; ` +
            `a bundle keeps a repository's packages under it (mirror the repository with its packages)`,
        );
      const path = memberPath(dir, relative, repository.url);
      const staged = join(repoDir, relative);
      mkdirSync(dirname(staged), { recursive: true });
      copyFileSync(local, staged);
      collected.files.push({ path, size: statSync(local).size, sha256: p.sha256, kind: 'rpm', source: p.url });
      collected.sources.set(path, staged);
    }
    if (index.metadataSigned) {
      for (const file of index.signedFiles)
        textMember(
          collected,
          staging,
          memberPath(dir, file.path, repository.url),
          file.bytes,
          'rpm-metadata',
          `${repository.url.replace(/\/+$/, '')}/${file.path}`,
        );
      continue;
    }
    // A repository that does not sign its metadata signs its packages: each is checked.
    step(`check the signatures of ${locals.length} package(s) from ${repository.url}`);
    await verifyRpmSignatures(repository.key, locals, `repository ${repository.url}`);
    step(`write the bundle's repository for ${repository.url} (createrepo_c)`);
    for (const member of await writeRepodata(repoDir)) {
      const local = join(repoDir, member);
      const path = `${dir}/${member}`;
      collected.files.push({
        path,
        size: statSync(local).size,
        sha256: await sha256File(local),
        kind: 'rpm-metadata',
      });
      collected.sources.set(path, local);
    }
  }
  return collected;
}

export async function buildBundle(model: ClusterModel, options: BuildOptions): Promise<BuildResult> {
  const step = options.onStep ?? (() => undefined);
  const staging = join(options.cacheDir, 'staging');
  mkdirSync(staging, { recursive: true });
  const collected =
    model.os.family === 'debian'
      ? await debPackages(model, options, staging)
      : await rpmPackages(model, options, staging);
  const { files, sources } = collected;
  const version = model.kubernetes.version.text;

  // The binaries, checked against the .sha256 files published beside them.
  const architecture = model.os.architecture;
  const binaryBase = `${model.packages.binaryRepository}/v${version}/bin/linux/${architecture}`;
  for (const name of BUNDLED_BINARIES) {
    const url = `${binaryBase}/${name}`;
    const published = (await fetchBytes(`${url}.sha256`)).toString('utf8').trim().split(/\s+/)[0] ?? '';
    if (!/^[0-9a-f]{64}$/.test(published))
      throw new Error(`${url}.sha256 holds no sha256 ("${published.slice(0, 80)}")`);
    step(`download ${name} ${version} (binary)`);
    const local = join(options.cacheDir, 'binaries', `${published.slice(0, 12)}-${name}-${architecture}`);
    const got = await downloadFile(url, local, {
      sha256: published,
      onProgress: (b, t) => options.onProgress?.(name, b, t),
    });
    const path = `binaries/${name}`;
    files.push({ path, size: got.size, sha256: got.sha256, kind: 'binary', source: url });
    sources.set(path, local);
  }

  // The images: kubeadm's own list for this version (asked of the bundled kubeadm), the
  // sandbox image the runtime is configured with, Weave's two, verify's, and the extra ones.
  const imageList = [
    ...new Set([
      ...(await kubeadmImages(sources.get('binaries/kubeadm')!, version)),
      model.runtime.sandboxImage,
      ...weaveImages(model),
      VERIFY_IMAGE,
      ...options.extraImages,
    ]),
  ].sort();
  const images: BundleManifest['images'] = [];
  for (const reference of imageList) {
    step(`copy image ${reference}`);
    const exported = await exportImage(
      reference,
      architecture,
      model.packages.registryMirrors,
      join(options.cacheDir, 'images', architecture),
    );
    const path = imageMemberPath(reference);
    files.push({
      path,
      size: statSync(exported.file).size,
      sha256: await sha256File(exported.file),
      kind: 'image',
      source: `docker://${exported.from}@${exported.digest}`,
    });
    sources.set(path, exported.file);
    images.push({ reference, digest: exported.digest, path });
  }
  for (const m of options.manifests) textMember(collected, staging, m.path, m.content, 'manifest', m.source);

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    createdBy: options.createdBy,
    cluster: model.name,
    specDigest: options.specDigest,
    kubernetesVersion: version,
    os: { family: model.os.family, architecture },
    files,
    images,
    packages: collected.packages,
    hostRequires: collected.hostRequires,
    aptRepositories: collected.aptRepositories,
    rpmRepositories: collected.rpmRepositories,
  };
  step(`write ${options.out}`);
  await writeBundle(options.out, manifest, sources, options.signingKey);
  return { manifest, packages: collected.packages, images: imageList };
}
