// `destroy`: `vagrant destroy`, then a check with the provider itself that no VM or
// disk of the cluster is left, then the cluster's local state (rendered files, known
// host keys, kubeconfig, logs) is removed. The machines' host keys are forgotten as soon
// as the machines are gone, even when the provider still holds disks: the next `up` makes
// new machines on the same addresses, with new keys.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseKnownHosts } from '../ssh/known-hosts.js';
import type { Provider } from '../vagrant/requirements.js';
import type { ClusterModel } from '../spec/model.js';
import { loadClusterSpec } from './cluster-spec.js';
import { LOCK_FILE, lockNote, withClusterLock } from './cluster-lock.js';
import type { ClusterOptions, OperationContext } from './context.js';
import { InvalidInputError } from './errors.js';
import { knownHostsPath, workDir } from './workdir.js';

/** Removes the cluster's known_hosts; how many keys it held. */
function forgetClusterKeys(cluster: string): number {
  const path = knownHostsPath(cluster);
  if (!existsSync(path)) return 0;
  const count = parseKnownHosts(readFileSync(path, 'utf8'), path).length;
  rmSync(path, { force: true });
  return count;
}

export type DestroyResult =
  | {
      readonly ok: true;
      readonly cluster: string;
      readonly provider: Provider;
      readonly destroyed: readonly string[];
      readonly removed: string;
      readonly seconds: number;
    }
  | {
      readonly ok: false;
      readonly cluster: string;
      readonly provider: Provider;
      readonly leftovers: readonly string[];
      readonly kept: string;
      /** How many host keys of the destroyed machines were forgotten. */
      readonly forgotHostKeys: number;
    };

export async function destroy(
  options: ClusterOptions,
  context: OperationContext,
  confirm: (cluster: string, machines: readonly string[], provider: Provider) => Promise<boolean>,
): Promise<DestroyResult | undefined> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  const provider = model.machines.provider;
  if (provider === 'existing') {
    throw new InvalidInputError(
      `cluster ${model.name} runs on existing hosts, which kubestrap does not own; ` +
        `use kubestrap reset to take Kubernetes off them`,
    );
  }
  const machines = model.nodes.map((n) => n.name);
  if (!(await confirm(model.name, machines, provider))) return undefined;
  return withClusterLock(model.name, 'destroy', lockNote(context), () =>
    destroyMachines(model, machines, options, context),
  );
}

async function destroyMachines(
  model: ClusterModel,
  machines: string[],
  options: ClusterOptions,
  context: OperationContext,
): Promise<DestroyResult> {
  const provider = model.machines.provider as Provider;
  const dir = workDir(model.name);
  const started = Date.now();
  if (existsSync(join(dir, 'Vagrantfile'))) {
    const { vagrantDriver } = await import('./machines.js');
    await vagrantDriver(model, options.verbose ?? false).destroy(context.signal);
  }
  const { providerLeftovers } = await import('../vagrant/leftovers.js');
  const forgotHostKeys = forgetClusterKeys(model.name);
  const left = await providerLeftovers(provider, model.name, machines, model.machines.libvirt.storagePool, dir);
  if (left.length) return { ok: false, cluster: model.name, provider, leftovers: left, kept: dir, forgotHostKeys };
  // All but the lock, which its release removes with the directory (rebuild's up still holds it).
  for (const entry of await readdir(dir).catch(() => [])) {
    if (entry !== LOCK_FILE) await rm(join(dir, entry), { recursive: true, force: true });
  }
  const seconds = Number(((Date.now() - started) / 1000).toFixed(1));
  return { ok: true, cluster: model.name, provider, destroyed: machines, removed: dir, seconds };
}
