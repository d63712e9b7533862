// The container images a cluster runs, and their export for the bundle. The list comes
// from the authorities: kubeadm itself (`kubeadm config images list` of the bundled
// kubeadm binary, for the exact version), Weave's two images, and Rook's published images.txt.
// Each image is copied with skopeo from its registry (or the mirror the spec names for
// that registry) into a docker-archive that keeps the canonical name, so containerd on
// the host knows it under the name the kubelet asks for.
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  renameSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export class ImageError extends Error {
  readonly exitCode = 1;
}

export interface RegistryMirror {
  /** Where to pull instead, e.g. http://mirror.local:5000/registry.k8s.io (http: no TLS). */
  readonly url: string;
}

const missingTool = (tool: string, why: string) =>
  new ImageError(
    `${tool} is needed to ${why} (Debian/Ubuntu: apt-get install ${tool}); kubestrap bundle runs on Linux`,
  );

/** What `kubeadm config images list` of the bundled kubeadm binary says for this version. */
export async function kubeadmImages(kubeadmBinary: string, version: string): Promise<string[]> {
  // A private executable copy: the cached download keeps its own mode.
  const dir = mkdtempSync(join(tmpdir(), 'kubestrap-kubeadm-'));
  try {
    const kubeadm = join(dir, 'kubeadm');
    copyFileSync(kubeadmBinary, kubeadm);
    chmodSync(kubeadm, 0o755);
    const listed = await execa(kubeadm, ['config', 'images', 'list', '--kubernetes-version', `v${version}`], {
      reject: false,
    });
    if (listed.exitCode !== 0)
      throw new ImageError(
        `kubeadm ${version} config images list failed: ` +
          `${`${listed.stderr || listed.message}`.trim().split('\n').slice(-3).join(' ')}`,
      );
    const images = `${listed.stdout}`
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const bad = images.find((i) => !IMAGE_REFERENCE.test(i));
    if (bad) throw new ImageError(`kubeadm ${version} config images list printed "${bad}", not an image reference`);
    return images;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(\/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$/;

/** Rook's images.txt: one reference per line. */
export function parseImageList(text: string, where: string): string[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const bad = lines.find((l) => !IMAGE_REFERENCE.test(l));
  if (bad) throw new ImageError(`${where}: "${bad}" is not an image reference`);
  return lines;
}

/** docker.io/rook/ceph:v1 → the member name images/docker.io_rook_ceph_v1.tar */
export function imageMemberPath(reference: string): string {
  return `images/${reference.replaceAll('/', '_').replace(/:([^:]+)$/, '_$1')}.tar`;
}

function pullFrom(
  reference: string,
  mirrors: Readonly<Record<string, RegistryMirror>>,
): { source: string; tlsVerify: boolean } {
  const slash = reference.indexOf('/');
  const registry = reference.slice(0, slash);
  const mirror = mirrors[registry];
  if (!mirror) return { source: reference, tlsVerify: true };
  const url = new URL(mirror.url);
  return {
    source: `${url.host}${url.pathname.replace(/\/+$/, '')}/${reference.slice(slash + 1)}`,
    tlsVerify: url.protocol === 'https:',
  };
}

async function skopeo(args: string[], what: string): Promise<string> {
  const result = await execa('skopeo', args, { reject: false });
  if (result.code === 'ENOENT') throw missingTool('skopeo', 'copy container images into the bundle');
  if (result.exitCode !== 0)
    throw new ImageError(`${what}: ${`${result.stderr}`.trim().split('\n').slice(-2).join(' ')}`);
  return `${result.stdout}`;
}

export interface ExportedImage {
  readonly reference: string;
  /** The manifest digest in the registry it came from. */
  readonly digest: string;
  readonly from: string;
  readonly file: string;
}

/**
 * Copies one image, for linux/`architecture` (the platform's manifest when the image is
 * multi-platform), into `cacheDir`; an unchanged digest reuses the earlier copy.
 */
export async function exportImage(
  reference: string,
  architecture: 'amd64' | 'arm64',
  mirrors: Readonly<Record<string, RegistryMirror>>,
  cacheDir: string,
): Promise<ExportedImage> {
  const { source, tlsVerify } = pullFrom(reference, mirrors);
  const platform = ['--override-os', 'linux', '--override-arch', architecture];
  const tls = (flag: string) => (tlsVerify ? [] : [`${flag}=false`]);
  const digest = (
    await skopeo(
      [
        'inspect',
        ...platform,
        ...tls('--tls-verify'),
        '--retry-times',
        '3',
        '--format',
        '{{.Digest}}',
        `docker://${source}`,
      ],
      `cannot find ${reference} at ${source}`,
    )
  ).trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest))
    throw new ImageError(`skopeo inspect ${source} gave no digest ("${digest}")`);
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, imageMemberPath(reference).slice('images/'.length));
  const stamp = `${file}.digest`;
  if (existsSync(file) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest)
    return { reference, digest, from: source, file };
  rmSync(`${file}.part`, { force: true });
  // Pulled by digest, so the copy is the image that was inspected.
  const byDigest = `${source.replace(/:[^:/]+$/, '')}@${digest}`;
  await skopeo(
    [
      'copy',
      '--quiet',
      ...platform,
      ...tls('--src-tls-verify'),
      '--retry-times',
      '3',
      `docker://${byDigest}`,
      `docker-archive:${file}.part:${reference}`,
    ],
    `cannot copy ${reference} from ${source}`,
  );
  renameSync(`${file}.part`, file);
  writeFileSync(stamp, digest);
  return { reference, digest, from: source, file };
}
