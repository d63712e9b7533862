import { resolve } from 'node:path';
import { loadClusterSpec } from '../cluster-spec.js';
import { renderCluster } from '../../templates/render.js';
import { writeRender } from '../render-dir.js';
import { printWarnings, type OutputOptions } from '../report.js';
import { workDir } from '../workdir.js';

export async function renderCommand(options: OutputOptions & { file?: string; output?: string }): Promise<number> {
  const { model, warnings } = await loadClusterSpec(options.file);
  printWarnings(warnings, options);
  const directory = options.output ? resolve(options.output) : workDir(model.name);
  const summary = await writeRender(directory, renderCluster(model));
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: true, cluster: model.name, ...summary }, null, 2)}\n`);
  } else {
    const total = summary.written.length + summary.unchanged.length;
    process.stdout.write(
      `rendered ${total} files for cluster ${model.name} into ${directory}: ${summary.written.length} written, ${summary.unchanged.length} unchanged` +
        `${summary.removed.length ? `, ${summary.removed.length} stale removed` : ''}\n`,
    );
    for (const path of summary.written) process.stdout.write(`  + ${path}\n`);
    for (const path of summary.removed) process.stdout.write(`  - ${path}\n`);
  }
  return 0;
}
