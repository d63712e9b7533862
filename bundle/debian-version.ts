// Debian version ordering (deb-version(7)) and dependency relations, as dpkg has them:
// the bundle picks the packages apt on the host would pick.

function order(c: string): number {
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (c === '') return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let diff = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = order(i < a.length && !/[0-9]/.test(a[i]!) ? a[i]! : '');
      const bc = order(j < b.length && !/[0-9]/.test(b[j]!) ? b[j]! : '');
      if (ac !== bc) return ac - bc;
      if (i < a.length && !/[0-9]/.test(a[i]!)) i++;
      if (j < b.length && !/[0-9]/.test(b[j]!)) j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (!diff) diff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (diff) return diff;
  }
  return 0;
}

function split(version: string): [number, string, string] {
  const colon = version.indexOf(':');
  const epoch = colon >= 0 ? Number(version.slice(0, colon)) : 0;
  const rest = colon >= 0 ? version.slice(colon + 1) : version;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ''];
}

/** <0, 0, >0 as dpkg --compare-versions orders a and b. */
export function compareVersions(a: string, b: string): number {
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea - eb;
  return comparePart(ua, ub) || comparePart(ra, rb);
}

export type Operator = '<<' | '<=' | '=' | '>=' | '>>';

export interface Relation {
  readonly name: string;
  readonly operator?: Operator;
  readonly version?: string;
  /** The text as the package wrote it. */
  readonly text: string;
}

// One alternative of a relation: name[:arch] [(op version)] [[architectures]] [<build profiles>].
const RELATION = new RegExp(
  String.raw`^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?` +
    String.raw`\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?` +
    String.raw`\s*(?:\[[^\]]*\])?` +
    String.raw`\s*(?:<[^>]*>)?$`,
);

/** `a (>= 1) | b, c` → [[a (>= 1), b], [c]]: every group must be met, by any one of its alternatives. */
export function parseRelations(field: string | undefined): Relation[][] {
  if (!field?.trim()) return [];
  return field.split(',').map((group) =>
    group.split('|').map((alternative) => {
      const text = alternative.trim();
      const match = RELATION.exec(text);
      if (!match) throw new Error(`cannot read the dependency "${text}"`);
      // `<` and `>` are dpkg's obsolete spellings of `<=` and `>=`.
      const op = match[2] === '<' ? '<=' : match[2] === '>' ? '>=' : (match[2] as Operator | undefined);
      return { name: match[1]!, ...(op ? { operator: op, version: match[3]! } : {}), text };
    }),
  );
}

export function satisfies(version: string, relation: Pick<Relation, 'operator' | 'version'>): boolean {
  if (!relation.operator || relation.version === undefined) return true;
  const c = compareVersions(version, relation.version);
  switch (relation.operator) {
    case '<<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}
