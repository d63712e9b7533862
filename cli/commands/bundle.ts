// `kubestrap bundle` and `kubestrap bundle verify`.
import { bundle, bundleVerify } from '../../operations/bundle.js';
import { EXIT } from '../exit-codes.js';
import { withSession } from '../session.js';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const say = (line: string) => void process.stdout.write(`${line}\n`);

export async function bundleCommand(flags: { file?: string; output?: string; json?: boolean }): Promise<number> {
  const { path, size, manifest, packages } = await withSession(flags.json ?? false, (context) =>
    bundle(flags, context),
  );
  if (flags.json) {
    const packageList = packages.map((p) => `${p.name}=${p.version}`);
    say(
      JSON.stringify({
        ok: true,
        bundle: path,
        size,
        files: manifest.files.length,
        packages: packageList,
        images: manifest.images,
        hostRequires: manifest.hostRequires,
      }),
    );
    return EXIT.ok;
  }
  say(
    `wrote ${path} (${mib(size)}): Kubernetes ${manifest.kubernetesVersion} ` +
      `for ${manifest.os.family}/${manifest.os.architecture}, ${manifest.files.length} files`,
  );
  for (const p of packages) say(`  package ${p.name} ${p.version}`);
  for (const i of manifest.images) say(`  image ${i.reference} (${i.digest.slice(0, 19)}…)`);
  if (manifest.hostRequires.length) {
    say(
      `the hosts must already have (every ${manifest.os.family} install does; ` +
        `install checks before it changes anything):`,
    );
    for (const r of manifest.hostRequires) say(`  ${r.relation}   (for ${r.neededBy})`);
  }
  return EXIT.ok;
}

export async function bundleVerifyCommand(file: string, flags: { json?: boolean }): Promise<number> {
  const { path, size, manifest, seconds } = await withSession(flags.json ?? false, (context) =>
    bundleVerify(file, context),
  );
  const { kubernetesVersion, cluster, specDigest } = manifest;
  if (flags.json)
    say(
      JSON.stringify({
        ok: true,
        bundle: path,
        size,
        files: manifest.files.length,
        kubernetesVersion,
        cluster,
        specDigest,
        seconds,
      }),
    );
  else {
    const checked = `${manifest.files.length} files, ${mib(size)}, every size and sha256 as bundle.json lists them`;
    say(`${path}: ok — ${checked}; Kubernetes ${kubernetesVersion} for cluster ${cluster} (${seconds.toFixed(1)} s)`);
  }
  return EXIT.ok;
}
