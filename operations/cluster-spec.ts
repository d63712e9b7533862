// Loading the spec for a command that acts on a cluster: a spec that names no provider
// gets the one `kubestrap up` chose before (remembered in the working directory), or,
// for `up` itself on a first run, the one this machine has.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSpec, type LoadedSpec, type Provider } from '../spec/load.js';
import { writeAtomic } from '../base/atomic-write.js';
import { workDir } from './workdir.js';

interface ClusterState {
  readonly provider: Provider;
}

const statePath = (cluster: string) => join(workDir(cluster), 'state.json');

async function readState(cluster: string): Promise<ClusterState | undefined> {
  try {
    const state = JSON.parse(await readFile(statePath(cluster), 'utf8')) as Partial<ClusterState>;
    return state.provider ? { provider: state.provider } : undefined;
  } catch {
    return undefined;
  }
}

export async function rememberProvider(cluster: string, provider: Provider): Promise<void> {
  await writeAtomic(statePath(cluster), `${JSON.stringify({ provider }, null, 2)}\n`, 0o644);
}

/**
 * `detect` picks a provider when neither the spec nor an earlier run did; it returns
 * undefined when this machine has none, and the caller explains what to install.
 */
export async function loadClusterSpec(
  file: string | undefined,
  detect?: () => Promise<Provider | undefined>,
): Promise<LoadedSpec> {
  const loaded = await loadSpec(file);
  if (loaded.providerGiven) return loaded;
  const remembered = (await readState(loaded.model.name))?.provider ?? (await detect?.());
  return remembered && remembered !== loaded.model.machines.provider ? loadSpec(file, remembered) : loaded;
}
