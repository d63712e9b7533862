// `kubestrap forget-host NODE`: after a machine was recreated.
import { forgetHost } from '../../operations/forget-host.js';
import { oneLine } from '../../base/terminal-text.js';
import { EXIT } from '../exit-codes.js';
import { stderrNote } from '../report.js';

export async function forgetHostCommand(node: string, flags: { file?: string; json?: boolean }): Promise<number> {
  const { removed, path, node: name } = await forgetHost(node, flags, stderrNote);
  if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, node: name, path, removed })}\n`);
  else if (!removed.length) process.stdout.write(`no host key of ${name} was recorded in ${path}\n`);
  else
    process.stdout.write(
      `forgot ${removed.length} host key(s) of ${name} in ${path}:\n` +
        removed.map((r) => `  ${oneLine(r.host)} ${oneLine(r.key)}\n`).join(''),
    );
  return EXIT.ok;
}
