import { SshPool } from '../../ssh/pool.js';
import { interactiveShell } from '../../ssh/shell.js';
import { loadClusterSpec } from '../cluster-spec.js';
import { EXIT } from '../exit-codes.js';
import { clusterHosts } from '../phase-run.js';
import { knownHostsPath, logDir } from '../workdir.js';

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
  const pool = new SshPool({ knownHostsPath: knownHostsPath(model.name), logDir: logDir(model.name) });
  try {
    let host;
    if (model.machines.provider === 'existing') {
      host = (await clusterHosts(model, pool)).find((h) => h.name === target.name)!;
    } else {
      const { machineHosts, vagrantDriver } = await import('../machines.js');
      host = (await machineHosts(model, pool, vagrantDriver(model, flags.verbose ?? false), [target.name]))[0]!;
    }
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
