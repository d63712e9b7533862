import { loadClusterSpec } from '../cluster-spec.js';
import { confirm } from '../confirm.js';
import { EXIT } from '../exit-codes.js';
import { destroyCommand } from './destroy.js';
import { upCommand, type UpFlags } from './up.js';

/** destroy + up from the same spec: the same rendered files, the same cluster. */
export async function rebuildCommand(flags: UpFlags & { yes?: boolean }): Promise<number> {
  if (!flags.yes) {
    const { model } = await loadClusterSpec(flags.file);
    const stop = await confirm(`Destroy and rebuild cluster ${model.name}?`, `rebuild destroys the machines of cluster ${model.name} first`);
    if (stop !== undefined) return stop;
  }
  const destroyed = await destroyCommand({ ...flags, yes: true });
  if (destroyed !== EXIT.ok) return destroyed;
  return upCommand(flags);
}
