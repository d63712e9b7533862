// `bundle`: everything an offline install needs, in one verifiable archive (on a
// connected machine); `bundle verify`: every size and hash checked, the first bad
// member named, and who signed it (checked against --key).
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { rookManifestPath } from '../bundle/coverage.js';
import { buildBundle } from '../bundle/build.js';
import { parseImageList } from '../bundle/images.js';
import { generateSigningKey, keyIdOf, readPrivateKey, readPublicKey } from '../bundle/signing.js';
import { verifyBundle } from '../bundle/verify.js';
import { ROOK_FILES } from '../spec/versions.js';
import { loadClusterSpec } from './cluster-spec.js';
import { lockNote, withClusterLock } from './cluster-lock.js';
import type { ClusterOptions, OperationContext } from './context.js';
import { InvalidInputError } from './errors.js';
import { ROOK_IMAGE_LIST, rookManifests } from './upstream.js';
import { workDir } from './workdir.js';

export interface BundleOptions extends ClusterOptions {
  /** The bundle to write. */
  readonly output?: string | undefined;
  /** The private key (a path; the key itself never passes through argv) that signs the bundle. */
  readonly signKey?: string | undefined;
}

/** Locked: it fills the cluster's working directory (upstream/, bundle-cache/) that up reads. */
export async function bundle(options: BundleOptions, context: OperationContext) {
  const { model } = await loadClusterSpec(options.file);
  return withClusterLock(model.name, 'bundle', lockNote(context), () => bundleLocked(options, context));
}

async function bundleLocked(options: BundleOptions, context: OperationContext) {
  if (!options.output)
    throw new InvalidInputError(
      'kubestrap bundle needs -o FILE: where to write the bundle (e.g. -o cluster.kubestrap.tar)',
    );
  const loaded = await loadClusterSpec(options.file);
  const { model } = loaded;
  context.warn(loaded.warnings);
  if (model.os.family === 'rhel' && !model.packages.rpmRepositories.length) {
    throw new InvalidInputError(
      `${loaded.file}: spec.packages.rpmRepositories is empty, ` +
        `and a bundle for rhel hosts needs the repositories containerd.io and the packages' dependencies come from ` +
        `— add them, e.g.\n` +
        `  rpmRepositories:\n` +
        `    - { url: https://download.docker.com/linux/centos/9/x86_64/stable, key: docker.gpg }\n` +
        `    - { url: https://repo.almalinux.org/almalinux/9/BaseOS/x86_64/os, key: RPM-GPG-KEY-AlmaLinux-9 }\n` +
        `Nothing was done.`,
    );
  }
  // Read before anything is downloaded: a wrong key file fails in a second, not after an hour.
  const signingKey = options.signKey ? readPrivateKey(resolve(options.signKey)) : undefined;
  const out = resolve(options.output);
  const progress = context.sink.progress ?? (() => {});
  // Rook's manifests and its image list, through the same sha256 lock as an online up.
  const upstream = model.rook.enabled
    ? await rookManifests(model, workDir(model.name), [...ROOK_FILES, ROOK_IMAGE_LIST])
    : [];
  const imageList = upstream.find((f) => f.name === ROOK_IMAGE_LIST);
  const rookImages = imageList
    ? parseImageList(imageList.content, `Rook ${model.rook.version} ${ROOK_IMAGE_LIST}`)
    : [];
  const result = await buildBundle(model, {
    out,
    cacheDir: join(workDir(model.name), 'bundle-cache'),
    specDigest: createHash('sha256').update(JSON.stringify(loaded.spec)).digest('hex'),
    createdBy: `kubestrap ${process.env.npm_package_version ?? '0.1.0'}`,
    extraImages: rookImages,
    manifests: upstream
      .filter((f) => f !== imageList)
      .map((f) => ({ path: rookManifestPath(model, f.name), content: f.content, source: f.url })),
    onStep: (step) => progress({ step }),
    onProgress: (what, bytes, total) => progress({ what, bytes, total }),
    ...(signingKey ? { signingKey } : {}),
  });
  progress({ done: true });
  return {
    path: out,
    size: statSync(out).size,
    manifest: result.manifest,
    packages: result.packages,
    keyId: signingKey ? keyIdOf(signingKey) : undefined,
  };
}

/** `bundle keygen FILE`: FILE (private, 0600) and FILE.pub. */
export async function bundleKeygen(file: string | undefined) {
  if (!file)
    throw new InvalidInputError(
      'kubestrap bundle keygen needs FILE: where to write the private key (its public half goes to FILE.pub)',
    );
  return generateSigningKey(resolve(file));
}

export async function bundleVerify(file: string, key: string | undefined, context: OperationContext) {
  const path = resolve(file);
  const trusted = key ? { key: readPublicKey(resolve(key)), path: key } : undefined;
  try {
    statSync(path);
  } catch {
    throw new InvalidInputError(`${file}: no such file — give the path of a bundle made by kubestrap bundle`);
  }
  const progress = context.sink.progress ?? (() => {});
  const started = Date.now();
  try {
    const { manifest, signature, authenticated } = await verifyBundle(
      path,
      (p) => progress({ what: `verify ${p.member}`, bytes: p.bytes, total: p.total }),
      trusted,
    );
    return {
      path,
      size: statSync(path).size,
      manifest,
      signature,
      authenticated,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    progress({ done: true });
  }
}
