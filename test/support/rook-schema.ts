// Rook custom resources checked against the CRD schemas of the pinned Rook release,
// read from ../shared/reference (never copied into the project). The API server
// rejects unknown fields under kubectl's default strict validation; the CRD schemas
// leave that implicit, so every object schema is closed here unless it says it keeps
// unknown fields.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { SHARED_REFERENCE } from './fixtures.js';

type Schema = Record<string, unknown>;

function closeObjects(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, closeObjects(v)]),
      );
    } else if (Array.isArray(value)) {
      out[key] = value.map((v) => (v && typeof v === 'object' ? closeObjects(v as Schema) : v));
    } else if (value && typeof value === 'object') {
      out[key] = closeObjects(value as Schema);
    } else {
      out[key] = value;
    }
  }
  if (
    out.properties &&
    out.additionalProperties === undefined &&
    out['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

const ajv = new Ajv.default({ strict: false, allErrors: true });
addFormats.default(ajv);
// Kubernetes' OpenAPI integer formats: the type keyword already checks the value.
for (const format of ['int32', 'int64', 'double', 'float', 'byte']) ajv.addFormat(format, true);
const cache = new Map<string, ValidateFunction>();

export function rookValidator(kind: string): ValidateFunction {
  let validate = cache.get(kind);
  if (!validate) {
    const path = join(SHARED_REFERENCE, 'schemas', 'rook-v1.20.6', 'ceph.rook.io', `${kind.toLowerCase()}_v1.json`);
    const schema = closeObjects(JSON.parse(readFileSync(path, 'utf8')) as Schema);
    // metadata is the API server's business, not the CRD's.
    (schema.properties as Schema).metadata = { type: 'object' };
    validate = ajv.compile(schema);
    cache.set(kind, validate);
  }
  return validate;
}

export function rookErrors(object: { kind: string }): string[] {
  const validate = rookValidator(object.kind);
  return validate(object)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}
