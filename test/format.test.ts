// The code is laid out by Prettier (.prettierrc.json), and no line is longer than its
// printWidth: Prettier does not break long strings, so a long message is split by hand.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/fixtures.js';

const SKIP = new Set(['node_modules', 'dist', 'golden', 'fixtures', '.git', '.kubestrap']);

function code(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return code(path);
    return /\.(ts|mjs)$/.test(name) && !name.endsWith('.typecheck.ts') ? [path] : [];
  });
}

describe('layout', async () => {
  const files = code(REPO_ROOT);
  const config = await prettier.resolveConfig(join(REPO_ROOT, 'package.json'));
  const width = config?.printWidth ?? 80;

  it('finds the code', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(width).toBe(120);
  });

  it('is formatted as Prettier writes it (npx prettier --write . fixes it)', async () => {
    const unformatted: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      if (!(await prettier.check(text, { ...config, filepath: file }))) unformatted.push(relative(REPO_ROOT, file));
    }
    expect(unformatted).toEqual([]);
  });

  it(`keeps every line within ${width} characters`, () => {
    const long: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.length > width) long.push(`${relative(REPO_ROOT, file)}:${i + 1} (${line.length})`);
        });
    }
    expect(long).toEqual([]);
  });
});
