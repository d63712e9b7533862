import { createInterface } from 'node:readline/promises';
import { loadClusterSpec } from '../cluster-spec.js';
import { EXIT } from '../exit-codes.js';
import { destroyCommand } from './destroy.js';
import { upCommand, type UpFlags } from './up.js';

/** destroy + up from the same spec: the same rendered files, the same cluster. */
export async function rebuildCommand(flags: UpFlags & { yes?: boolean }): Promise<number> {
  if (!flags.yes) {
    const { model } = await loadClusterSpec(flags.file);
    if (!process.stdin.isTTY) {
      process.stderr.write(`kubestrap: rebuild destroys the machines of cluster ${model.name} first; pass --yes to confirm when not on a terminal\n`);
      return EXIT.invalidInput;
    }
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question(`Destroy and rebuild cluster ${model.name}? [y/N] `);
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) return EXIT.failure;
  }
  const destroyed = await destroyCommand({ ...flags, yes: true });
  if (destroyed !== EXIT.ok) return destroyed;
  return upCommand(flags);
}
