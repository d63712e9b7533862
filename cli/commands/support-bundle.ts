// `kubestrap support-bundle`: the archive, and per host what went into it.
import { formatTable } from '../../base/table.js';
import { visible } from '../../base/terminal-text.js';
import { supportBundle } from '../../operations/support-bundle.js';
import { EXIT } from '../exit-codes.js';
import { withSession } from '../session.js';

export async function supportBundleCommand(flags: {
  file?: string;
  output?: string;
  json?: boolean;
  verbose?: boolean;
}): Promise<number> {
  const output = flags.output ?? `kubestrap-support-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`;
  const result = await withSession(flags.json ?? false, (context) => supportBundle({ ...flags, output }, context));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ type: 'support-bundle', ...result })}\n`);
    return EXIT.ok;
  }
  const rows = result.hosts.map((h) => [h.node, h.status, h.detail]);
  process.stdout.write(`${visible(formatTable(['NODE', 'COLLECTED', 'DETAIL'], rows))}\n`);
  process.stdout.write(
    `cluster: ${visible(result.cluster)}\ndoctor: ${result.doctor}\n` +
      `wrote ${visible(result.path)} (${(result.sizeBytes / 1024).toFixed(0)} KiB, 0600)\n`,
  );
  return EXIT.ok;
}
