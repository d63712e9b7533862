// `kubestrap validate`: every problem with file:line:column, or a one-line verdict.
import { validate } from '../../operations/render.js';
import { EXIT } from '../exit-codes.js';
import { issueJson, printWarnings } from '../report.js';

export async function validateCommand(flags: { file?: string; json?: boolean }): Promise<number> {
  const { model, warnings, file } = await validate(flags);
  const roles = (role: string) => model.nodes.filter((n) => n.role === role).length;
  if (flags.json) {
    const report = { ok: true, file, cluster: model.name, nodes: model.nodes.length, issues: warnings.map(issueJson) };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  }
  printWarnings(warnings, flags);
  const counts =
    `${roles('control-plane')} control-plane + ${roles('worker')} worker node(s) ` + `on ${model.machines.provider}`;
  process.stdout.write(
    `${file}: valid — cluster ${model.name}, Kubernetes ${model.kubernetes.version.text} ` +
      `(kubeadm ${model.kubernetes.kubeadmApi}), ${counts}` +
      `${warnings.length ? `, ${warnings.length} warning(s)` : ''}\n`,
  );
  return EXIT.ok;
}
