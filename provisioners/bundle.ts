// Offline installs from a bundle: every host gets the archive (resumable upload), checks
// every member against bundle.json on its own disk, and unpacks it; apt or dnf then
// installs from the bundle's own index only, and containerd imports the images. Nothing here
// reaches past the hosts: the network the hosts lack is never asked for.
import type { VerifiedArchive } from '../bundle/verify.js';
import { resumableUpload } from '../ssh/resumable-upload.js';
import { shellQuote } from '../base/quote.js';
import { script } from '../base/script.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import { BUNDLE_SOURCE_FILE, bundleSourceFile } from './os-packages.js';
import type { Phase } from '../engine/phase.js';

/** A bundle checked on this machine (its seal names it on the hosts), ready to go to them. */
export type VerifiedBundle = VerifiedArchive & { readonly localPath: string };

export const BUNDLE_ROOT = '/var/lib/kubestrap/bundle';
const MARKER = '.kubestrap-verified';

export function bundleDir(bundle: Pick<VerifiedBundle, 'seal'>): string {
  return `${BUNDLE_ROOT}/${bundle.seal.slice(0, 16)}`;
}

/** Whether the host has this very bundle unpacked and checked (its marker holds the seal). */
export async function unpackedOn(step: HostStep<NodeHost>, bundle: Pick<VerifiedBundle, 'seal'>): Promise<boolean> {
  const marker = await step.probe(`cat ${bundleDir(bundle)}/${MARKER} 2>/dev/null`, {
    check: false,
    label: 'is the bundle unpacked on the host?',
  });
  return marker.stdout.trim() === bundle.seal;
}

export class BundlePhase implements Phase<NodeHost> {
  readonly title = 'Bundle onto the hosts (upload, check, unpack)';

  constructor(private readonly bundle: VerifiedBundle) {}

  private get family(): 'debian' | 'rhel' {
    return this.bundle.manifest.os.family;
  }

  async check(step: HostStep<NodeHost>): Promise<boolean> {
    if (!(await unpackedOn(step, this.bundle))) return true;
    const source = await step.probe(`cat ${BUNDLE_SOURCE_FILE[this.family]} 2>/dev/null`, {
      check: false,
      label: "the bundle's package source",
    });
    return source.stdout !== bundleSourceFile(this.family, bundleDir(this.bundle));
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const dir = bundleDir(this.bundle);
    const archive = `${BUNDLE_ROOT}/bundle.tar`;
    const q = shellQuote;
    const size = `${(this.bundle.size / 1024 / 1024).toFixed(1)} MiB`;
    if (!(await unpackedOn(step, this.bundle))) {
      await step.transfer(`upload the bundle (${size}) to ${archive}`, async () => {
        const result = await resumableUpload(step.host.ssh, this.bundle.localPath, archive, {
          size: this.bundle.size,
          sha256: this.bundle.sha256,
        });
        if (result.startedAt.some((at) => at > 0))
          step.note(`upload resumed at byte ${result.startedAt.filter((at) => at > 0).join(', ')}`);
        return result.changed;
      });
      const sums = this.bundle.manifest.files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
      await step.change(
        `unpack the bundle into ${dir} and check all ${this.bundle.manifest.files.length} files against bundle.json`,
        script(
          `rm -rf ${q(`${dir}.new`)}`,
          `mkdir -p ${q(`${dir}.new`)}`,
          // As root, tar would keep the archive's owners and modes (setuid, world-writable,
          // a uid that could rewrite a .deb between this check and apt): take neither.
          'umask 022',
          `tar --no-same-owner --no-same-permissions -xf ${q(archive)} -C ${q(`${dir}.new`)}`,
          `cd ${q(`${dir}.new`)}`,
          'sha256sum -c --quiet --strict -',
          `echo ${q(this.bundle.seal)} > ${MARKER}`,
          'cd /',
          `rm -rf ${q(dir)}`,
          `mv ${q(`${dir}.new`)} ${q(dir)}`,
          `rm -f ${q(archive)}`,
          // Earlier bundles: their space back.
          `find ${BUNDLE_ROOT} -mindepth 1 -maxdepth 1 -type d ` +
            `! -name ${q(dir.slice(BUNDLE_ROOT.length + 1))} -exec rm -rf {} +`,
        ),
        { stdin: sums, timeoutMs: 60 * 60_000 },
      );
    }
    await step.putFile(BUNDLE_SOURCE_FILE[this.family], bundleSourceFile(this.family, dir), { mode: 0o644 });
  }
}

/** containerd's k8s.io namespace gets every image of the bundle (what the kubelet will ask for). */
export class ImagesPhase implements Phase<NodeHost> {
  readonly title = 'Container images (from the bundle)';

  constructor(private readonly bundle: VerifiedBundle) {}

  private async present(step: HostStep<NodeHost>): Promise<Set<string>> {
    return new Set(
      (await step.probe('ctr -n k8s.io images ls -q', { label: "containerd's images (k8s.io)" })).stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const have = await this.present(step);
    const missing = this.bundle.manifest.images.filter((i) => !have.has(i.reference));
    for (const image of missing) {
      await step.change(
        `import ${image.reference}`,
        `ctr -n k8s.io images import ${shellQuote(`${bundleDir(this.bundle)}/${image.path}`)}`,
        { timeoutMs: 30 * 60_000 },
      );
    }
    if (step.dryRun || !missing.length) return;
    const now = await this.present(step);
    const absent = this.bundle.manifest.images.filter((i) => !now.has(i.reference)).map((i) => i.reference);
    if (absent.length)
      throw new Error(
        `${step.host.name}: after import containerd still lacks ${absent.join(', ')} ` +
          `(ctr -n k8s.io images ls shows them under other names?)`,
      );
  }
}
