// Who made a bundle: keygen, signing, `bundle verify --key`, and `install` refusing a
// bundle it cannot authenticate before any host is touched. The bundles here are small
// ones written with the archive writer itself (no network); the tampered one is what an
// attacker can make without the private key: a replaced .deb with its size and sha256
// recomputed in bundle.json and the seal recomputed. Real bundles built and installed
// from signed repositories, and apt refusing the tampered .deb on a host, are in
// bundle-build.test.ts and install-offline.test.ts.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeBundle } from '../bundle/archive.js';
import { BUNDLE_FORMAT, type BundleManifest } from '../bundle/format.js';
import { readPrivateKey } from '../bundle/signing.js';
import { REPO_ROOT } from './support/fixtures.js';
import { tarMembers } from './support/tar.js';
import { run } from './support/tools.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function packed(members: readonly { name: string; data: Buffer | string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of members) pack.entry({ name: m.name, mtime: new Date(0), mode: 0o644 }, m.data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('signed bundles', () => {
  let work: string;
  let signed: string;
  let unsigned: string;
  let manifest: BundleManifest;
  const deb = Buffer.from('!<arch>\nthe real kubeadm package\n');

  const kubestrap = (args: string[]) =>
    run(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, NO_COLOR: '1' } });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'bundle-signing-'));
    writeFileSync(join(work, 'kubeadm.deb'), deb);
    manifest = {
      format: BUNDLE_FORMAT,
      createdBy: 'test',
      cluster: 'metal',
      specDigest: '0'.repeat(64),
      kubernetesVersion: '1.30.14',
      os: { family: 'debian', architecture: 'amd64' },
      files: [{ path: 'debs/kubernetes/kubeadm.deb', size: deb.length, sha256: sha(deb), kind: 'deb' }],
      images: [],
      hostRequires: [],
      aptRepositories: [],
      rpmRepositories: [],
    };
    const sources = new Map([['debs/kubernetes/kubeadm.deb', join(work, 'kubeadm.deb')]]);
    expect(kubestrap(['bundle', 'keygen', 'maker']).status).toBe(0);
    expect(kubestrap(['bundle', 'keygen', 'stranger']).status).toBe(0);
    signed = join(work, 'signed.tar');
    unsigned = join(work, 'unsigned.tar');
    await writeBundle(signed, manifest, sources, readPrivateKey(join(work, 'maker')));
    await writeBundle(unsigned, manifest, sources);
  });

  /** The attacker's bundle: another .deb, bundle.json and the seal made to match, the old signature kept or not. */
  async function tampered(name: string, keepSignature: boolean): Promise<string> {
    const evil = Buffer.from('!<arch>\na kubeadm that opens a root shell\n');
    const forged: BundleManifest = {
      ...manifest,
      files: [{ ...manifest.files[0]!, size: evil.length, sha256: sha(evil) }],
    };
    const text = `${JSON.stringify(forged, null, 2)}\n`;
    const original = await tarMembers(signed);
    const path = join(work, name);
    writeFileSync(
      path,
      await packed([
        { name: 'bundle.json', data: text },
        ...(keepSignature ? [original.find((m) => m.name === 'bundle.json.sig')!] : []),
        { name: 'debs/kubernetes/kubeadm.deb', data: evil },
        { name: 'bundle.json.sha256', data: `${sha(text)}  bundle.json\n` },
      ]),
    );
    return path;
  }

  it('keygen writes a 0600 private key and its public half, prints the key id, and never overwrites', () => {
    expect(statSync(join(work, 'maker')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(work, 'maker'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readFileSync(join(work, 'maker.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const again = kubestrap(['bundle', 'keygen', 'maker']);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/maker exists; kubestrap will not overwrite a key/);
    const json = kubestrap(['bundle', 'keygen', 'third', '--json']);
    const printed = JSON.parse(json.stdout) as { keyId: string };
    // The key id is the sha256 of the public key's DER SubjectPublicKeyInfo.
    const der = Buffer.from(readFileSync(join(work, 'third.pub'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(printed.keyId).toBe(sha(der));
    // Nothing of the private key in what keygen prints.
    const body = readFileSync(join(work, 'third'), 'utf8').split('\n')[1]!;
    expect(json.stdout + json.stderr).not.toContain(body.slice(0, 20));
  });

  it('puts the signature second, between bundle.json and the members, and the seal last', async () => {
    const names = (await tarMembers(signed)).map((m) => m.name);
    expect(names).toEqual(['bundle.json', 'bundle.json.sig', 'debs/kubernetes/kubeadm.deb', 'bundle.json.sha256']);
    const sig = JSON.parse((await tarMembers(signed))[1]!.data.toString()) as Record<string, string>;
    expect(Object.keys(sig)).toEqual(['keyId', 'algorithm', 'signature']);
    expect(sig.algorithm).toBe('ed25519');
  });

  it("verify --key accepts the maker's bundle and says it is authentic", () => {
    const result = kubestrap(['bundle', 'verify', signed, '--key', 'maker.pub']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/signed by maker\.pub \(key [0-9a-f]{64}\): authentic/);
  });

  it('verify without --key names the signing key and does not claim authenticity', () => {
    const keyId = (JSON.parse(kubestrap(['bundle', 'verify', signed, '--json']).stdout) as { signedBy: string })
      .signedBy;
    expect(keyId).toMatch(/^[0-9a-f]{64}$/);
    const result = kubestrap(['bundle', 'verify', signed]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`signed by key ${keyId}, NOT checked: give --key PUBLIC-KEY`);
    expect(result.stdout).not.toMatch(/authentic/);
    const plain = kubestrap(['bundle', 'verify', unsigned]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/UNSIGNED: nothing shows who made it/);
  });

  it.each([
    ['unsigned', () => unsigned, /is not signed \(it has no bundle\.json\.sig\)/],
    ['signed by another key', () => signed, /is signed by key [0-9a-f]{64}, not by stranger\.pub \(key [0-9a-f]{64}\)/],
  ])('verify --key refuses a bundle %s (exit 2)', (_what, bundle, message) => {
    const key = bundle() === signed ? 'stranger.pub' : 'maker.pub';
    const result = kubestrap(['bundle', 'verify', bundle(), '--key', key]);
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(2);
  });

  it('a replaced .deb with recomputed digests and seal passes the digests but not the signature', async () => {
    const kept = await tampered('tampered.tar', true);
    // The hashes and seal alone are satisfied: this is what the seal could never catch.
    expect(kubestrap(['bundle', 'verify', kept]).status).toBe(0);
    const result = kubestrap(['bundle', 'verify', kept, '--key', 'maker.pub']);
    expect(result.stderr).toMatch(/bundle\.json\.sig is not a good signature of maker\.pub over bundle\.json/);
    expect(result.status).toBe(2);
    const dropped = kubestrap([
      'bundle',
      'verify',
      await tampered('tampered-unsigned.tar', false),
      '--key',
      'maker.pub',
    ]);
    expect(dropped.stderr).toMatch(/is not signed/);
    expect(dropped.status).toBe(2);
  });

  it('refuses a bundle of the previous format, saying to make it again', async () => {
    const text = `${JSON.stringify({ ...manifest, format: 1 }, null, 2)}\n`;
    const path = join(work, 'format1.tar');
    writeFileSync(path, await packed([{ name: 'bundle.json', data: text }]));
    const result = kubestrap(['bundle', 'verify', path]);
    expect(result.stderr).toMatch(/a bundle of format 1; this kubestrap reads format 2 .* make the bundle again/);
    expect(result.status).toBe(2);
  });

  it('refuses a private key given as the public one, without printing it', () => {
    const result = kubestrap(['bundle', 'verify', signed, '--key', 'maker']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/maker: a private key; give its public half/);
    expect(result.stderr).not.toContain(readFileSync(join(work, 'maker'), 'utf8').split('\n')[1]!.slice(0, 20));
  });

  describe('install', () => {
    const install = (bundle: string, ...flags: string[]) => {
      copyFileSync(join(REPO_ROOT, 'test/fixtures/specs/existing.yaml'), join(work, 'cluster.yaml'));
      return kubestrap(['install', '-f', 'cluster.yaml', '--bundle', bundle, ...flags]);
    };
    const untouched = () => expect(existsSync(join(work, '.kubestrap'))).toBe(false);

    it.each([
      [
        'an unsigned bundle without a key',
        () => unsigned,
        [],
        /give --key PUBLIC-KEY \(or spec\.packages\.bundleKey\)/,
      ],
      ['a signed bundle without a key', () => signed, [], /give --key PUBLIC-KEY/],
      ['an unsigned bundle', () => unsigned, ['--key', 'maker.pub'], /is not signed/],
      ['a bundle of another key', () => signed, ['--key', 'stranger.pub'], /is signed by key [0-9a-f]{64}, not by/],
      ['the key and --insecure-unsigned both', () => signed, ['--key', 'maker.pub', '--insecure-unsigned'], /drop one/],
    ])('refuses %s before anything is done (exit 2)', (_what, bundle, flags, message) => {
      const result = install(bundle(), ...flags);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/Nothing was done/);
      expect(result.status).toBe(2);
      untouched();
    });

    it('refuses the tampered bundle by its signature', async () => {
      const result = install(await tampered('tampered2.tar', true), '--key', 'maker.pub');
      expect(result.stderr).toMatch(/is not a good signature/);
      expect(result.status).toBe(2);
      untouched();
    });

    it('goes past the signature check with the right key (or --insecure-unsigned, warning)', () => {
      // The next check (the bundle fits the spec) is what stops these small bundles.
      const good = install(signed, '--key', 'maker.pub');
      expect(good.stderr).toMatch(/does not fit this spec/);
      expect(good.stderr).not.toMatch(/not signed|signature|signed by key/);
      const insecure = install(unsigned, '--insecure-unsigned');
      expect(insecure.stderr).toMatch(/^warning: --insecure-unsigned: the bundle is installed without checking/);
      expect(insecure.stderr).toMatch(/does not fit this spec/);
    });

    it('rebuild refuses a bundle without a key before it destroys anything', () => {
      copyFileSync(join(REPO_ROOT, 'test/fixtures/specs/existing.yaml'), join(work, 'cluster.yaml'));
      const result = kubestrap(['rebuild', '-f', 'cluster.yaml', '--yes', '--bundle', signed]);
      expect(result.stderr).toMatch(/give --key PUBLIC-KEY/);
      expect(result.stdout).not.toMatch(/destroy/i);
      expect(result.status).toBe(2);
      untouched();
    });

    it('takes the key from spec.packages.bundleKey, relative to the spec', () => {
      const spec = readFileSync(join(REPO_ROOT, 'test/fixtures/specs/existing.yaml'), 'utf8');
      writeFileSync(join(work, 'keyed.yaml'), `${spec}  packages:\n    bundleKey: stranger.pub\n`);
      const result = kubestrap(['install', '-f', 'keyed.yaml', '--bundle', signed]);
      expect(result.stderr).toMatch(/not by .*stranger\.pub/);
      expect(result.status).toBe(2);
      untouched();
    });
  });
});
