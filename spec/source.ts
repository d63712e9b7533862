// The spec's YAML text with source positions, so that every problem can be reported
// at the line and column where the user has to fix it.
import {
  Composer,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  parseDocument,
  Parser,
  YAMLParseError,
  type CST,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import type { LocatedIssue, SpecIssue, SpecPath } from './issues.js';
import { MAX_DEPTH } from './limits.js';
import { structureIssues } from './structure.js';

export interface SpecSource {
  readonly file: string;
  readonly document: Document.Parsed;
  readonly lines: LineCounter;
  readonly syntaxIssues: LocatedIssue[];
  /** The document cannot be converted: a syntax error, or a structure too big or too deep. */
  readonly fatal: boolean;
}

const SCALAR_MARK = '\x1f';

/**
 * The lexer's tokens, cut off where flow collections (`[`, `{`) or compact block items
 * (`- - -` on one line) nest deeper than MAX_DEPTH: yaml's parser spends seconds and
 * hundreds of MB on 100,000 nested brackets before its composer overflows the stack.
 * Nesting through indentation needs quadratic text, which the size limit bounds.
 */
function* shallowTokens(text: string, tooDeep: () => void): Generator<string> {
  let flow = 0;
  let compact = 0;
  let scalarNext = false;
  for (const lexeme of new Lexer().lex(text)) {
    if (scalarNext) scalarNext = false;
    else if (lexeme === SCALAR_MARK) scalarNext = true;
    else if (lexeme === '[' || lexeme === '{') flow++;
    else if (lexeme === ']' || lexeme === '}') flow = Math.max(0, flow - 1);
    else if (lexeme === '-' || lexeme === '?') compact++;
    else if (lexeme === '\n' || lexeme === '\r\n') compact = 0;
    if (flow > MAX_DEPTH || compact > MAX_DEPTH) return tooDeep();
    yield lexeme;
  }
}

/** yaml's parseDocument, with the lexer's tokens checked for nesting on the way to the parser. */
function parseShallow(
  text: string,
  lines: LineCounter,
): { document: Document.Parsed; tooDeepAt?: undefined } | { document?: undefined; tooDeepAt: number } {
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  let deep = false;
  const tokens: CST.Token[] = [];
  for (const lexeme of shallowTokens(text, () => (deep = true))) tokens.push(...parser.next(lexeme));
  if (deep) return { tooDeepAt: parser.offset };
  tokens.push(...parser.end());
  // Duplicate keys are found by structureIssues, in linear time; merge keys (`<<`) stay
  // plain keys, which the schema rejects.
  const composer = new Composer({ uniqueKeys: false, merge: false, strict: true, prettyErrors: false });
  let document: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, text.length)) {
    if (document) {
      const at = next.range.slice(0, 2) as [number, number];
      document.errors.push(new YAMLParseError(at, 'MULTIPLE_DOCS', 'a spec is one YAML document; remove the ---'));
      break;
    }
    document = next;
  }
  return { document: document! };
}

export function parseSpecText(text: string, file: string): SpecSource {
  const lines = new LineCounter();
  const parsed = parseShallow(text, lines);
  if (parsed.tooDeepAt !== undefined) {
    const position = lines.linePos(parsed.tooDeepAt);
    const issue: LocatedIssue = {
      file,
      line: position.line,
      column: position.col,
      severity: 'error',
      path: [],
      message: `YAML nests deeper than ${MAX_DEPTH} levels`,
      hint: 'a cluster spec is 7 levels deep; check that the right file is given',
    };
    return { file, document: parseDocument(''), lines, syntaxIssues: [issue], fatal: true };
  }
  const document = parsed.document;
  const syntaxIssues: LocatedIssue[] = [];
  for (const error of [...document.errors, ...document.warnings]) {
    const position = lines.linePos(error.pos[0]);
    syntaxIssues.push({
      file,
      line: position.line,
      column: position.col,
      severity: document.errors.includes(error) ? 'error' : 'warning',
      path: [],
      message: `YAML syntax error: ${firstLine(error.message)}`,
      hint: 'fix the YAML syntax at this position (indentation, quoting, colons)',
    });
  }
  if (document.errors.length > 0) return { file, document, lines, syntaxIssues, fatal: true };
  const structure = structureIssues(document, lines, file);
  syntaxIssues.push(...structure.issues);
  return { file, document, lines, syntaxIssues, fatal: structure.fatal };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

// Each mapping's pairs by key, built once: a spec with thousands of issues in one
// mapping must not search the mapping once per issue.
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairAt(map: YAMLMap, segment: string | number): Pair | undefined {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const item of map.items) {
      // The first of duplicate keys wins, as yaml's own lookup did.
      if (isPair(item) && isScalar(item.key) && !index.has(String(item.key.value))) {
        index.set(String(item.key.value), item);
      }
    }
    pairIndex.set(map, index);
  }
  return index.get(String(segment));
}

/** The node at `path`, or the deepest ancestor that exists, and whether the key itself was found. */
function resolve(source: SpecSource, path: SpecPath): { node: Node | null; key: Node | null; found: boolean } {
  let node: Node | null = source.document.contents as Node | null;
  let key: Node | null = null;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = pairAt(node, segment);
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

function position(source: SpecSource, path: SpecPath, atKey: boolean | undefined): { line: number; col: number } {
  const { node, key, found } = resolve(source, path);
  // Point at the key for unknown fields, and for whole mappings and lists, whose own
  // position is their first item rather than the line that names them.
  const target = found && key && (atKey || isMap(node) || isSeq(node)) ? key : node;
  return source.lines.linePos(target?.range?.[0] ?? 0);
}

export function locate(source: SpecSource, issue: SpecIssue): LocatedIssue {
  const at = position(source, issue.path, issue.atKey);
  const related = issue.related ? { relatedLine: position(source, issue.related, false).line } : {};
  return { ...issue, file: source.file, line: at.line, column: at.col, ...related };
}

export function locateAll(source: SpecSource, issues: readonly SpecIssue[]): LocatedIssue[] {
  return issues
    .map((issue) => locate(source, issue))
    .sort(
      (a, b) =>
        a.line - b.line || a.column - b.column || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
    );
}
