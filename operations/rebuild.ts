// `rebuild`: destroy, then up from the same spec — the same rendered files, the same cluster.
import { loadClusterSpec } from './cluster-spec.js';
import { lockNote, withClusterLock } from './cluster-lock.js';
import type { OperationContext } from './context.js';
import { destroy, type DestroyResult } from './destroy.js';
import { up, type UpOptions, type UpResult } from './up.js';

export async function rebuild(
  options: UpOptions,
  context: OperationContext,
  confirm: (cluster: string) => Promise<boolean>,
): Promise<{ destroyed: DestroyResult | undefined; up?: UpResult }> {
  const { model } = await loadClusterSpec(options.file);
  // One lock over both halves: no other run may slip in between the destroy and the up.
  return withClusterLock(model.name, 'rebuild', lockNote(context), async () => {
    const destroyed = await destroy(options, context, (cluster) => confirm(cluster));
    if (!destroyed?.ok) return { destroyed };
    return { destroyed, up: await up(options, context) };
  });
}
