// Reading a spec: YAML with positions → schema → cross-field rules → model.
// Every problem is collected and reported together; nothing is half-loaded.
import { fileURLToPath } from 'node:url';
import { SpecError, type LocatedIssue, type SpecIssue } from './issues.js';
import { MAX_CLUSTER_NODES, MAX_EXPANDED_NODES, MAX_SPEC_BYTES } from './limits.js';
import { buildModel, type ClusterModel } from './model.js';
import { decodeSpecBytes, readSpecFile } from './read.js';
import { asRecord, checkPartialSpec, checkSpec } from './rules.js';
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
 * The cluster's node count, groups expanded, read from the document before the schema
 * runs, so that no rule or model ever expands more than MAX_CLUSTER_NODES nodes.
 */
function nodeCountIssue(raw: unknown): SpecIssue | undefined {
  const nodes = asRecord(asRecord(asRecord(raw).spec).machines).nodes;
  if (!Array.isArray(nodes)) return undefined;
  let total = 0;
  for (const entry of nodes) {
    const count = asRecord(entry).count;
    total += typeof count === 'number' && Number.isInteger(count) && count > 1 ? count : 1;
  }
  if (total <= MAX_CLUSTER_NODES) return undefined;
  return {
    severity: 'error',
    path: ['spec', 'machines', 'nodes'],
    message: `make ${total} nodes once groups are expanded; kubestrap supports at most ${MAX_CLUSTER_NODES}`,
    hint: `lower the counts to ${MAX_CLUSTER_NODES} nodes in all`,
  };
}

/**
 * Validates spec text; throws SpecError listing every problem when there are errors.
 * `provider` stands in when the spec names none (VirtualBox by default).
 */
export function loadSpecText(text: string, file: string, provider: Provider = 'virtualbox'): LoadedSpec {
  if (text.length > MAX_SPEC_BYTES || Buffer.byteLength(text) > MAX_SPEC_BYTES) {
    throw new SpecError([
      {
        severity: 'error',
        file,
        line: 1,
        column: 1,
        path: [],
        message: `is larger than ${MAX_SPEC_BYTES / 1024} KiB, which no cluster spec needs`,
        hint: 'give the cluster spec file (a spec of 500 nodes is a few hundred KiB)',
      },
    ]);
  }
  if (text.includes('\0')) decodeSpecBytes(Buffer.from(text), file);
  const source = parseSpecText(text, file);
  if (source.fatal) throw new SpecError(source.syntaxIssues);
  // structureIssues bounded what aliases expand to; yaml's own alias check stays as a backstop.
  const raw: unknown = source.document.toJS({ maxAliasCount: MAX_EXPANDED_NODES });
  const tooMany = nodeCountIssue(raw);
  const parsed = ClusterSpecSchema.safeParse(raw, { reportInput: true });
  const providerGiven = !parsed.success || parsed.data.spec.machines.provider !== undefined;
  if (parsed.success && !providerGiven) parsed.data.spec.machines.provider = provider;
  let issues: SpecIssue[];
  if (tooMany) issues = [tooMany, ...(parsed.success ? [] : schemaIssues(ClusterSpecSchema, parsed.error.issues))];
  else if (parsed.success) issues = checkSpec(parsed.data);
  // Rules run on the parts the schema accepted, so one run still lists every problem.
  else issues = [...schemaIssues(ClusterSpecSchema, parsed.error.issues), ...checkPartialSpec(raw, provider)];
  const located = [...source.syntaxIssues, ...locateAll(source, issues)];
  if (!parsed.success || located.some((i) => i.severity === 'error')) throw new SpecError(located);
  return { file, providerGiven, spec: parsed.data, model: buildModel(parsed.data), warnings: located };
}

/** Loads the spec at `file`, or the embedded default when none is given. */
export async function loadSpec(file?: string, provider?: Provider): Promise<LoadedSpec> {
  const text = await readSpecFile(file ?? DEFAULT_SPEC_PATH, file ?? '<default spec>');
  return loadSpecText(text, file ?? '<default spec>', provider);
}
