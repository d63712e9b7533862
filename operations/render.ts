// `validate` and `render`: the spec checked, every artifact written.
import { resolve } from 'node:path';
import { renderCluster } from '../templates/render.js';
import type { LoadedSpec } from '../spec/load.js';
import { loadClusterSpec } from './cluster-spec.js';
import type { ClusterOptions } from './context.js';
import { writeRender, type WriteSummary } from './render-dir.js';
import { workDir } from './workdir.js';

/** Loads and checks the spec; throws SpecError listing every problem. */
export function validate(options: ClusterOptions): Promise<LoadedSpec> {
  return loadClusterSpec(options.file);
}

export async function render(
  options: ClusterOptions & { output?: string },
): Promise<{ loaded: LoadedSpec; summary: WriteSummary }> {
  const loaded = await loadClusterSpec(options.file);
  const directory = options.output ? resolve(options.output) : workDir(loaded.model.name);
  return { loaded, summary: await writeRender(directory, renderCluster(loaded.model)) };
}
