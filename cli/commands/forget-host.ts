import { loadClusterSpec } from '../cluster-spec.js';
import { KnownHosts } from '../../ssh/known-hosts.js';
import { knownHostsPath } from '../workdir.js';
import type { OutputOptions } from '../report.js';

/** Drops a node's host keys from the cluster's known_hosts (after it was recreated). */
export async function forgetHostCommand(node: string, options: OutputOptions & { file?: string }): Promise<number> {
  const { model } = await loadClusterSpec(options.file);
  const target = model.nodes.find((n) => n.name === node || n.hostname === node);
  if (!target) {
    process.stderr.write(`kubestrap: no node ${node} in cluster ${model.name}; nodes: ${model.nodes.map((n) => n.name).join(', ')}\n`);
    return 2;
  }
  const known = new KnownHosts(knownHostsPath(model.name));
  const places = new Map<string, number>([[target.ip, 22]]);
  if (target.ssh) places.set(target.ssh.address, target.ssh.port ?? 22);
  let removed = 0;
  for (const [address, port] of places) removed += known.forget(address, port);
  if (options.json) process.stdout.write(`${JSON.stringify({ ok: true, node: target.name, removed })}\n`);
  else process.stdout.write(`forgot ${removed} host key(s) of ${target.name} in ${known.path}\n`);
  return 0;
}
