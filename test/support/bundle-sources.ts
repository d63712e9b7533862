// What a connected machine's `kubestrap bundle` reads from, served by the test itself:
// the Debian package mirror (the caller's, if any; rpm repositories: rpm-repos.ts),
// dl.k8s.io-shaped binaries with their .sha256 for amd64 and arm64, a registry holding
// a multi-platform (amd64, arm64) image the test built under every name the cluster
// runs, and Rook's manifests and images.txt over HTTP.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeadmImages } from '../../bundle/images.js';
import type { AptMirror } from '../harness/apt-mirror.js';
import { buildProbeImage } from '../harness/oci-image.js';
import { TestRegistry } from '../harness/registry.js';
import { REPO_ROOT, SHARED_REFERENCE } from './fixtures.js';
import { serveDirectory, type StaticServer } from './static-server.js';

export interface BundleSources {
  /**
   * Every image the cluster runs, sorted: kubeadm's list for the version (as the kubeadm double prints it),
   * Weave 2.9.0's, verify's busybox, Rook v1.20.6's images.txt.
   */
  readonly images: readonly string[];
  /** The registry (host:port) holding every image under its path, e.g. HOST/registry.k8s.io/pause:3.10.1. */
  readonly registry: string;
  /** Rook's manifestBase. */
  readonly rookUrl: string;
  /**
   * The spec's `packages:` block pointing at these sources (two-space indented, as under spec:);
   * its deb repositories only with a mirror.
   */
  readonly packagesYaml: string;
  stop(): Promise<void>;
}

export async function startBundleSources(
  mirror: AptMirror | undefined,
  work: string,
  version: string,
): Promise<BundleSources> {
  const rook = await serveDirectory(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6'));
  for (const architecture of ['amd64', 'arm64']) {
    const binDir = join(work, 'dl', `v${version}/bin/linux/${architecture}`);
    mkdirSync(binDir, { recursive: true });
    for (const name of ['kubeadm', 'kubelet', 'kubectl']) {
      // The arm64 files differ by a comment, so a test can tell which one a bundle took.
      const content = Buffer.concat([
        // Stamped with its version as the package mirrors stamp theirs
        // (the double's own version decides its behaviour).
        Buffer.from(readFileSync(join(REPO_ROOT, 'test/doubles', name), 'utf8').replaceAll('@VERSION@', version)),
        Buffer.from(architecture === 'arm64' ? '\n# the arm64 build of this test double\n' : ''),
      ]);
      writeFileSync(join(binDir, name), content);
      writeFileSync(join(binDir, `${name}.sha256`), createHash('sha256').update(content).digest('hex'));
    }
  }
  let binaries: StaticServer | undefined;
  let registry: TestRegistry | undefined;
  try {
    binaries = await serveDirectory(join(work, 'dl'));
    registry = await TestRegistry.start();
    const image = buildProbeImage(join(work, 'probe.tar'), undefined, ['amd64', 'arm64']);
    const rookImages = readFileSync(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6/images.txt'), 'utf8')
      .split('\n')
      .filter(Boolean);
    const images = [
      // kubeadm's own list for the version, as the double (what the bundle's kubeadm is) prints it.
      ...(await kubeadmImages(join(work, 'dl', `v${version}/bin/linux/amd64/kubeadm`), version)),
      'docker.io/rajchaudhuri/weave-kube:2.9.0',
      'docker.io/rajchaudhuri/weave-npc:2.9.0',
      // verify's workload (templates/verify-workload.ts)
      'docker.io/library/busybox:1.37.0',
      ...rookImages,
    ].sort();
    for (const reference of images) registry.push(image, reference);
    const address = registry.address;
    const debRepositories = mirror
      ? `    kubernetesRepository: ${JSON.stringify(mirror.kubernetesRepository)}
    insecureHttpKey: true
    osRepository:
      url: ${JSON.stringify(`${mirror.url}/debian`)}
      suite: ./
      key: ${JSON.stringify(join(mirror.dir, 'www/debian/Release.key'))}
`
      : '';
    const registryMirrors = ['registry.k8s.io', 'docker.io', 'quay.io', 'gcr.io']
      .map((r) => `      ${r}:\n        url: http://${address}/${r}\n`)
      .join('');
    const packagesYaml = `  packages:
${debRepositories}    binaryRepository: ${JSON.stringify(binaries.url)}
    registryMirrors:
${registryMirrors}`;
    const [b, r] = [binaries, registry];
    return {
      images,
      registry: address,
      rookUrl: rook.url,
      packagesYaml,
      stop: async () => {
        await r.stop();
        await b.close();
        await rook.close();
      },
    };
  } catch (error) {
    await registry?.stop();
    await binaries?.close();
    await rook.close();
    throw error;
  }
}
