// Asking before destroying: a y/N question on a terminal; elsewhere the command needs
// --yes, and says so (exit 2, nothing changed).
import { createInterface } from 'node:readline/promises';
import { EXIT } from './exit-codes.js';

/** Resolves undefined to go on, else the exit code to stop with. */
export async function confirm(question: string, withoutTerminal: string): Promise<number | undefined> {
  if (!process.stdin.isTTY) {
    process.stderr.write(`kubestrap: ${withoutTerminal}; pass --yes to confirm when not on a terminal\n`);
    return EXIT.invalidInput;
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`${question} [y/N] `);
  prompt.close();
  return /^y(es)?$/i.test(answer.trim()) ? undefined : EXIT.failure;
}
