// A problem found in a spec, and how it is shown: `file:line:col field.path: what — fix`.

export type SpecPath = readonly (string | number)[];

export interface SpecIssue {
  readonly severity: 'error' | 'warning';
  readonly path: SpecPath;
  readonly message: string;
  readonly hint: string;
  /** Point at the key rather than the value (unknown fields, duplicates). */
  readonly atKey?: boolean;
}

export interface LocatedIssue extends SpecIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export function formatPath(path: SpecPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text ? `.${segment}` : segment;
  }
  return text || '(root)';
}

export function formatIssue(issue: LocatedIssue): string {
  const severity = issue.severity === 'warning' ? 'warning: ' : '';
  return (
    `${issue.file}:${issue.line}:${issue.column} ${formatPath(issue.path)}: ` +
    `${severity}${issue.message} — ${issue.hint}`
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
