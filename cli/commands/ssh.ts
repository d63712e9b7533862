// `kubestrap ssh NODE [-- CMD…]`: a shell on a node, or a command's output and exit code.
import { ssh } from '../../operations/ssh.js';
import { EXIT } from '../exit-codes.js';

export async function sshCommand(
  node: string,
  command: string[],
  flags: { file?: string; verbose?: boolean },
): Promise<number> {
  const code = await ssh({
    ...flags,
    node,
    command,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  });
  return code ?? EXIT.failure;
}
