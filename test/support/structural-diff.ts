// Two Kubernetes objects compared field by field, as parsed YAML, giving the paths where
// they differ. A path names the shallowest field that differs: a block one side lacks is
// one difference, not one per field inside it.

export interface Difference {
  /** e.g. `spec.template.spec.containers[weave].env[IPALLOC_RANGE]`, `rules[1].apiGroups[0]`. */
  readonly path: string;
  /** undefined when the field is absent on that side. */
  readonly ours: unknown;
  readonly upstream: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A null field is an absent one: upstream writes `annotations:` and `env:` with nothing
 * after them, which the API server stores as unset, just as when the key is left out.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== null && v !== undefined) out[key] = withoutNulls(v);
  return out;
}

/**
 * Lists whose items all carry a `name` are matched by name (containers, env, volumes,
 * mgr modules, storage nodes): the API server merges them by that key, so their order is
 * not a difference. Other lists are compared index by index.
 */
function keyOf(items: unknown[]): ((item: unknown, index: number) => string) | undefined {
  const named = items.length > 0 && items.every((i) => isObject(i) && typeof i.name === 'string');
  return named ? (item) => String((item as { name: string }).name) : undefined;
}

export function structuralDiff(ours: unknown, upstream: unknown, path = ''): Difference[] {
  // Keys such as annotation names hold dots of their own.
  const at = (key: string) => (/[.[\]]/.test(key) ? `${path}["${key}"]` : path ? `${path}.${key}` : key);
  if (isObject(ours) && isObject(upstream)) {
    const keys = [...new Set([...Object.keys(ours), ...Object.keys(upstream)])];
    return keys.flatMap((key) => structuralDiff(ours[key], upstream[key], at(key)));
  }
  if (Array.isArray(ours) && Array.isArray(upstream)) {
    const key = keyOf(ours) && keyOf(upstream) ? keyOf(ours)! : (_: unknown, index: number) => String(index);
    const byKey = (items: unknown[]) => new Map(items.map((item, index) => [key(item, index), item]));
    const a = byKey(ours);
    const b = byKey(upstream);
    const keys = [...new Set([...a.keys(), ...b.keys()])];
    return keys.flatMap((k) => structuralDiff(a.get(k), b.get(k), `${path}[${k}]`));
  }
  if (JSON.stringify(ours as Json) === JSON.stringify(upstream as Json)) return [];
  return [{ path, ours, upstream }];
}

/** A path's parts: field names, and `[key]` for list items. */
export function pathParts(path: string): string[] {
  return (path.match(/\["[^"]*"\]|\[[^\]]*\]|[^.[\]]+/g) ?? []).map((part) =>
    part.startsWith('["') ? part.slice(2, -2) : part,
  );
}
