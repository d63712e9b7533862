// Builds a bundle on a connected machine: the Kubernetes packages at the spec's exact
// version and containerd, with every dependency the hosts may lack (from the
// configured repositories, signatures and hashes checked), an apt index over them, the
// Kubernetes binaries (published sha256 checked), every container image the cluster
// runs, and the upstream manifests it applies; then one archive with bundle.json.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterModel } from '../spec/model.js';
import { packageChannel } from '../spec/versions.js';
import { writeBundle } from './archive.js';
import { resolveClosure } from './deb-closure.js';
import { readIndex, type DebPackage, type DebRepository } from './deb-index.js';
import { downloadFile, fetchBytes, sha256File } from './download.js';
import { BUNDLE_FORMAT, type BundleFileEntry, type BundleManifest } from './format.js';
import { exportImage, imageMemberPath, kubeadmImages } from './images.js';
import { weaveImages } from '../templates/weave.js';

export const BUNDLE_DEB_DIR = 'debs';
export const ARCHITECTURE = 'amd64';
/** What every host gets from the bundle instead of the network (Debian family). */
export const BUNDLED_PACKAGES = ['kubelet', 'kubeadm', 'kubectl', 'cri-tools', 'kubernetes-cni', 'containerd'] as const;
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
}

export interface BuildResult {
  readonly manifest: BundleManifest;
  readonly packages: readonly DebPackage[];
  readonly images: readonly string[];
}

function kubernetesRepository(model: ClusterModel): string {
  return `${model.packages.kubernetesRepository}/${packageChannel(model.kubernetes.version)}/deb/`;
}

export async function buildBundle(model: ClusterModel, options: BuildOptions): Promise<BuildResult> {
  if (model.os.family !== 'debian') throw new Error(`bundles for ${model.os.family} hosts (rpm) are not built yet; only Debian-family hosts`);
  const step = options.onStep ?? (() => undefined);
  const k8sUrl = kubernetesRepository(model);
  // The same trust as an online install: the key the repository publishes, over its URL.
  const k8s: DebRepository = { url: k8sUrl, dist: '/', components: [], key: await fetchBytes(`${k8sUrl}Release.key`) };
  const osRepo = model.packages.osRepository;
  let osKey: Buffer;
  try {
    osKey = readFileSync(osRepo.key);
  } catch {
    throw new Error(`spec.packages.osRepository.key: cannot read ${osRepo.key} — give the signing key of ${osRepo.url} (Debian: the debian-archive-keyring package)`);
  }
  const os: DebRepository = { url: osRepo.url, dist: osRepo.suite, components: osRepo.components, key: osKey };

  step(`read the index of ${k8sUrl}`);
  const k8sIndex = await readIndex(k8s, ARCHITECTURE);
  step(`read the index of ${osRepo.url} ${osRepo.suite}`);
  const osIndex = await readIndex(os, ARCHITECTURE);
  const version = model.kubernetes.version.text;
  const closure = resolveClosure(
    [...k8sIndex, ...osIndex],
    BUNDLED_PACKAGES.map((name) => ((['kubelet', 'kubeadm', 'kubectl'] as string[]).includes(name) ? { name, upstreamVersion: version } : { name })),
  );

  const files: BundleFileEntry[] = [];
  const sources = new Map<string, string>();
  for (const p of closure.packages) {
    step(`download ${p.name} ${p.version}`);
    const local = join(options.cacheDir, 'debs', `${p.sha256.slice(0, 12)}-${p.filename}`);
    await downloadFile(p.url, local, { sha256: p.sha256, size: p.size, onProgress: (b, t) => options.onProgress?.(p.filename, b, t) });
    const path = `${BUNDLE_DEB_DIR}/${p.filename}`;
    files.push({ path, size: p.size, sha256: p.sha256, kind: 'deb', source: p.url });
    sources.set(path, local);
  }
  // The binaries, checked against the .sha256 files published beside them.
  const binaryBase = `${model.packages.binaryRepository}/v${version}/bin/linux/${ARCHITECTURE}`;
  for (const name of BUNDLED_BINARIES) {
    const url = `${binaryBase}/${name}`;
    const published = (await fetchBytes(`${url}.sha256`)).toString('utf8').trim().split(/\s+/)[0] ?? '';
    if (!/^[0-9a-f]{64}$/.test(published)) throw new Error(`${url}.sha256 holds no sha256 ("${published.slice(0, 80)}")`);
    step(`download ${name} ${version} (binary)`);
    const local = join(options.cacheDir, 'binaries', `${published.slice(0, 12)}-${name}`);
    const got = await downloadFile(url, local, { sha256: published, onProgress: (b, t) => options.onProgress?.(name, b, t) });
    const path = `binaries/${name}`;
    files.push({ path, size: got.size, sha256: got.sha256, kind: 'binary', source: url });
    sources.set(path, local);
  }

  // The images: kubeadm's own list for this version (asked of the bundled kubeadm), the
  // sandbox image the runtime is configured with, Weave's two, and the extra ones.
  const kubeadmDeb = sources.get(`${BUNDLE_DEB_DIR}/${closure.packages.find((p) => p.name === 'kubeadm')!.filename}`)!;
  const imageList = [
    ...new Set([
      ...(await kubeadmImages(kubeadmDeb, version)),
      model.runtime.sandboxImage,
      ...weaveImages(model),
      ...options.extraImages,
    ]),
  ].sort();
  const images: BundleManifest['images'] = [];
  for (const reference of imageList) {
    step(`copy image ${reference}`);
    const exported = await exportImage(reference, model.packages.registryMirrors, join(options.cacheDir, 'images'));
    const path = imageMemberPath(reference);
    files.push({ path, size: statSync(exported.file).size, sha256: await sha256File(exported.file), kind: 'image', source: `docker://${exported.from}@${exported.digest}` });
    sources.set(path, exported.file);
    images.push({ reference, digest: exported.digest, path });
  }

  // An apt index over exactly these packages, so the hosts' apt resolves them offline.
  const index = closure.packages.map((p) => `${p.stanza.replace(/^Filename: .*$/m, `Filename: ./${p.filename}`)}\n`).join('\n');
  const staging = join(options.cacheDir, 'staging');
  mkdirSync(staging, { recursive: true });
  const addText = (path: string, content: string, kind: BundleFileEntry['kind'], source?: string) => {
    const local = join(staging, path.replaceAll('/', '__'));
    writeFileSync(local, content);
    files.push({ path, size: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex'), kind, ...(source ? { source } : {}) });
    sources.set(path, local);
  };
  addText(`${BUNDLE_DEB_DIR}/Packages`, index, 'deb-index');
  for (const m of options.manifests) addText(m.path, m.content, 'manifest', m.source);

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    createdBy: options.createdBy,
    cluster: model.name,
    specDigest: options.specDigest,
    kubernetesVersion: version,
    os: { family: 'debian', architecture: ARCHITECTURE },
    files,
    images,
    hostRequires: closure.hostRequires,
  };
  step(`write ${options.out}`);
  await writeBundle(options.out, manifest, sources);
  return { manifest, packages: closure.packages, images: imageList };
}
