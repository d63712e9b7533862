// The spec as JSON Schema, for editors (`# yaml-language-server: $schema=…`) and CI.
import { z } from 'zod';
import { ClusterSpecSchema } from './schema.js';

export const SCHEMA_ID = 'https://kubestrap.dev/schemas/cluster-v1alpha1.json';

export function clusterJsonSchema(): Record<string, unknown> {
  // io: 'input' describes what users write: fields with defaults are optional.
  const schema = z.toJSONSchema(ClusterSpecSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, $id: SCHEMA_ID };
}
