// `kubestrap render`: every artifact into a directory.
import { render } from '../../operations/render.js';
import { EXIT } from '../exit-codes.js';
import { issueJson, printWarnings, stderrNote } from '../report.js';

export async function renderCommand(flags: { file?: string; output?: string; json?: boolean }): Promise<number> {
  const { loaded, summary } = await render(flags, stderrNote);
  if (flags.json) {
    const issues = loaded.warnings.map(issueJson);
    process.stdout.write(`${JSON.stringify({ ok: true, cluster: loaded.model.name, ...summary, issues })}\n`);
    return EXIT.ok;
  }
  printWarnings(loaded.warnings, flags);
  const total = summary.written.length + summary.unchanged.length;
  const removed = summary.removed.length ? `, ${summary.removed.length} stale removed` : '';
  process.stdout.write(
    `rendered ${total} files for cluster ${loaded.model.name} into ${summary.directory}: ` +
      `${summary.written.length} written, ${summary.unchanged.length} unchanged${removed}\n`,
  );
  for (const path of summary.written) process.stdout.write(`  + ${path}\n`);
  for (const path of summary.removed) process.stdout.write(`  - ${path}\n`);
  return EXIT.ok;
}
