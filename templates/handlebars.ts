// The one place that fills Handlebars templates. HTML escaping is off and strict
// mode is on: a missing value is an error, and every interpolation must go through
// a quoting helper for the language of the file (test/templates.test.ts checks that).
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { rubyQuote, shellQuote, tomlQuote, unitValue } from '../base/quote.js';

export const QUOTING_HELPERS = { sh: shellQuote, ruby: rubyQuote, toml: tomlQuote, unit: unitValue } as const;

const handlebars = Handlebars.create();
for (const [name, quote] of Object.entries(QUOTING_HELPERS)) {
  handlebars.registerHelper(name, (value: unknown) => {
    if (typeof value === 'number' && Number.isFinite(value)) return quote(String(value));
    if (typeof value !== 'string') throw new Error(`template helper ${name} got ${typeof value}, expected a string`);
    return quote(value);
  });
}

const compiled = new Map<string, Handlebars.TemplateDelegate>();

export function templatePath(name: string): URL {
  return new URL(`./${name}`, import.meta.url);
}

export function fillTemplate(name: string, context: object): string {
  let template = compiled.get(name);
  if (!template) {
    template = handlebars.compile(readFileSync(templatePath(name), 'utf8'), { strict: true, noEscape: true });
    compiled.set(name, template);
  }
  return template(context);
}
