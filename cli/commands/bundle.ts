// `kubestrap bundle`, `kubestrap bundle verify` and `kubestrap bundle keygen`.
import { bundle, bundleKeygen, bundleVerify } from '../../operations/bundle.js';
import { EXIT } from '../exit-codes.js';
import { withSession } from '../session.js';
import { visible } from '../../base/terminal-text.js';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const say = (line: string) => void process.stdout.write(`${visible(line)}\n`);

export async function bundleCommand(flags: {
  file?: string;
  output?: string;
  signKey?: string;
  json?: boolean;
}): Promise<number> {
  const { path, size, manifest, packages, keyId } = await withSession(flags.json ?? false, (context) =>
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
        signedBy: keyId ?? null,
      }),
    );
    return EXIT.ok;
  }
  say(
    `wrote ${path} (${mib(size)}): Kubernetes ${manifest.kubernetesVersion} ` +
      `for ${manifest.os.family}/${manifest.os.architecture}, ${manifest.files.length} files`,
  );
  say(
    keyId
      ? `signed with key ${keyId}`
      : 'UNSIGNED (no --sign-key): install refuses it unless given --insecure-unsigned',
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

export async function bundleVerifyCommand(file: string, flags: { json?: boolean; key?: string }): Promise<number> {
  const { path, size, manifest, seconds, signature, authenticated } = await withSession(
    flags.json ?? false,
    (context) => bundleVerify(file, flags.key, context),
  );
  const { kubernetesVersion, cluster, specDigest } = manifest;
  // Without --key a signature only says which key claims the bundle: anyone can sign with a key of their own.
  const signer = authenticated
    ? `signed by ${flags.key} (key ${signature!.keyId}): authentic`
    : signature
      ? `signed by key ${signature.keyId}, NOT checked: give --key PUBLIC-KEY to check who made it`
      : 'UNSIGNED: nothing shows who made it (install refuses it without --insecure-unsigned)';
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
        signedBy: signature?.keyId ?? null,
        authenticated,
        seconds,
      }),
    );
  else {
    const checked = `${manifest.files.length} files, ${mib(size)}, every size and sha256 as bundle.json lists them`;
    say(`${path}: ok — ${checked}; Kubernetes ${kubernetesVersion} for cluster ${cluster} (${seconds.toFixed(1)} s)`);
    say(`${path}: ${signer}`);
  }
  return EXIT.ok;
}

export async function bundleKeygenCommand(file: string | undefined, flags: { json?: boolean }): Promise<number> {
  const { privatePath, publicPath, keyId } = await bundleKeygen(file);
  if (flags.json) say(JSON.stringify({ ok: true, privateKey: privatePath, publicKey: publicPath, keyId }));
  else {
    say(`wrote ${privatePath} (private key, mode 0600: keep it on the machine that makes bundles)`);
    say(`wrote ${publicPath} (public key: give it to install --key and bundle verify --key)`);
    say(`key id ${keyId}`);
  }
  return EXIT.ok;
}
