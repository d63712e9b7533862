// `kubestrap bundle`: everything an offline install needs, in one verifiable archive;
// `kubestrap bundle verify`: every size and hash checked, the first bad member named.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildBundle } from '../../bundle/build.js';
import { verifyBundle } from '../../bundle/verify.js';
import { loadClusterSpec } from '../cluster-spec.js';
import { InvalidInputError } from '../phase-run.js';
import { printWarnings, type OutputOptions } from '../report.js';
import { ROOK_IMAGE_LIST, rookManifests } from '../upstream.js';
import { parseImageList } from '../../bundle/images.js';
import { rookManifestPath } from '../../bundle/coverage.js';
import { ROOK_FILES } from '../../spec/versions.js';
import { workDir } from '../workdir.js';
import { ProgressLine } from '../progress-line.js';
import { sha256 } from '../../base/digest.js';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export async function bundleCommand(options: OutputOptions & { file?: string; output?: string }): Promise<number> {
  if (!options.output) throw new InvalidInputError('kubestrap bundle needs -o FILE: where to write the bundle (e.g. -o cluster.kubestrap.tar)');
  const loaded = await loadClusterSpec(options.file);
  const { model } = loaded;
  printWarnings(loaded.warnings, options);
  if (model.os.family === 'rhel' && !model.packages.rpmRepositories.length) {
    throw new InvalidInputError(
      `${loaded.file}: spec.packages.rpmRepositories is empty, and a bundle for rhel hosts needs the repositories containerd.io and the packages' dependencies come from — add them, e.g.\n  rpmRepositories:\n    - { url: https://download.docker.com/linux/centos/9/x86_64/stable, key: docker.gpg }\n    - { url: https://repo.almalinux.org/almalinux/9/BaseOS/x86_64/os, key: RPM-GPG-KEY-AlmaLinux-9 }\nNothing was done.`,
    );
  }
  const out = resolve(options.output);
  const progress = new ProgressLine(!options.json);
  // Rook's manifests and its image list, through the same sha256 lock as an online up.
  const upstream = model.rook.enabled ? await rookManifests(model, workDir(model.name), [...ROOK_FILES, ROOK_IMAGE_LIST]) : [];
  const imageList = upstream.find((f) => f.name === ROOK_IMAGE_LIST);
  const rookImages = imageList ? parseImageList(imageList.content, `Rook ${model.rook.version} ${ROOK_IMAGE_LIST}`) : [];
  const result = await buildBundle(model, {
    out,
    cacheDir: join(workDir(model.name), 'bundle-cache'),
    specDigest: sha256(JSON.stringify(loaded.spec)),
    createdBy: `kubestrap ${process.env.npm_package_version ?? '0.1.0'}`,
    extraImages: rookImages,
    manifests: upstream.filter((f) => f !== imageList).map((f) => ({ path: rookManifestPath(model, f.name), content: f.content, source: f.url })),
    onStep: (line) => progress.step(line),
    onProgress: (what, bytes, total) => progress.bytes(what, bytes, total),
  });
  progress.done();
  const size = statSync(out).size;
  const { manifest } = result;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: true, bundle: out, size, files: manifest.files.length, packages: result.packages.map((p) => `${p.name}=${p.version}`), images: manifest.images, hostRequires: manifest.hostRequires }, null, 2)}\n`);
  } else {
    process.stdout.write(`wrote ${out} (${mib(size)}): Kubernetes ${manifest.kubernetesVersion} for ${manifest.os.family}/${manifest.os.architecture}, ${manifest.files.length} files\n`);
    for (const p of result.packages) process.stdout.write(`  package ${p.name} ${p.version}\n`);
    for (const i of manifest.images) process.stdout.write(`  image ${i.reference} (${i.digest.slice(0, 19)}…)\n`);
    if (manifest.hostRequires.length) {
      process.stdout.write(`the hosts must already have (every ${manifest.os.family} install does; install checks before it changes anything):\n`);
      for (const r of manifest.hostRequires) process.stdout.write(`  ${r.relation}   (for ${r.neededBy})\n`);
    }
  }
  return 0;
}

export async function bundleVerifyCommand(file: string, options: OutputOptions): Promise<number> {
  const path = resolve(file);
  try {
    statSync(path);
  } catch {
    throw new InvalidInputError(`${file}: no such file — give the path of a bundle made by kubestrap bundle`);
  }
  const progress = new ProgressLine(!options.json);
  const started = Date.now();
  const { manifest } = await verifyBundle(path, (p) => progress.bytes(`verify ${p.member}`, p.bytes, p.total));
  progress.done();
  const seconds = (Date.now() - started) / 1000;
  const size = statSync(path).size;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: true, bundle: path, size, files: manifest.files.length, kubernetesVersion: manifest.kubernetesVersion, cluster: manifest.cluster, specDigest: manifest.specDigest, seconds }, null, 2)}\n`);
  } else {
    process.stdout.write(`${path}: ok — ${manifest.files.length} files, ${mib(size)}, every size and sha256 as bundle.json lists them; Kubernetes ${manifest.kubernetesVersion} for cluster ${manifest.cluster} (${seconds.toFixed(1)} s)\n`);
  }
  return 0;
}
