// `forget-host NODE`: drops a node's host keys from the cluster's known_hosts (after the
// machine was recreated): every key recorded for the node, whatever address was dialled
// (a Vagrant machine's forwarded port such as [127.0.0.1]:2222), and any key of the
// addresses the spec gives it (entries written before keys named their node).
import { describeKey, KnownHosts } from '../ssh/known-hosts.js';
import { loadClusterSpec } from './cluster-spec.js';
import { lockCluster } from './cluster-lock.js';
import type { ClusterOptions } from './context.js';
import { findNode } from './hosts.js';
import { knownHostsPath } from './workdir.js';

export interface ForgottenKey {
  /** The host as it was recorded: `addr` or `[addr]:port`. */
  readonly host: string;
  /** `type SHA256:…` */
  readonly key: string;
}

export async function forgetHost(
  node: string,
  options: ClusterOptions,
  note: (message: string) => void,
): Promise<{ node: string; removed: readonly ForgottenKey[]; path: string }> {
  const { model } = await loadClusterSpec(options.file);
  const target = findNode(model, node);
  const lock = lockCluster(model.name, 'forget-host', note);
  const known = new KnownHosts(knownHostsPath(model.name));
  const places: [string, number][] = [[target.ip, 22]];
  if (target.ssh) places.push([target.ssh.address, target.ssh.port ?? 22]);
  let removed: ForgottenKey[];
  try {
    removed = known.forget(target.name, places).map((k) => ({ host: k.pattern, key: describeKey(k) }));
  } finally {
    lock.release();
  }
  return { node: target.name, removed, path: known.path };
}
