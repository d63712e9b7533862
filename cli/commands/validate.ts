import { loadClusterSpec } from '../cluster-spec.js';
import { issueJson, printWarnings, type OutputOptions } from '../report.js';

export async function validateCommand(options: OutputOptions & { file?: string }): Promise<number> {
  const { model, warnings, file } = await loadClusterSpec(options.file);
  const roles = (role: string) => model.nodes.filter((n) => n.role === role).length;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: true, file, cluster: model.name, nodes: model.nodes.length, issues: warnings.map(issueJson) }, null, 2)}\n`);
  } else {
    printWarnings(warnings, options);
    process.stdout.write(
      `${file}: valid — cluster ${model.name}, Kubernetes ${model.kubernetes.version.text} (kubeadm ${model.kubernetes.kubeadmApi}), ` +
        `${roles('control-plane')} control-plane + ${roles('worker')} worker node(s) on ${model.machines.provider}` +
        `${warnings.length ? `, ${warnings.length} warning(s)` : ''}\n`,
    );
  }
  return 0;
}
