// `ssh NODE [-- CMD…]`: a command (as the login user, output streamed, its exit code
// returned), or an interactive shell — through the same transport and host-key trust
// as the phases.
import { interactiveShell } from '../ssh/shell.js';
import { loadClusterSpec } from './cluster-spec.js';
import type { ClusterOptions } from './context.js';
import { clusterHosts, clusterPool, findNode } from './hosts.js';

export interface SshOptions extends ClusterOptions {
  readonly node: string;
  /** Run this instead of a shell. */
  readonly command: readonly string[];
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Resolves the command's (or shell's) exit code; undefined when it had none (a signal). */
export async function ssh(options: SshOptions): Promise<number | undefined> {
  const { model } = await loadClusterSpec(options.file);
  const target = findNode(model, options.node);
  const pool = clusterPool(model, options.file);
  try {
    const [host] = await clusterHosts(model, pool, options.verbose ?? false, [target.name]);
    if (!host) throw new Error(`no SSH settings for ${target.name}`);
    if (!options.command.length)
      return await interactiveShell(await host.ssh.connection(), options.stdin, options.stdout);
    const result = await host.ssh.exec(options.command.join(' '), {
      sudo: false,
      check: false,
      timeoutMs: 24 * 3600_000,
      onOutput: (text, stream) => (stream === 'stdout' ? options.stdout : options.stderr).write(text),
    });
    return result.code ?? undefined;
  } finally {
    await pool.close();
  }
}
