import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadClusterSpec } from '../cluster-spec.js';
import { EXIT } from '../exit-codes.js';
import { specArgument } from '../phase-run.js';
import { workDir } from '../workdir.js';

/** Prints the cluster's admin kubeconfig (or, with --path, where it is). */
export async function kubeconfigCommand(flags: { file?: string; path?: boolean }): Promise<number> {
  const { model } = await loadClusterSpec(flags.file);
  const path = join(workDir(model.name), 'kubeconfig');
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch {
    process.stderr.write(`kubestrap: cluster ${model.name} has no kubeconfig yet (${path}); run kubestrap up${specArgument(flags.file)} first\n`);
    return EXIT.failure;
  }
  process.stdout.write(flags.path ? `${path}\n` : content);
  return EXIT.ok;
}
