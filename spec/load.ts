// Reading a spec: YAML with positions → schema → cross-field rules → model.
// Every problem is collected and reported together; nothing is half-loaded.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SpecError, type LocatedIssue } from './issues.js';
import { buildModel, type ClusterModel } from './model.js';
import { checkSpec } from './rules.js';
import { ClusterSpecSchema, type ClusterSpec } from './schema.js';
import { schemaIssues } from './schema-issues.js';
import { locateAll, parseSpecText } from './source.js';

export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('./default-cluster.yaml', import.meta.url));

export interface LoadedSpec {
  readonly file: string;
  readonly spec: ClusterSpec;
  readonly model: ClusterModel;
  readonly warnings: readonly LocatedIssue[];
}

/** Validates spec text; throws SpecError listing every problem when there are errors. */
export function loadSpecText(text: string, file: string): LoadedSpec {
  const source = parseSpecText(text, file);
  if (source.syntaxIssues.some((i) => i.severity === 'error')) throw new SpecError(source.syntaxIssues);
  const parsed = ClusterSpecSchema.safeParse(source.document.toJS(), { reportInput: true });
  const issues = parsed.success ? checkSpec(parsed.data) : schemaIssues(ClusterSpecSchema, parsed.error.issues);
  const located = [...source.syntaxIssues, ...locateAll(source, issues)];
  if (!parsed.success || located.some((i) => i.severity === 'error')) throw new SpecError(located);
  return { file, spec: parsed.data, model: buildModel(parsed.data), warnings: located };
}

/** Loads the spec at `file`, or the embedded default when none is given. */
export async function loadSpec(file?: string): Promise<LoadedSpec> {
  const path = file ?? DEFAULT_SPEC_PATH;
  const text = await readFile(path, 'utf8');
  return loadSpecText(text, file ?? '<default spec>');
}
