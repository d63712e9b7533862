// Who made a bundle: an ed25519 signature over bundle.json's exact bytes, detached in
// its own member (bundle.json.sig). bundle.json names every other member's sha256, so
// the signature covers the whole archive. ed25519 through node:crypto: nothing to
// install on either machine, 32-byte keys, and the same bytes always give the same
// signature (a rebuilt bundle stays byte-identical). A key is named by its id, the
// sha256 of its SubjectPublicKeyInfo (DER), which is what the signature member records.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeAtomic } from '../base/atomic-write.js';

export const SIGNATURE_ALGORITHM = 'ed25519';

export const BundleSignatureSchema = z.strictObject({
  keyId: z.string().regex(/^[0-9a-f]{64}$/),
  algorithm: z.literal(SIGNATURE_ALGORITHM),
  /** base64 of the 64-byte ed25519 signature over bundle.json. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/),
});
export type BundleSignature = z.infer<typeof BundleSignatureSchema>;

/** A key file that cannot be used; exit 2 (the user gave the wrong file). */
export class SigningKeyError extends Error {
  readonly exitCode = 2;
}

export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function readKeyFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new SigningKeyError(
      `${path}: cannot read the ${what} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}) ` +
        `— make a key pair with kubestrap bundle keygen FILE`,
    );
  }
}

/** The private key: its content is never part of an error (a wrong file may still be a secret). */
export function readPrivateKey(path: string): KeyObject {
  const bytes = readKeyFile(path, 'private signing key');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: bytes, format: 'pem' });
  } catch {
    throw new SigningKeyError(
      `${path}: not a PEM private key — give the private key kubestrap bundle keygen wrote (not the .pub)`,
    );
  }
  if (key.asymmetricKeyType !== SIGNATURE_ALGORITHM)
    throw new SigningKeyError(
      `${path}: a ${key.asymmetricKeyType} key; bundles are signed with ed25519 keys ` +
        `— make one with kubestrap bundle keygen FILE`,
    );
  return key;
}

export function readPublicKey(path: string): KeyObject {
  const bytes = readKeyFile(path, 'public key');
  if (bytes.includes('PRIVATE KEY'))
    throw new SigningKeyError(
      `${path}: a private key; give its public half (the .pub file kubestrap bundle keygen wrote), ` +
        `and keep the private key off the machines that install`,
    );
  let key: KeyObject;
  try {
    key = createPublicKey({ key: bytes, format: 'pem' });
  } catch {
    throw new SigningKeyError(`${path}: not a PEM public key — give the .pub file kubestrap bundle keygen wrote`);
  }
  if (key.asymmetricKeyType !== SIGNATURE_ALGORITHM)
    throw new SigningKeyError(`${path}: a ${key.asymmetricKeyType} key; kubestrap bundles are signed with ed25519`);
  return key;
}

export interface GeneratedKey {
  readonly privatePath: string;
  readonly publicPath: string;
  readonly keyId: string;
}

/** A new key pair: FILE (private, 0600) and FILE.pub; an existing key is never overwritten. */
export async function generateSigningKey(privatePath: string): Promise<GeneratedKey> {
  const publicPath = `${privatePath}.pub`;
  for (const path of [privatePath, publicPath])
    if (existsSync(path))
      throw new SigningKeyError(
        `${path} exists; kubestrap will not overwrite a key (bundles signed with it would no longer verify) ` +
          `— choose another file name, or remove it yourself`,
      );
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await writeAtomic(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600);
  await writeAtomic(publicPath, publicKey.export({ type: 'spki', format: 'pem' }), 0o644);
  return { privatePath, publicPath, keyId: keyIdOf(publicKey) };
}

export function signManifest(manifest: Buffer, privateKey: KeyObject): BundleSignature {
  return {
    keyId: keyIdOf(privateKey),
    algorithm: SIGNATURE_ALGORITHM,
    signature: sign(null, manifest, privateKey).toString('base64'),
  };
}

export function signatureText(signature: BundleSignature): string {
  return `${JSON.stringify(signature, null, 2)}\n`;
}

/** Whether `signature` is `publicKey`'s over `manifest`: 'other-key' when another key made it. */
export function checkSignature(
  manifest: Buffer,
  signature: BundleSignature,
  publicKey: KeyObject,
): 'good' | 'other-key' | 'bad' {
  if (signature.keyId !== keyIdOf(publicKey)) return 'other-key';
  return verify(null, manifest, publicKey, Buffer.from(signature.signature, 'base64')) ? 'good' : 'bad';
}
