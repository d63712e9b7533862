// `rebuild`: destroy, then up from the same spec — the same rendered files, the same cluster.
import { resolve } from 'node:path';
import { loadClusterSpec } from './cluster-spec.js';
import { lockNote, withClusterLock } from './cluster-lock.js';
import type { OperationContext } from './context.js';
import { destroy, type DestroyResult } from './destroy.js';
import { specRelative, trustedKey } from './offline-bundle.js';
import { up, type UpOptions, type UpResult } from './up.js';

export async function rebuild(
  options: UpOptions,
  context: OperationContext,
  confirm: (cluster: string) => Promise<boolean>,
): Promise<{ destroyed: DestroyResult | undefined; up?: UpResult }> {
  // A bundle nobody vouches for is refused before the machines are destroyed, not after.
  const { model } = await loadClusterSpec(options.file);
  const fromSpec = model.packages.source === 'bundle' ? model.packages.bundle : undefined;
  const bundle = options.bundle ? resolve(options.bundle) : fromSpec && specRelative(options.file, fromSpec);
  if (bundle) await trustedKey(model, options.file, bundle, options);
  // One lock over both halves: no other run may slip in between the destroy and the up.
  return withClusterLock(model.name, 'rebuild', lockNote(context), async () => {
    const destroyed = await destroy(options, context, (cluster) => confirm(cluster));
    if (!destroyed?.ok) return { destroyed };
    return { destroyed, up: await up(options, context) };
  });
}
