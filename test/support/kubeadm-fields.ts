// The field paths each config kind accepts, for the kubeadm double's strict
// `config validate` (unknown fields are errors; init and join only warn). Derived from the
// JSON schemas in shared/reference/schemas/kubeadm (kubeadm v1beta3/v1beta4,
// KubeletConfiguration v1beta1, KubeProxyConfiguration v1alpha1), which are closed to
// unknown fields: one line per allowed path, `apiVersion kind path`, where a list item
// is `[]`, a map key of a free-form map `*`, and anything goes under `**`. The double
// has no node or JSON Schema validator on the hosts, so it gets the names, not the types.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_REFERENCE } from './fixtures.js';

type Schema = { [key: string]: unknown };
const SCHEMAS = ['kubeadm-v1beta3', 'kubeadm-v1beta4', 'kubelet-config-v1beta1', 'kube-proxy-v1alpha1'];

function walk(root: Schema, node: Schema | boolean | undefined, path: string, out: Set<string>, depth: number): void {
  if (node === undefined || node === false) return;
  if (node === true || depth > 25) {
    out.add(path ? `${path}.**` : '**');
    return;
  }
  const ref = node.$ref as string | undefined;
  if (ref) {
    const name = ref.replace('#/$defs/', '');
    walk(root, (root.$defs as Record<string, Schema>)[name], path, out, depth + 1);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const)
    for (const sub of (node[key] as Schema[] | undefined) ?? []) walk(root, sub, path, out, depth + 1);
  for (const key of ['then', 'else'] as const) walk(root, node[key] as Schema | undefined, path, out, depth + 1);
  const properties = node.properties as Record<string, Schema> | undefined;
  for (const [name, sub] of Object.entries(properties ?? {})) {
    const child = path ? `${path}.${name}` : name;
    out.add(child);
    // `name: true` in a rule's branch constrains presence, not the field's contents.
    if ((sub as unknown) !== true) walk(root, sub, child, out, depth + 1);
  }
  if (node.items !== undefined) {
    const child = `${path}[]`;
    out.add(child);
    walk(root, node.items as Schema, child, out, depth + 1);
  }
  const additional = node.additionalProperties as Schema | boolean | undefined;
  if (additional !== undefined && additional !== false) {
    const child = path ? `${path}.*` : '*';
    out.add(child);
    walk(root, additional, child, out, depth + 1);
  } else if (node.type === 'object' && !properties && additional === undefined && !ref) {
    out.add(path ? `${path}.**` : '**');
  }
}

export function kubeadmFieldList(): string {
  const lines: string[] = [];
  for (const file of SCHEMAS) {
    const root = JSON.parse(readFileSync(join(SHARED_REFERENCE, 'schemas/kubeadm', `${file}.json`), 'utf8')) as Schema;
    const apiVersion = (root.properties as Record<string, Schema>).apiVersion!.const as string;
    const kinds = (root.properties as Record<string, Schema>).kind!.enum as string[];
    for (const kind of kinds) {
      const paths = new Set<string>();
      walk(root, (root.$defs as Record<string, Schema>)[kind], '', paths, 0);
      for (const path of [...paths].sort()) lines.push(`${apiVersion} ${kind} ${path}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
