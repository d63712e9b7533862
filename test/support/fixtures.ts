// The spec fixtures every rendered-output test runs over, rendered into temp dirs.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeRender } from '../../operations/render-dir.js';
import { loadSpec, type LoadedSpec } from '../../spec/load.js';
import { renderCluster, type RenderedFile } from '../../templates/render.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/specs/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHARED_REFERENCE = join(REPO_ROOT, '..', 'shared', 'reference');

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
  await writeRender(dir, files);
  return { name, loaded, files, dir };
}

export function filesMatching(fixture: RenderedFixture, pattern: RegExp): RenderedFile[] {
  return fixture.files.filter((f) => pattern.test(f.path));
}
