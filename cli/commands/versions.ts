// `kubestrap versions`: the Kubernetes minors this kubestrap renders for, with the facts
// that follow from each (kubeadm API, images, end of life), and which one is the default.
import { formatTable } from '../../base/table.js';
import { versionsReport } from '../../spec/versions.js';
import { EXIT } from '../exit-codes.js';

export async function versionsCommand(flags: { json?: boolean }): Promise<number> {
  const report = versionsReport();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  }
  const rows = report.minors.map((m) => [
    m.minor,
    m.default ? `${m.newest} (default)` : m.newest,
    m.kubeadmApi,
    m.pause,
    m.coredns,
    m.etcd,
    m.maintained ? m.endOfLife : `${m.endOfLife} (ended)`,
    m.rook ? 'yes' : 'no',
  ]);
  const headers = [
    'MINOR',
    'NEWEST',
    'KUBEADM API',
    'PAUSE',
    'COREDNS',
    'ETCD',
    'END OF LIFE',
    `ROOK ${report.rookVersion}`,
  ];
  process.stdout.write(
    `${formatTable(headers, rows)}\n` +
      `Default: ${report.defaultVersion}, the newest patch of the newest minor Rook ${report.rookVersion} supports.\n` +
      'A spec may name any patch of these minors; on a minor Rook does not support, ' +
      'set spec.storage.rook.enabled: false.\n' +
      `Checked against upstream on ${report.checked}; end of life is judged on that date.\n`,
  );
  return EXIT.ok;
}
