// OpenPGP checks of repository metadata and packages, with the tools that apt and dnf
// trust themselves: gpgv for signed metadata (Debian's InRelease, rpm repositories'
// repomd.xml.asc), rpmkeys for signed .rpm files. The key is the one the spec (or the
// repository's published key URL) gives, never one found beside the data it signs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export class RepositoryError extends Error {
  readonly exitCode = 1;
}

const missing = (where: string, tools: string, install: string) =>
  new RepositoryError(`${where}: ${tools} needed to check signatures (Debian/Ubuntu: apt-get install ${install})`);
const lastLines = (text: string) => text.trim().split('\n').slice(-2).join(' ');
export const isArmoured = (key: Buffer) => key.subarray(0, 40).toString('latin1').includes('-----BEGIN PGP');

/** A scratch directory holding the key as a binary keyring gpgv reads, removed afterwards. */
async function withKeyring<T>(
  key: Buffer,
  where: string,
  use: (keyring: string, dir: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'kubestrap-gpgv-'));
  try {
    const keyring = join(dir, 'key.gpg');
    if (isArmoured(key)) {
      writeFileSync(join(dir, 'key.asc'), key);
      const dearmored = await execa(
        'gpg',
        ['--batch', '--homedir', dir, '--dearmor', '--output', keyring, join(dir, 'key.asc')],
        { reject: false },
      );
      if (dearmored.code === 'ENOENT') throw missing(where, 'gpg and gpgv are', 'gpg gpgv');
      if (dearmored.exitCode !== 0)
        throw new RepositoryError(`${where}: cannot read its signing key: ${dearmored.stderr.trim()}`);
    } else writeFileSync(keyring, key);
    return await use(keyring, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** gpgv with the key as its only keyring; `what` names the signed file in the refusal. */
async function gpgv(keyring: string, args: readonly string[], what: string, where: string): Promise<void> {
  const result = await execa('gpgv', ['--keyring', keyring, ...args], { reject: false });
  if (result.code === 'ENOENT') throw missing(where, 'gpg and gpgv are', 'gpg gpgv');
  if (result.exitCode !== 0)
    throw new RepositoryError(`${where}: ${what} is not signed by the repository's key: ${lastLines(result.stderr)}`);
}

/** A clearsigned file (InRelease) checked with gpgv; returns the signed text only. */
export async function verifyClearsigned(key: Buffer, signed: Buffer, what: string, where: string): Promise<string> {
  return withKeyring(key, where, async (keyring, dir) => {
    writeFileSync(join(dir, 'signed'), signed);
    await gpgv(keyring, ['--output', join(dir, 'text'), join(dir, 'signed')], what, where);
    return readFileSync(join(dir, 'text'), 'utf8');
  });
}

/** A detached signature (repomd.xml.asc) over `data`, checked with gpgv. */
export async function verifyDetached(
  key: Buffer,
  data: Buffer,
  signature: Buffer,
  what: string,
  where: string,
): Promise<void> {
  await withKeyring(key, where, async (keyring, dir) => {
    writeFileSync(join(dir, 'data'), data);
    writeFileSync(join(dir, 'data.asc'), signature);
    await gpgv(keyring, [join(dir, 'data.asc'), join(dir, 'data')], what, where);
  });
}

/**
 * Each .rpm's own signature, checked with rpmkeys against a scratch rpm database that
 * holds only the repository's key: for repositories that sign packages, not metadata.
 */
export async function verifyRpmSignatures(key: Buffer, files: readonly string[], where: string): Promise<void> {
  if (!files.length) return;
  const dir = mkdtempSync(join(tmpdir(), 'kubestrap-rpmkeys-'));
  try {
    writeFileSync(join(dir, 'key.asc'), key);
    const db = ['--dbpath', join(dir, 'db')];
    const imported = await execa('rpmkeys', [...db, '--import', join(dir, 'key.asc')], { reject: false });
    if (imported.code === 'ENOENT') throw missing(where, 'rpmkeys is', 'rpm');
    if (imported.exitCode !== 0)
      throw new RepositoryError(`${where}: rpmkeys cannot import its signing key: ${lastLines(imported.stderr)}`);
    for (const file of files) {
      const checked = await execa('rpmkeys', [...db, '--checksig', '--verbose', file], { reject: false });
      // Without --nosignature rpmkeys also passes unsigned packages on their digests alone.
      const text = `${checked.stdout}\n${checked.stderr}`;
      // rpm 4.x: "Header V4 RSA/SHA256 Signature, key ID …: OK";
      // rpm 6: "Header OpenPGP V4 … signature, key fingerprint: …: OK".
      if (
        checked.exitCode !== 0 ||
        !/Header (OpenPGP )?V\d \S+ [Ss]ignature, key (ID|fingerprint:?) [0-9a-f]+: OK/.test(text)
      ) {
        throw new RepositoryError(
          `${where}: ${file.replace(/^.*\//, '')} is not signed by the repository's key ` +
            `(rpmkeys --checksig: ${lastLines(text)})`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
