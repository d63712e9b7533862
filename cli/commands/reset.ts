// `kubestrap reset`: Kubernetes off every host; asks first on a terminal.
import { reset } from '../../operations/reset.js';
import { confirm } from '../confirm.js';
import { concurrencyFlag, runExit, withSession } from '../session.js';

export async function resetCommand(flags: {
  file?: string;
  json?: boolean;
  dryRun?: boolean;
  concurrency?: string;
  yes?: boolean;
}): Promise<number> {
  let declined: number | undefined;
  const ask = async ({ nodes, disks }: { nodes: string[]; disks: string[] }) => {
    if (flags.yes) return true;
    const wipe = disks.length ? ` and wipe ${disks.join(', ')}` : '';
    declined = await confirm(
      `Reset ${nodes.join(', ')}${wipe}?`,
      'reset wipes Kubernetes (and Rook disks named in the spec) from every host',
    );
    return declined === undefined;
  };
  const options = { ...flags, concurrency: concurrencyFlag(flags.concurrency) };
  const ran = await withSession(flags.json ?? false, (context) => reset(options, context, ask));
  return ran ? runExit(ran, flags) : declined!;
}
