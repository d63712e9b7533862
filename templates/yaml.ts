// Kubernetes objects to YAML, deterministically: objects are built with a fixed key
// order, undefined fields are dropped, lines are never folded.
import { stringify } from 'yaml';

const OPTIONS = { lineWidth: 0, minContentWidth: 0, indentSeq: true, aliasDuplicateObjects: false } as const;

export function toYaml(value: unknown): string {
  return stringify(value, OPTIONS);
}

export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map((value) => toYaml(value)).join('---\n');
}
