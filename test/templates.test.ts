// The quoting helpers, proven against the real interpreters, and the rule that every
// Handlebars interpolation goes through one of them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { QUOTING_HELPERS } from '../templates/handlebars.js';
import { rubyQuote, shellQuote, tomlQuote, unitValue } from '../base/quote.js';
import { missingTools, run } from './support/tools.js';

const NASTY = [
  'plain',
  "it's",
  'a"b',
  'back\\slash',
  '$(touch /tmp/pwned) `id` ${HOME}',
  "'; rm -rf / #",
  'line\nbreak\ttab',
  '#{system("id")}',
  'ünïcödé ✓',
  '',
];

describe('quoting helpers against the real interpreters', () => {
  it.each(NASTY)('sh reads %j back unchanged', (value) => {
    expect(run('sh', ['-c', `printf %s ${shellQuote(value)}`]).stdout).toBe(value);
  });

  const rubyMissing = missingTools('ruby');
  it.skipIf(rubyMissing).each(NASTY)(
    `ruby reads %j back unchanged${rubyMissing ? ` (skipped: ${rubyMissing})` : ''}`,
    (value) => {
      expect(run('ruby', ['-e', `print ${rubyQuote(value)}`]).stdout).toBe(value);
    },
  );

  it.each([...NASTY, 'del\u007fchar', 'nul\u0000byte'])('TOML reads %j back unchanged', (value) => {
    expect((parseToml(`key = ${tomlQuote(value)}`) as { key: string }).key).toBe(value);
  });

  it('systemd values: accepts safe words, refuses anything that would need quoting', () => {
    expect(unitValue('/etc/default/kubelet')).toBe('/etc/default/kubelet');
    expect(unitValue('192.168.56.10')).toBe('192.168.56.10');
    for (const bad of ['a b', 'a"b', "a'b", 'a\\b', '$HOME', '%h', 'a;b', 'a\nb', '']) {
      expect(() => unitValue(bad), bad).toThrow(/cannot be written into a systemd file/);
    }
  });
});

const TEMPLATE_ROOT = fileURLToPath(new URL('../templates/', import.meta.url));

function templates(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? templates(path) : name.endsWith('.hbs') ? [path] : [];
  });
}

interface AstNode {
  type: string;
  path?: { original: string };
  params?: unknown[];
  body?: AstNode[];
  program?: AstNode;
  inverse?: AstNode;
}

function interpolations(node: AstNode, out: AstNode[] = []): AstNode[] {
  if (node.type === 'MustacheStatement' || node.type === 'BlockStatement') out.push(node);
  for (const child of [...(node.body ?? []), node.program, node.inverse]) if (child) interpolations(child, out);
  return out;
}

describe('templates', () => {
  const files = templates(TEMPLATE_ROOT);

  it('exist', () => {
    expect(files.map((f) => f.slice(TEMPLATE_ROOT.length)).sort()).toEqual([
      'containerd/config-v2.toml.hbs',
      'containerd/config-v3.toml.hbs',
      'systemd/10-kubeadm.conf.hbs',
      'systemd/kubelet-defaults.hbs',
      'systemd/kubelet.service.hbs',
      'vagrant/Vagrantfile.hbs',
    ]);
  });

  it.each(files.map((f) => [f.slice(TEMPLATE_ROOT.length), f]))(
    '%s interpolates only through a quoting helper',
    (_name, path) => {
      const ast = Handlebars.parse(readFileSync(path, 'utf8')) as unknown as AstNode;
      for (const node of interpolations(ast)) {
        expect(node.type).toBe('MustacheStatement');
        expect(Object.keys(QUOTING_HELPERS)).toContain(node.path!.original);
        expect(node.params).toHaveLength(1);
      }
    },
  );

  it('the checker notices a bare interpolation (the check can fail)', () => {
    const ast = Handlebars.parse('x = {{name}}') as unknown as AstNode;
    const [node] = interpolations(ast);
    expect(Object.keys(QUOTING_HELPERS)).not.toContain(node!.path!.original);
  });
});
