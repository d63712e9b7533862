// A one-binary container image (Debian's static busybox) as an OCI archive, built
// here because no registry is reachable: enough for containerd and runc to prove they
// run a container.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

export const PROBE_IMAGE = 'docker.io/kubestrap/probe:1';

function blob(dir: string, content: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(content).digest('hex');
  writeFileSync(join(dir, 'blobs/sha256', hex), content);
  return { digest: `sha256:${hex}`, size: content.length };
}

/**
 * Writes the OCI archive to `out` and returns its path. With several architectures the
 * image is multi-platform (an index of one manifest per linux/ARCH, the same busybox in
 * each: only its config says otherwise), as the images in real registries are.
 */
export function buildProbeImage(
  out: string,
  busybox = '/bin/busybox',
  architectures: readonly ('amd64' | 'arm64')[] = ['amd64'],
): string {
  const work = mkdtempSync('/tmp/kubestrap-oci-');
  try {
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(busybox, join(rootfs, 'bin/busybox'));
    chmodSync(join(rootfs, 'bin/busybox'), 0o755);
    execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-C',
      rootfs,
      '-cf',
      join(work, 'layer.tar'),
      'bin',
    ]);
    const layout = join(work, 'layout');
    mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
    const layer = blob(layout, readFileSync(join(work, 'layer.tar')));
    const manifestFor = (architecture: string) => {
      const config = blob(
        layout,
        Buffer.from(
          JSON.stringify({
            architecture,
            os: 'linux',
            config: { Cmd: ['/bin/busybox', 'true'] },
            rootfs: { type: 'layers', diff_ids: [layer.digest] },
          }),
        ),
      );
      return blob(
        layout,
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
            layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
          }),
        ),
      );
    };
    const annotations = { 'io.containerd.image.name': PROBE_IMAGE, 'org.opencontainers.image.ref.name': '1' };
    let top: Record<string, unknown>;
    if (architectures.length === 1)
      top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifestFor(architectures[0]!), annotations };
    else {
      const nested = blob(
        layout,
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: architectures.map((architecture) => ({
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              ...manifestFor(architecture),
              platform: { architecture, os: 'linux' },
            })),
          }),
        ),
      );
      top = { mediaType: 'application/vnd.oci.image.index.v1+json', ...nested, annotations };
    }
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [top] }));
    execFileSync('tar', ['-C', layout, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
