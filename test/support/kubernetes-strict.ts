// Built-in Kubernetes objects validated strictly, as `kubectl apply --validate=strict`
// (server-side field validation Strict) does: an unknown or misspelt field is an error,
// and so is a value of the wrong type.
//
// The schema set is the Kubernetes 1.34 OpenAPI definitions (spec version v1.34.0),
// as @kubernetes/client-node 1.4.0 carries them: one generated class per definition,
// whose attributeTypeMap lists every property with its OpenAPI type. Each definition
// becomes a JSON Schema closed to unknown fields (additionalProperties: false). The
// package version is pinned exactly: a newer minor of the client moves to a newer
// Kubernetes minor. What differs between the Kubernetes minors kubestrap supports is not
// modelled (see test/doubles/CONFORMANCE.md).
//
// kubernetes-models, which the templates' types come from, validates types and required
// fields but accepts unknown ones; it stays for that.
import Ajv, { type ValidateFunction } from 'ajv';

interface Attribute {
  readonly baseName: string;
  readonly type: string;
  readonly format: string;
}
type Models = Record<string, { attributeTypeMap?: readonly Attribute[] } | undefined>;
type Schema = Record<string, unknown>;

export const SCHEMA_KUBERNETES_VERSION = '1.34.0';
const MODELS = '@kubernetes/client-node/dist/gen/models/all.js';

function typeSchema(type: string, format: string, models: Models): Schema {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return { type: 'array', items: typeSchema(array[1]!, format, models) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { type: 'object', additionalProperties: typeSchema(map[1]!, format, models) };
  switch (type) {
    case 'string':
      return { type: 'string' };
    case 'Date':
    case 'V1MicroTime': // a timestamp, as Date
      return { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return format === 'int32' || format === 'int64' ? { type: 'integer' } : { type: 'number' };
    case 'IntOrString':
      return { type: ['integer', 'string'] };
    case 'any':
      return {};
  }
  if (!models[type]?.attributeTypeMap) throw new Error(`client-node has no definition ${type}`);
  return { $ref: `#/definitions/${type}` };
}

let compiled: Promise<{ ajv: Ajv.default; models: Models }> | undefined;

async function load(): Promise<{ ajv: Ajv.default; models: Models }> {
  // A computed specifier: the package's type declarations stay out of the typecheck
  // (it depends on a newer @types/node than kubestrap's).
  const models = (await import(/* @vite-ignore */ MODELS)) as Models;
  const definitions: Record<string, Schema> = {};
  for (const [name, model] of Object.entries(models)) {
    if (!model?.attributeTypeMap) continue;
    definitions[name] = {
      type: 'object',
      properties: Object.fromEntries(
        model.attributeTypeMap.map((a) => [a.baseName, typeSchema(a.type, a.format, models)]),
      ),
      additionalProperties: false,
    };
  }
  const ajv = new Ajv.default({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'kubernetes', definitions });
  return { ajv, models };
}

/** The definition name of a built-in kind: apps/v1 DaemonSet → V1DaemonSet. */
export function definitionOf(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop()!;
  return `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
}

const validators = new Map<string, ValidateFunction>();

/** The strict-validation errors of a built-in object: `path message`, empty when valid. */
export async function strictErrors(object: { apiVersion: string; kind: string }): Promise<string[]> {
  compiled ??= load();
  const { ajv, models } = await compiled;
  const name = definitionOf(object.apiVersion, object.kind);
  if (!models[name]?.attributeTypeMap) return [`no Kubernetes ${SCHEMA_KUBERNETES_VERSION} definition ${name}`];
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.getSchema(`kubernetes#/definitions/${name}`)!;
    validators.set(name, validate);
  }
  if (validate(object)) return [];
  // Worded as the API server words them (sigs.k8s.io/json's strict decoder, through
  // apimachinery's runtime/serializer/json): the field's dotted path with [i] for items.
  const dotted = (pointer: string) =>
    pointer
      .split('/')
      .slice(1)
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
      .join('')
      .replace(/^\./, '');
  return (validate.errors ?? []).map((e) => {
    if (e.keyword !== 'additionalProperties') return `${dotted(e.instancePath) || '.'}: ${e.message}`;
    const field = (e.params as { additionalProperty: string }).additionalProperty;
    return `strict decoding error: unknown field "${dotted(`${e.instancePath}/${field}`)}"`;
  });
}
