// The cluster's nodes as SSH hosts, through one pool per command: the cluster's
// known_hosts and host logs, and the forget-host hint a changed key gets.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SshNodeHost } from '../provisioners/cluster-host.js';
import type { ClusterModel } from '../spec/model.js';
import { SshPool } from '../ssh/pool.js';
import { resolveTarget } from '../ssh/targets.js';
import { InvalidInputError, specArgument } from './errors.js';
import { readKeyWarning } from './ssh-keys.js';
import { ensureWorkDir, knownHostsPath, logDir } from './workdir.js';

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/**
 * OpenSSH's known_hosts files (its defaults for UserKnownHostsFile and
 * GlobalKnownHostsFile): what the user's own ssh already knows of a host counts before
 * kubestrap trusts it on first use.
 */
export function openSshKnownHosts(home: string = homedir()): string[] {
  return [
    join(home, '.ssh', 'known_hosts'),
    join(home, '.ssh', 'known_hosts2'),
    '/etc/ssh/ssh_known_hosts',
    '/etc/ssh/ssh_known_hosts2',
  ];
}

/**
 * The pool every command uses for a cluster: its known_hosts (with OpenSSH's for existing
 * hosts; Vagrant machines come and go on shared forwarded ports), its host logs.
 */
export function clusterPool(
  model: ClusterModel,
  file: string | undefined,
  options: { connectAttempts?: number; readyTimeoutMs?: number; signal?: AbortSignal } = {},
): SshPool {
  ensureWorkDir(model.name);
  return new SshPool({
    knownHostsPath: knownHostsPath(model.name),
    ...(model.machines.provider === 'existing' ? { openSshKnownHosts: openSshKnownHosts() } : {}),
    logDir: logDir(model.name),
    forgetCommand: (t) => `kubestrap forget-host ${t.name}${specArgument(file)}`,
    ...options,
  });
}

/**
 * The cluster's nodes as SSH hosts: Vagrant's machines (from `vagrant ssh-config`, so
 * they must be running), or the spec's existing hosts; all nodes unless `only` names some.
 */
export async function clusterHosts(
  model: ClusterModel,
  pool: SshPool,
  verbose = false,
  only?: readonly string[],
): Promise<SshNodeHost[]> {
  if (model.machines.provider !== 'existing') {
    const { machineHosts, vagrantDriver } = await import('./machines.js');
    return machineHosts(model, pool, vagrantDriver(model, verbose, pool.signal), only);
  }
  const home = homedir();
  const inputs = {
    sshConfig: readIfExists(join(home, '.ssh', 'config')),
    home,
    ...(process.env.SSH_AUTH_SOCK ? { agent: process.env.SSH_AUTH_SOCK } : {}),
    ...(process.env.KUBESTRAP_SSH_PASSPHRASE ? { passphrase: process.env.KUBESTRAP_SSH_PASSPHRASE } : {}),
    readKey: readKeyWarning,
    keyExists: (path: string) => existsSync(path),
  };
  return model.nodes
    .filter((n) => !only || only.includes(n.name))
    .map((node) => ({ name: node.name, node, ssh: pool.host(resolveTarget(node.name, node.ssh!, inputs)) }));
}

/** The node a user names by node name or hostname, or the error listing the nodes. */
export function findNode(model: ClusterModel, name: string) {
  const node = model.nodes.find((n) => n.name === name || n.hostname === name);
  if (!node)
    throw new InvalidInputError(
      `no node ${name} in cluster ${model.name}; nodes: ${model.nodes.map((n) => n.name).join(', ')}`,
    );
  return node;
}
