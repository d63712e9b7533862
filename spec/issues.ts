// A problem found in a spec, and how it is shown: `file:line:col field.path: what — fix`,
// one problem per line whatever the spec's values contain.
import { oneLine } from '../base/terminal-text.js';
import { MAX_ECHO_CHARS } from './limits.js';

export type SpecPath = readonly (string | number)[];

export interface SpecIssue {
  readonly severity: 'error' | 'warning';
  readonly path: SpecPath;
  readonly message: string;
  readonly hint: string;
  /** Point at the key rather than the value (unknown fields, duplicates). */
  readonly atKey?: boolean;
  /** Another place the problem involves (the other side of an overlap), shown with its line. */
  readonly related?: SpecPath;
}

export interface LocatedIssue extends SpecIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly relatedLine?: number;
}

/**
 * A user's value quoted for a message: JSON-quoted (newlines and control characters
 * escaped) and cut to MAX_ECHO_CHARS, so that a 1 MB value does not become a 1 MB error.
 */
export function shown(value: string): string {
  if (value.length <= MAX_ECHO_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_ECHO_CHARS))}… (${value.length} characters)`;
}

export function formatPath(path: SpecPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    // A key that would make the path unreadable (huge, or holding quotes or control characters) is quoted.
    else if (segment.length > MAX_ECHO_CHARS || /[\x00-\x1f\x7f-\x9f"]/.test(segment)) text += `[${shown(segment)}]`;
    else text += text ? `.${segment}` : segment;
  }
  return text || '(root)';
}

export function formatIssue(issue: LocatedIssue): string {
  const severity = issue.severity === 'warning' ? 'warning: ' : '';
  const related =
    issue.related && issue.relatedLine !== undefined
      ? ` (${formatPath(issue.related)}, line ${issue.relatedLine})`
      : '';
  return oneLine(
    `${issue.file}:${issue.line}:${issue.column} ${formatPath(issue.path)}: ` +
      `${severity}${issue.message}${related} — ${issue.hint}`,
  );
}

/** Thrown when a spec has errors; carries every located problem, warnings included. */
export class SpecError extends Error {
  readonly exitCode = 2;
  constructor(readonly issues: readonly LocatedIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super(`${errors.length} error(s) in ${issues[0]?.file ?? 'spec'}:\n${issues.map(formatIssue).join('\n')}`);
    this.name = 'SpecError';
  }
}
