// How commands print: human text by default, one JSON document with --json.
import { formatIssue, SpecError, type LocatedIssue } from '../spec/issues.js';
import { EXIT } from './exit-codes.js';
import { oneLine, visible } from '../base/terminal-text.js';

export interface OutputOptions {
  readonly json?: boolean;
}

/** On stderr; with --json one object per warning on stdout, like every other line there. */
export function printWarnings(warnings: readonly LocatedIssue[], options: OutputOptions): void {
  for (const warning of warnings) {
    if (options.json) process.stdout.write(`${JSON.stringify({ type: 'warning', ...issueJson(warning) })}\n`);
    else process.stderr.write(`${formatIssue(warning)}\n`);
  }
}

/** For commands that run without a view: a note (a stale lock taken over) on stderr. */
export const stderrNote = (line: string): void => void process.stderr.write(`kubestrap: ${line}\n`);

export function issueJson(issue: LocatedIssue): object {
  return {
    severity: issue.severity,
    file: issue.file,
    line: issue.line,
    column: issue.column,
    path: issue.path,
    message: issue.message,
    hint: issue.hint,
  };
}

/** Prints a failure the way the user needs it and returns the exit code. */
export function reportFailure(error: unknown, options: OutputOptions): number {
  if (error instanceof SpecError) {
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ok: false, issues: error.issues.map(issueJson) })}\n`);
    } else {
      process.stderr.write(`${error.issues.map(formatIssue).join('\n')}\n`);
      const count = error.issues.filter((i) => i.severity === 'error').length;
      process.stderr.write(`kubestrap: ${count} error(s) in the spec; nothing was changed.\n`);
    }
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  const typed = (error as { exitCode?: number }).exitCode;
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
    const path = (error as { path?: string }).path;
    if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error: message })}\n`);
    else
      process.stderr.write(
        `${oneLine(`kubestrap: cannot read ${path ?? 'the file'}: ${code} — check the path given with -f`)}\n`,
      );
    return EXIT.invalidInput;
  }
  // The part of an input at fault (a bundle's member), for scripts that act on it.
  const member = (error as { member?: unknown }).member;
  const at = typeof member === 'string' ? { member } : {};
  if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error: message, ...at })}\n`);
  else process.stderr.write(`kubestrap: ${visible(message)}\n`);
  return typeof typed === 'number' ? typed : EXIT.failure;
}
