// An offline install's bundle, checked on this machine (who signed it, every member's
// size and sha256, and that it fits this spec) before any host is touched.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { EventSink } from '../engine/events.js';
import type { TrustedKey } from '../bundle/verify.js';
import type { VerifiedBundle } from '../provisioners/bundle.js';
import type { ClusterModel } from '../spec/model.js';
import { InvalidInputError } from './errors.js';

/** A path the spec names, read relative to the spec's own directory. */
export function specRelative(file: string | undefined, path: string): string {
  return resolve(file ? dirname(resolve(file)) : process.cwd(), path);
}

/** Who must have signed the bundle: --key (or the spec's packages.bundleKey), or explicitly no one. */
export interface BundleTrust {
  readonly key?: string | undefined;
  readonly insecureUnsigned?: boolean | undefined;
}

/** The bundle from --bundle or the spec's packages.bundle, verified; undefined for an online install. */
export async function offlineBundle(
  model: ClusterModel,
  file: string | undefined,
  bundle: string | undefined,
  sink: EventSink,
  trust: BundleTrust = {},
): Promise<VerifiedBundle | undefined> {
  const fromSpec =
    model.packages.source === 'bundle' && model.packages.bundle ? specRelative(file, model.packages.bundle) : undefined;
  const given = bundle ? resolve(bundle) : fromSpec;
  if (!given) return undefined;
  const verified = await verifiedBundle(model, file, given, sink, trust);
  const { bundleProblems } = await import('../bundle/coverage.js');
  const problems = bundleProblems(model, verified.manifest);
  if (problems.length) {
    const list = problems.map((p) => `  - ${p}`).join('\n');
    throw new InvalidInputError(
      `the bundle ${given} does not fit this spec:\n${list}\n` +
        `Make a bundle from this spec (kubestrap bundle -f SPEC -o FILE). Nothing was done.`,
    );
  }
  return verified;
}

/**
 * A bundle file checked on this machine: signed by the trusted key (or explicitly
 * unsigned), every member's size and sha256 as bundle.json says. Whether it fits a
 * spec is the caller's question.
 */
export async function verifiedBundle(
  model: ClusterModel,
  file: string | undefined,
  given: string,
  sink: EventSink,
  trust: BundleTrust,
): Promise<VerifiedBundle> {
  const { verifyBundle, BundleError } = await import('../bundle/verify.js');
  if (!existsSync(given))
    throw new InvalidInputError(
      `${given}: no such bundle — make one with kubestrap bundle -o FILE on a connected machine. Nothing was done.`,
    );
  const trusted = await trustedKey(model, file, given, trust);
  sink.progress?.({ step: `Checking the bundle ${given}` });
  let verified;
  try {
    verified = await verifyBundle(
      given,
      (p) => sink.progress?.({ what: `verify ${p.member}`, bytes: p.bytes, total: p.total }),
      trusted,
    );
  } catch (error) {
    if (error instanceof BundleError) throw new InvalidInputError(`${error.message}. Nothing was done on any host.`);
    throw error;
  } finally {
    sink.progress?.({ done: true });
  }
  return { localPath: given, ...verified };
}

/**
 * The key a bundle must be signed with (undefined with --insecure-unsigned), or the
 * refusal: a bundle nobody vouches for is not installed by default.
 */
export async function trustedKey(
  model: ClusterModel,
  file: string | undefined,
  given: string,
  trust: BundleTrust,
): Promise<TrustedKey | undefined> {
  const { readPublicKey } = await import('../bundle/signing.js');
  const keyPath = trust.key
    ? resolve(trust.key)
    : model.packages.bundleKey
      ? specRelative(file, model.packages.bundleKey)
      : undefined;
  if (keyPath && trust.insecureUnsigned)
    throw new InvalidInputError(
      `--insecure-unsigned and a bundle key (${keyPath}) were both given: the key says check who made the bundle, ` +
        `the flag says do not — drop one. Nothing was done.`,
    );
  if (!keyPath && !trust.insecureUnsigned)
    throw new InvalidInputError(
      `${given}: give --key PUBLIC-KEY (or spec.packages.bundleKey): the public half of the key the bundle was ` +
        `signed with (kubestrap bundle keygen FILE, then kubestrap bundle --sign-key FILE). Without it anyone who ` +
        `could change the bundle would choose what runs as root on every host. --insecure-unsigned installs ` +
        `without that check. Nothing was done.`,
    );
  return keyPath ? { key: readPublicKey(keyPath), path: keyPath } : undefined;
}
