// The spec's YAML text with source positions, so that every problem can be reported
// at the line and column where the user has to fix it.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { LocatedIssue, SpecIssue, SpecPath } from './issues.js';

export interface SpecSource {
  readonly file: string;
  readonly document: Document.Parsed;
  readonly lines: LineCounter;
  readonly syntaxIssues: LocatedIssue[];
}

export function parseSpecText(text: string, file: string): SpecSource {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const syntaxIssues: LocatedIssue[] = [];
  for (const error of [...document.errors, ...document.warnings]) {
    const position = lines.linePos(error.pos[0]);
    syntaxIssues.push({
      file,
      line: position.line,
      column: position.col,
      severity: document.errors.includes(error) ? 'error' : 'warning',
      path: [],
      message:
        `YAML ${error.code === 'DUPLICATE_KEY' ? 'has a duplicate key' : 'syntax error'}` +
        `: ${firstLine(error.message)}`,
      hint:
        error.code === 'DUPLICATE_KEY'
          ? 'remove or rename one of the two keys'
          : 'fix the YAML syntax at this position (indentation, quoting, colons)',
    });
  }
  return { file, document, lines, syntaxIssues };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** The node at `path`, or the deepest ancestor that exists, and whether the key itself was found. */
function resolve(source: SpecSource, path: SpecPath): { node: Node | null; key: Node | null; found: boolean } {
  let node: Node | null = source.document.contents as Node | null;
  let key: Node | null = null;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return { node, key, found: false };
      key = pair.key as Node;
      // A key with no value ("name:") has a null value node; stay on the key.
      node = (pair.value as Node | null) ?? key;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) return { node, key, found: false };
      key = null;
      node = item;
    } else {
      return { node, key, found: false };
    }
  }
  return { node, key, found: true };
}

export function locate(source: SpecSource, issue: SpecIssue): LocatedIssue {
  const { node, key, found } = resolve(source, issue.path);
  // Point at the key for unknown fields, and for whole mappings and lists, whose own
  // position is their first item rather than the line that names them.
  const target = found && key && (issue.atKey || isMap(node) || isSeq(node)) ? key : node;
  const offset = target?.range?.[0] ?? 0;
  const position = source.lines.linePos(offset);
  return { ...issue, file: source.file, line: position.line, column: position.col };
}

export function locateAll(source: SpecSource, issues: readonly SpecIssue[]): LocatedIssue[] {
  return issues
    .map((issue) => locate(source, issue))
    .sort(
      (a, b) =>
        a.line - b.line || a.column - b.column || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
    );
}
