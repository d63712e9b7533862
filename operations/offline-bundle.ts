// An offline install's bundle, checked on this machine (every member's size and sha256,
// and that it fits this spec) before any host is touched.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { EventSink } from '../engine/events.js';
import type { VerifiedBundle } from '../provisioners/bundle.js';
import type { ClusterModel } from '../spec/model.js';
import { InvalidInputError } from './errors.js';

/** A path the spec names, read relative to the spec's own directory. */
export function specRelative(file: string | undefined, path: string): string {
  return resolve(file ? dirname(resolve(file)) : process.cwd(), path);
}

/** The bundle from --bundle or the spec's packages.bundle, verified; undefined for an online install. */
export async function offlineBundle(
  model: ClusterModel,
  file: string | undefined,
  bundle: string | undefined,
  sink: EventSink,
): Promise<VerifiedBundle | undefined> {
  const fromSpec =
    model.packages.source === 'bundle' && model.packages.bundle ? specRelative(file, model.packages.bundle) : undefined;
  const given = bundle ? resolve(bundle) : fromSpec;
  if (!given) return undefined;
  const { verifyBundle, BundleError } = await import('../bundle/verify.js');
  const { bundleProblems } = await import('../bundle/coverage.js');
  if (!existsSync(given))
    throw new InvalidInputError(
      `${given}: no such bundle — make one with kubestrap bundle -o FILE on a connected machine. Nothing was done.`,
    );
  sink.progress?.({ step: `Checking the bundle ${given}` });
  let verified;
  try {
    verified = await verifyBundle(given, (p) =>
      sink.progress?.({ what: `verify ${p.member}`, bytes: p.bytes, total: p.total }),
    );
  } catch (error) {
    if (error instanceof BundleError) throw new InvalidInputError(`${error.message}. Nothing was done on any host.`);
    throw error;
  } finally {
    sink.progress?.({ done: true });
  }
  const problems = bundleProblems(model, verified.manifest);
  if (problems.length) {
    const list = problems.map((p) => `  - ${p}`).join('\n');
    throw new InvalidInputError(
      `the bundle ${given} does not fit this spec:\n${list}\n` +
        `Make a bundle from this spec (kubestrap bundle -f SPEC -o FILE). Nothing was done.`,
    );
  }
  return { localPath: given, ...verified };
}
