// `kubeconfig`: the cluster's admin kubeconfig, as `up` fetched it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadClusterSpec } from './cluster-spec.js';
import type { ClusterOptions } from './context.js';
import { specArgument } from './errors.js';
import { workDir } from './workdir.js';

export class NoKubeconfigError extends Error {
  readonly exitCode = 1;
}

export async function kubeconfig(options: ClusterOptions): Promise<{ path: string; content: string }> {
  const { model } = await loadClusterSpec(options.file);
  const path = join(workDir(model.name), 'kubeconfig');
  try {
    return { path, content: await readFile(path, 'utf8') };
  } catch {
    throw new NoKubeconfigError(
      `cluster ${model.name} has no kubeconfig yet (${path}); run kubestrap up${specArgument(options.file)} first`,
    );
  }
}
