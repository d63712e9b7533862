// `kubestrap rebuild`: destroy + up from the same spec; asks first on a terminal.
import { rebuild } from '../../operations/rebuild.js';
import { confirm } from '../confirm.js';
import { EXIT } from '../exit-codes.js';
import { withSession } from '../session.js';
import { printDestroy } from './destroy.js';
import { printUp, upOptions, type UpFlags } from './up.js';

export async function rebuildCommand(flags: UpFlags & { yes?: boolean }): Promise<number> {
  let declined: number | undefined;
  const ask = async (cluster: string) => {
    if (flags.yes) return true;
    declined = await confirm(
      `Destroy and rebuild cluster ${cluster}?`,
      `rebuild destroys the machines of cluster ${cluster} first`,
    );
    return declined === undefined;
  };
  const options = upOptions(flags);
  const result = await withSession(flags.json ?? false, (context) => rebuild(options, context, ask));
  if (!result.destroyed) return declined ?? EXIT.failure;
  const destroyed = printDestroy(result.destroyed, flags);
  return result.up ? printUp(result.up, flags) : destroyed;
}
