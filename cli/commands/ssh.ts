import { interactiveShell } from '../../ssh/shell.js';
import { loadClusterSpec } from '../cluster-spec.js';
import { EXIT } from '../exit-codes.js';
import { clusterHosts, clusterPool } from '../phase-run.js';

export interface SshFlags {
  readonly file?: string;
  readonly verbose?: boolean;
}

/**
 * `kubestrap ssh NODE [-- CMD…]`: a command (as the login user, output streamed, its
 * exit code returned), or an interactive shell — through the same transport and the
 * same host-key trust as the phases.
 */
export async function sshCommand(node: string, command: string[], flags: SshFlags): Promise<number> {
  const { model } = await loadClusterSpec(flags.file);
  const target = model.nodes.find((n) => n.name === node || n.hostname === node);
  if (!target) {
    process.stderr.write(`kubestrap: no node ${node} in cluster ${model.name}; nodes: ${model.nodes.map((n) => n.name).join(', ')}\n`);
    return EXIT.invalidInput;
  }
  const pool = clusterPool(model, flags.file);
  try {
    const [host] = await clusterHosts(model, pool, flags.verbose ?? false, [target.name]);
    if (!host) throw new Error(`no SSH settings for ${target.name}`);
    if (command.length) {
      const result = await host.ssh.exec(command.join(' '), {
        sudo: false,
        check: false,
        timeoutMs: 24 * 3600_000,
        onOutput: (text, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
      });
      return result.code ?? EXIT.failure;
    }
    return await interactiveShell(await host.ssh.connection(), process.stdin, process.stdout);
  } finally {
    await pool.close();
  }
}
