// `kubestrap destroy`: the machines, their disks and the cluster's local state; asks
// first on a terminal.
import { destroy, type DestroyResult } from '../../operations/destroy.js';
import { confirm } from '../confirm.js';
import { EXIT } from '../exit-codes.js';
import { withSession } from '../session.js';
import { visible } from '../../base/terminal-text.js';

export interface DestroyFlags {
  readonly file?: string;
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

export function printDestroy(result: DestroyResult, flags: DestroyFlags): number {
  if (!result.ok) {
    const list = result.leftovers.map((l) => `  - ${l}`).join('\n');
    const message =
      `vagrant destroy finished but ${result.provider} still holds:\n${list}\n` +
      `Remove them by hand (virsh undefine/vol-delete, or VBoxManage unregistervm --delete); ` +
      `the working directory ${result.kept} was kept, without the machines' ${result.forgotHostKeys} ` +
      `host key(s): the machines are gone.`;
    if (flags.json)
      process.stdout.write(
        `${JSON.stringify({ ok: false, leftovers: result.leftovers, forgotHostKeys: result.forgotHostKeys })}\n`,
      );
    else process.stderr.write(`kubestrap: ${visible(message)}\n`);
    return EXIT.failure;
  }
  const { cluster, destroyed, removed, seconds, provider } = result;
  if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, cluster, destroyed, removed, seconds })}\n`);
  else
    process.stdout.write(
      `Destroyed ${destroyed.join(', ')} (${provider}) in ${seconds.toFixed(1)} s; ` +
        `nothing of cluster ${cluster} is left in ${provider}; removed ${removed}\n`,
    );
  return EXIT.ok;
}

export async function destroyCommand(flags: DestroyFlags): Promise<number> {
  let declined: number | undefined;
  const ask = async (cluster: string, machines: readonly string[], provider: string) => {
    if (flags.yes) return true;
    declined = await confirm(
      `Destroy ${machines.join(', ')} of cluster ${cluster} (${provider}) and their disks?`,
      `destroy deletes the machines of cluster ${cluster} and their disks`,
    );
    return declined === undefined;
  };
  const result = await withSession(flags.json ?? false, (context) => destroy(flags, context, ask));
  return result ? printDestroy(result, flags) : declined!;
}
