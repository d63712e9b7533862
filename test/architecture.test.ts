// The floors of the code, enforced: each top-level folder imports only from the folders
// below it (ARCHITECTURE.md draws them), and no module imports itself back through a
// chain. Read with TypeScript's own import scanner, so comments and strings that look
// like imports do not count.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/fixtures.js';

/** Which folders each folder may import from. */
export const FLOORS: Record<string, readonly string[]> = {
  base: [],
  spec: ['base'],
  templates: ['base', 'spec'],
  ssh: ['base', 'spec'],
  vagrant: ['base', 'spec'],
  engine: ['base', 'spec', 'ssh'],
  bundle: ['base', 'spec', 'templates'],
  provisioners: ['base', 'spec', 'templates', 'ssh', 'engine', 'bundle'],
  operations: ['base', 'spec', 'templates', 'ssh', 'vagrant', 'engine', 'bundle', 'provisioners'],
  cli: ['base', 'spec', 'engine', 'operations'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module's relative imports (static, dynamic, `export … from`), as repository paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const folder of Object.keys(FLOORS)) {
    for (const file of sources(join(REPO_ROOT, folder))) {
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      const targets = info.importedFiles
        .map((f) => f.fileName)
        .filter((name) => name.startsWith('.'))
        .map((name) => relative(REPO_ROOT, resolve(dirname(file), name)).replace(/\.js$/, '.ts'));
      graph.set(relative(REPO_ROOT, file), targets);
    }
  }
  return graph;
}

const topFolder = (path: string) => path.split('/')[0]!;

describe('architecture', () => {
  const graph = importGraph();

  it('reads every floor', () => {
    for (const folder of Object.keys(FLOORS))
      expect(
        [...graph.keys()].some((file) => topFolder(file) === folder),
        folder,
      ).toBe(true);
  });

  it('each folder imports only from the floors below it', () => {
    const breaches: string[] = [];
    for (const [file, targets] of graph) {
      const from = topFolder(file);
      for (const target of targets) {
        const to = topFolder(target);
        if (to !== from && !FLOORS[from]!.includes(to))
          breaches.push(
            `${file} imports ${target} (${from}/ may import ${FLOORS[from]!.join(', ') || 'nothing of ours'})`,
          );
      }
    }
    expect(breaches).toEqual([]);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') return void cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
