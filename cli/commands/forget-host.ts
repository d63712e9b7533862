// `kubestrap forget-host NODE`: after a machine was recreated.
import { forgetHost } from '../../operations/forget-host.js';
import { EXIT } from '../exit-codes.js';
import { stderrNote } from '../report.js';

export async function forgetHostCommand(node: string, flags: { file?: string; json?: boolean }): Promise<number> {
  const { removed, path, node: name } = await forgetHost(node, flags, stderrNote);
  if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, node: name, removed })}\n`);
  else process.stdout.write(`forgot ${removed} host key(s) of ${name} in ${path}\n`);
  return EXIT.ok;
}
