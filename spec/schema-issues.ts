// Turns zod's findings into spec issues that say what is wrong and how to fix it,
// using the field descriptions the schema carries.
import { z } from 'zod';
import { shown, type SpecIssue } from './issues.js';
import { closest } from './names.js';

type AnySchema = z.core.$ZodType;

interface FieldInfo {
  schema: AnySchema | undefined;
  description: string | undefined;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional']);

function describe(schema: AnySchema): string | undefined {
  return z.globalRegistry.get(schema)?.description;
}

function unwrap(schema: AnySchema): FieldInfo {
  let current = schema;
  let description = describe(current);
  while (WRAPPERS.has(current._zod.def.type)) {
    current = (current._zod.def as unknown as { innerType: AnySchema }).innerType;
    description ??= describe(current);
  }
  return { schema: current, description };
}

/** The schema that governs `path`, with the first description found along its wrappers. */
export function fieldAt(root: AnySchema, path: readonly PropertyKey[]): FieldInfo {
  let info = unwrap(root);
  for (const segment of path) {
    const def = info.schema?._zod.def as unknown as Record<string, unknown> | undefined;
    if (!def) return { schema: undefined, description: undefined };
    let next: AnySchema | undefined;
    if (def.type === 'object') next = (def.shape as Record<string, AnySchema>)[String(segment)];
    else if (def.type === 'array') next = def.element as AnySchema;
    else if (def.type === 'record') next = def.valueType as AnySchema;
    else if (def.type === 'union') {
      // A field of a union (controlPlaneEndpoint's mapping form): the option that has it.
      for (const option of def.options as AnySchema[]) {
        const inner = unwrap(option).schema?._zod.def as unknown as { type: string; shape?: Record<string, AnySchema> };
        if (inner?.type === 'object' && inner.shape?.[String(segment)]) next = inner.shape[String(segment)];
      }
    }
    if (!next) return { schema: undefined, description: undefined };
    info = unwrap(next);
  }
  return info;
}

type ShapeDef = { type: string; shape?: Record<string, unknown>; options?: AnySchema[] } | undefined;

function objectKeys(root: AnySchema, path: readonly PropertyKey[]): string[] {
  const def = fieldAt(root, path).schema?._zod.def as unknown as ShapeDef;
  // A union's mapping option (controlPlaneEndpoint): unknown keys can only come from that one.
  const object =
    def?.type === 'union'
      ? def.options?.map((o) => unwrap(o).schema?._zod.def as unknown as ShapeDef).find((d) => d?.type === 'object')
      : def;
  return object?.type === 'object' && object.shape ? Object.keys(object.shape) : [];
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${shown(value)}`;
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping of fields',
  array: 'a list',
};

function splitMessage(message: string): { message: string; hint: string } {
  const at = message.indexOf(' — ');
  if (at < 0) return { message, hint: 'see `kubestrap schema` for the allowed values' };
  return { message: message.slice(0, at), hint: message.slice(at + 3) };
}

function pathOf(issue: z.core.$ZodIssue): (string | number)[] {
  return issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

export function schemaIssues(root: AnySchema, issues: readonly z.core.$ZodIssue[]): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of issues) {
    const path = pathOf(issue);
    const field = fieldAt(root, path);
    const about = field.description ? ` (${field.description})` : '';
    switch (issue.code) {
      case 'invalid_type': {
        const input = (issue as { input?: unknown }).input;
        const expected = EXPECTED[issue.expected] ?? issue.expected;
        if (input === undefined) {
          out.push({
            severity: 'error',
            path,
            message: 'is required',
            hint: `add ${String(path.at(-1))}: ${expected}${about}`,
          });
        } else {
          out.push({
            severity: 'error',
            path,
            message: `must be ${expected}, not ${typeName(input)}`,
            hint: `write ${expected} here${about}`,
          });
        }
        break;
      }
      case 'unrecognized_keys': {
        const allowed = objectKeys(root, path);
        for (const key of issue.keys) {
          if (key === '__proto__') continue; // reported by structureIssues, wherever it is
          const guess = closest(key, allowed);
          out.push({
            severity: 'error',
            path: [...path, key],
            atKey: true,
            message: `unknown field ${shown(key)}`,
            hint: guess ? `did you mean "${guess}"?` : `remove it; allowed here: ${allowed.join(', ')}`,
          });
        }
        break;
      }
      case 'invalid_value': {
        const input = (issue as { input?: unknown }).input;
        const values = issue.values.map((v) => JSON.stringify(v)).join(', ');
        if (input === undefined) {
          // A missing apiVersion or kind: say what to add, not "not undefined".
          out.push({
            severity: 'error',
            path,
            message: 'is required',
            hint: `add ${String(path.at(-1))}: ${issue.values.length === 1 ? values : `one of ${values}`}${about}`,
          });
          break;
        }
        const guess = typeof input === 'string' ? closest(input, issue.values.map(String)) : undefined;
        out.push({
          severity: 'error',
          path,
          message:
            issue.values.length === 1
              ? `must be ${values}, not ${typeName(input)}`
              : `must be one of ${values}, not ${typeName(input)}`,
          hint: guess ? `did you mean "${guess}"?` : `use one of ${values}${about}`,
        });
        break;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const custom = issue.message.includes(' — ');
        if (custom) {
          out.push({ severity: 'error', path, ...splitMessage(issue.message) });
        } else {
          const word = issue.code === 'too_small' ? 'at least' : 'at most';
          const what = issue.origin === 'array' ? ` item(s)` : issue.origin === 'string' ? ` character(s)` : '';
          const input = (issue as { input?: unknown }).input;
          out.push({
            severity: 'error',
            path,
            message: `must be ${word} ${String(bound)}${what}${typeof input === 'number' ? `, not ${input}` : ''}`,
            hint: `change it to ${word} ${String(bound)}${what}${about}`,
          });
        }
        break;
      }
      case 'invalid_key': {
        // A record key that fails its own check: zod wraps that check's message.
        const inner = issue.issues[0]?.message ?? issue.message;
        out.push({ severity: 'error', path, atKey: true, ...splitMessage(inner) });
        break;
      }
      case 'invalid_union': {
        // Report the option the value was written for (the one whose type it has), as if it were the only one.
        const written = issue.errors.filter(
          (branch) => !(branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0),
        );
        if (written.length === 1) {
          const nested = written[0]!.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
          out.push(...schemaIssues(root, nested));
        } else {
          const input = (issue as { input?: unknown }).input;
          out.push({
            severity: 'error',
            path,
            message: `has the wrong shape: ${typeName(input)}`,
            hint: `write one of the forms the field takes${about}`,
          });
        }
        break;
      }
      default:
        out.push({ severity: 'error', path, ...splitMessage(issue.message) });
    }
  }
  return out;
}
