// The spec fixtures every rendered-output test runs over, rendered into temp dirs.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeRender } from '../../operations/render-dir.js';
import { loadSpec, type LoadedSpec } from '../../spec/load.js';
import { renderCluster, type RenderedFile } from '../../templates/render.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/specs/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Upstream material the checks compare against (kubeadm's API types, Rook's CRD schemas
 * and manifests), kept beside the repository, never copied into it.
 * KUBESTRAP_SHARED_REFERENCE points elsewhere (or at nothing, to see what a clone without it runs).
 */
export const SHARED_REFERENCE = process.env.KUBESTRAP_SHARED_REFERENCE || join(REPO_ROOT, '..', 'shared', 'reference');

/**
 * Why tests that read SHARED_REFERENCE cannot run, or undefined when they can. A fresh
 * clone without it skips them with this reason; CI (.ci/run puts it beside the clone)
 * fails instead, because a silent skip there would hide a broken checkout.
 */
export function sharedReferenceMissing(): string | undefined {
  if (existsSync(join(SHARED_REFERENCE, 'README.md'))) return undefined;
  const reason =
    `needs the upstream reference material at ${SHARED_REFERENCE} ` +
    '(../shared/reference beside the repository, or KUBESTRAP_SHARED_REFERENCE), which is absent';
  if (process.env.CI) throw new Error(`CI must have the reference material; ${reason}`);
  return reason;
}

export const FIXTURES = readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => name.replace(/\.yaml$/, ''))
  .sort();

export interface RenderedFixture {
  readonly name: string;
  readonly loaded: LoadedSpec;
  readonly files: RenderedFile[];
  readonly dir: string;
}

export async function renderFixture(name: string): Promise<RenderedFixture> {
  const loaded = await loadSpec(join(FIXTURE_DIR, `${name}.yaml`));
  const files = renderCluster(loaded.model);
  const dir = mkdtempSync(join(tmpdir(), `kubestrap-${name}-`));
  await writeRender(dir, files, loaded.model.name);
  return { name, loaded, files, dir };
}

export function filesMatching(fixture: RenderedFixture, pattern: RegExp): RenderedFile[] {
  return fixture.files.filter((f) => pattern.test(f.path));
}
