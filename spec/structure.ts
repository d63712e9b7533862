// Checks on the YAML document before it becomes JavaScript values: each in one pass,
// linear in the size of the file, so that a hostile spec costs as little as a valid
// one. Duplicate keys (yaml's own check compares every key with every other key of its
// mapping), `__proto__` keys (which JavaScript objects drop), over-long scalars, deep
// nesting and aliases that multiply the document (billion laughs) are reported here
// with their position; the document is not converted when any is found.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { shown, type LocatedIssue, type SpecPath } from './issues.js';
import { MAX_ALIASES, MAX_DEPTH, MAX_EXPANDED_NODES, MAX_SCALAR_CHARS } from './limits.js';

interface Visit {
  readonly node: Node;
  readonly path: SpecPath;
  readonly depth: number;
}

/** Keys JavaScript cannot tell apart (`1` and "1" become the same property). */
function keyText(node: Node): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

/**
 * `fatal` when the document must not be converted at all (it would take too long or too
 * much memory); duplicate and reserved keys and long scalars still let the schema and the
 * rules report the rest.
 */
export function structureIssues(
  document: Document.Parsed,
  lines: LineCounter,
  file: string,
): { issues: LocatedIssue[]; fatal: boolean } {
  const issues: LocatedIssue[] = [];
  const report = (node: Node, path: SpecPath, message: string, hint: string) => {
    const position = lines.linePos(node.range?.[0] ?? 0);
    issues.push({ severity: 'error', file, line: position.line, column: position.col, path, message, hint });
  };
  const anchors = new Map<string, Node>();
  const targets = new Map<Node, Node>();
  const sizes = new Map<Node, number>();
  /** Nodes `node` stands for once its aliases are expanded. */
  const size = (node: Node, depth: number): number => {
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (depth > MAX_DEPTH + MAX_ALIASES) return Infinity;
    let total = 1;
    if (isAlias(node)) {
      const target = targets.get(node);
      total = target ? size(target, depth + 1) : 1;
    } else if (isMap(node)) {
      for (const pair of node.items) {
        total +=
          (pair.key ? size(pair.key as Node, depth + 1) : 0) + (pair.value ? size(pair.value as Node, depth + 1) : 0);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) total += size(item as Node, depth + 1);
    }
    sizes.set(node, total);
    return total;
  };

  let expanded = 0;
  let aliases = 0;
  let tooDeep = false;
  const root = document.contents as Node | null;
  const stack: Visit[] = root ? [{ node: root, path: [], depth: 0 }] : [];
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    expanded++;
    if (node.anchor) anchors.set(node.anchor, node);
    if (depth > MAX_DEPTH) {
      if (!tooDeep) report(node, path, `nests deeper than ${MAX_DEPTH} levels`, 'a cluster spec is 7 levels deep');
      tooDeep = true;
      continue;
    }
    if (isAlias(node)) {
      aliases++;
      const target = anchors.get(node.source);
      const start = node.range?.[0] ?? 0;
      if (target && start >= (target.range?.[0] ?? 0) && start < (target.range?.[1] ?? 0)) {
        report(node, path, `alias *${node.source} is inside its own anchor`, 'an alias must not repeat what holds it');
        return { issues, fatal: true };
      }
      if (aliases > MAX_ALIASES) {
        report(node, path, `more than ${MAX_ALIASES} aliases`, 'write the values out instead of using so many aliases');
        return { issues, fatal: true };
      }
      if (target) {
        targets.set(node, target);
        expanded += size(target, 0) - 1;
      }
      if (expanded > MAX_EXPANDED_NODES) {
        report(
          node,
          path,
          `aliases expand the spec to more than ${MAX_EXPANDED_NODES} values`,
          'write the values out, or alias smaller parts (nested aliases multiply)',
        );
        return { issues, fatal: true };
      }
    } else if (isScalar(node)) {
      if (typeof node.value === 'string' && node.value.length > MAX_SCALAR_CHARS) {
        report(
          node,
          path,
          `is ${node.value.length} characters long (${shown(node.value)}); at most ${MAX_SCALAR_CHARS} are allowed`,
          'no spec field needs a value this long; check that the right file is given',
        );
      }
    } else if (isMap(node)) {
      const seen = new Map<string, Node>();
      const children: Visit[] = [];
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const segment = isScalar(key) ? String(key.value) : '?';
        const id = key ? keyText(key) : undefined;
        if (key && id !== undefined) {
          const first = seen.get(id);
          if (first) {
            const firstLine = lines.linePos(first.range?.[0] ?? 0).line;
            report(
              key,
              [...path, segment],
              `YAML has a duplicate key: ${shown(segment)} (first at line ${firstLine})`,
              'remove or rename one of the two keys',
            );
          } else seen.set(id, key);
          if (segment === '__proto__') {
            report(key, [...path, segment], 'is not a field name ("__proto__" is reserved)', 'remove this key');
          }
        }
        if (key) children.push({ node: key, path: [...path, segment], depth: depth + 1 });
        if (pair.value) children.push({ node: pair.value as Node, path: [...path, segment], depth: depth + 1 });
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        stack.push({ node: node.items[i] as Node, path: [...path, i], depth: depth + 1 });
      }
    }
  }
  return { issues, fatal: tooDeep };
}
