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
  /** Whether the spec names its provider (else `provider` was the caller's fallback). */
  readonly providerGiven: boolean;
  readonly spec: ClusterSpec;
  readonly model: ClusterModel;
  readonly warnings: readonly LocatedIssue[];
}

export type Provider = NonNullable<ClusterSpec['spec']['machines']['provider']>;

/**
 * Validates spec text; throws SpecError listing every problem when there are errors.
 * `provider` stands in when the spec names none (VirtualBox by default).
 */
export function loadSpecText(text: string, file: string, provider: Provider = 'virtualbox'): LoadedSpec {
  const source = parseSpecText(text, file);
  if (source.syntaxIssues.some((i) => i.severity === 'error')) throw new SpecError(source.syntaxIssues);
  const parsed = ClusterSpecSchema.safeParse(source.document.toJS(), { reportInput: true });
  const providerGiven = !parsed.success || parsed.data.spec.machines.provider !== undefined;
  if (parsed.success && !providerGiven) parsed.data.spec.machines.provider = provider;
  const issues = parsed.success ? checkSpec(parsed.data) : schemaIssues(ClusterSpecSchema, parsed.error.issues);
  const located = [...source.syntaxIssues, ...locateAll(source, issues)];
  if (!parsed.success || located.some((i) => i.severity === 'error')) throw new SpecError(located);
  return { file, providerGiven, spec: parsed.data, model: buildModel(parsed.data), warnings: located };
}

/** Loads the spec at `file`, or the embedded default when none is given. */
export async function loadSpec(file?: string, provider?: Provider): Promise<LoadedSpec> {
  const path = file ?? DEFAULT_SPEC_PATH;
  const text = await readFile(path, 'utf8');
  return loadSpecText(text, file ?? '<default spec>', provider);
}
