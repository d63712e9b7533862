// `forget-host NODE`: drops a node's host keys from the cluster's known_hosts (after the
// machine was recreated).
import { KnownHosts } from '../ssh/known-hosts.js';
import { loadClusterSpec } from './cluster-spec.js';
import { lockCluster } from './cluster-lock.js';
import type { ClusterOptions } from './context.js';
import { findNode } from './hosts.js';
import { knownHostsPath } from './workdir.js';

export async function forgetHost(
  node: string,
  options: ClusterOptions,
  note: (message: string) => void,
): Promise<{ node: string; removed: number; path: string }> {
  const { model } = await loadClusterSpec(options.file);
  const target = findNode(model, node);
  const lock = lockCluster(model.name, 'forget-host', note);
  const known = new KnownHosts(knownHostsPath(model.name));
  const places = new Map<string, number>([[target.ip, 22]]);
  if (target.ssh) places.set(target.ssh.address, target.ssh.port ?? 22);
  let removed = 0;
  try {
    for (const [address, port] of places) removed += known.forget(address, port);
  } finally {
    lock.release();
  }
  return { node: target.name, removed, path: known.path };
}
