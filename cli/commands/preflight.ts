// `kubestrap preflight`: a table (or JSON) of every check on every host.
import { preflight, preflightTable } from '../../operations/preflight.js';
import { concurrencyFlag, runExit, withSession } from '../session.js';

export async function preflightCommand(flags: {
  file?: string;
  json?: boolean;
  concurrency?: string;
  ignorePreflight?: string[];
}): Promise<number> {
  const options = { ...flags, concurrency: concurrencyFlag(flags.concurrency) };
  const result = await withSession(flags.json ?? false, (context) => preflight(options, context));
  const code = runExit(result, flags);
  if (flags.json)
    process.stdout.write(`${JSON.stringify({ type: 'preflight', ok: code === 0, reports: result.reports })}\n`);
  else if (result.reports.length) process.stdout.write(`${preflightTable(result.reports)}\n`);
  return code;
}
