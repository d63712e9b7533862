// What every command that drives hosts shares: SSH targets for the cluster's nodes, a
// pool with the cluster's known_hosts and logs, Ctrl-C handling, and the report.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { NodeHost, SshNodeHost } from '../provisioners/cluster-host.js';
import type { Phase } from '../provisioners/phase.js';
import { defaultOutputMode, dryRunReport, failureSummary, runPhases, type RunResult } from '../provisioners/runner.js';
import type { ClusterModel } from '../spec/model.js';
import { SshPool } from '../ssh/pool.js';
import { resolveTarget } from '../ssh/targets.js';
import { EXIT } from './exit-codes.js';
import { knownHostsPath, logDir } from './workdir.js';

export interface PhaseRunFlags {
  readonly json?: boolean;
  readonly dryRun?: boolean;
  readonly concurrency?: string;
  readonly file?: string;
  readonly verbose?: boolean;
}

/** Input the user must fix (a flag, a path, a provider this machine lacks): exit 2, nothing changed. */
export class InvalidInputError extends Error {
  readonly exitCode = EXIT.invalidInput;
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** ` -f FILE` for commands the user is told to run next, when a spec file was given. */
export function specArgument(file: string | undefined): string {
  return file ? ` -f ${file}` : '';
}

/** The pool every command uses for a cluster: its known_hosts, its host logs. */
export function clusterPool(model: ClusterModel, file: string | undefined, options: { connectAttempts?: number } = {}): SshPool {
  return new SshPool({
    knownHostsPath: knownHostsPath(model.name),
    logDir: logDir(model.name),
    forgetCommand: (t) => `kubestrap forget-host ${t.name}${specArgument(file)}`,
    ...options,
  });
}

/**
 * The cluster's nodes as SSH hosts: Vagrant's machines (from `vagrant ssh-config`, so
 * they must be running), or the spec's existing hosts; all nodes unless `only` names some.
 */
export async function clusterHosts(model: ClusterModel, pool: SshPool, verbose = false, only?: readonly string[]): Promise<SshNodeHost[]> {
  if (model.machines.provider !== 'existing') {
    const { machineHosts, vagrantDriver } = await import('./machines.js');
    return machineHosts(model, pool, vagrantDriver(model, verbose), only);
  }
  const home = homedir();
  const inputs = {
    sshConfig: readIfExists(join(home, '.ssh', 'config')),
    home,
    ...(process.env.SSH_AUTH_SOCK ? { agent: process.env.SSH_AUTH_SOCK } : {}),
    ...(process.env.KUBESTRAP_SSH_PASSPHRASE ? { passphrase: process.env.KUBESTRAP_SSH_PASSPHRASE } : {}),
    readKey: (path: string) => readFileSync(path),
    keyExists: (path: string) => existsSync(path),
  };
  return model.nodes.filter((n) => !only || only.includes(n.name)).map((node) => ({ name: node.name, node, ssh: pool.host(resolveTarget(node.name, node.ssh!, inputs)) }));
}

/** Runs phases against the cluster's hosts with Ctrl-C handling; prints the outcome. */
export async function runOnCluster(model: ClusterModel, phases: Phase<NodeHost>[], flags: PhaseRunFlags): Promise<{ result: RunResult; code: number }> {
  const pool = clusterPool(model, flags.file);
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
    // Closing the connections ends in-flight commands; uploads are atomic, so nothing is half-written.
    void pool.close();
  };
  process.on('SIGINT', onSigint);
  try {
    const hosts = await clusterHosts(model, pool, flags.verbose ?? false);
    const concurrency = flags.concurrency === undefined ? 10 : Number(flags.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidInputError(`--concurrency must be a whole number of 1 or more, not ${flags.concurrency}`);
    const result = await runPhases(phases, hosts, { concurrency, dryRun: flags.dryRun ?? false, output: defaultOutputMode(flags.json ?? false), signal: controller.signal });
    if (!flags.json) {
      if (flags.dryRun) process.stdout.write(`${dryRunReport(result)}\n`);
      const summary = failureSummary(result, (host) => pool.logPath(host));
      if (summary) process.stderr.write(`${summary}\n`);
    }
    return { result, code: result.interrupted ? EXIT.interrupted : result.ok ? EXIT.ok : EXIT.failure };
  } finally {
    process.off('SIGINT', onSigint);
    await pool.close();
  }
}
