// `validate` and `render`: the spec checked, every artifact written.
import { resolve } from 'node:path';
import { renderCluster } from '../templates/render.js';
import type { LoadedSpec } from '../spec/load.js';
import { loadClusterSpec } from './cluster-spec.js';
import { withClusterLock } from './cluster-lock.js';
import type { ClusterOptions } from './context.js';
import { writeRender, type WriteSummary } from './render-dir.js';
import { workDir } from './workdir.js';

/** Loads and checks the spec; throws SpecError listing every problem. */
export function validate(options: ClusterOptions): Promise<LoadedSpec> {
  return loadClusterSpec(options.file);
}

export async function render(
  options: ClusterOptions & { output?: string },
  note: (message: string) => void,
): Promise<{ loaded: LoadedSpec; summary: WriteSummary }> {
  const loaded = await loadClusterSpec(options.file);
  const { name } = loaded.model;
  const directory = options.output ? resolve(options.output) : workDir(name);
  const write = () => writeRender(directory, renderCluster(loaded.model), name);
  // Rendering into the cluster's working directory changes what a running up reads: locked.
  if (directory !== workDir(name)) return { loaded, summary: await write() };
  return { loaded, summary: await withClusterLock(name, 'render', note, write) };
}
