// rpm dependencies as text (`glibc >= 2.34`, `/bin/sh`, `(iptables-nft or iptables-legacy)`)
// and as the structured entries repository metadata holds; one reading for the bundle's
// resolver and for the host check of what the bundle leaves to the host.
import { FLAG_TEXT, formatEvr, parseEvr, type Evr, type RpmFlag } from './rpm-version.js';

export interface RpmDependency {
  readonly name: string;
  readonly flag?: RpmFlag;
  readonly evr?: Evr;
}

const TEXT_FLAG: Record<string, RpmFlag> = { '=': 'EQ', '==': 'EQ', '<': 'LT', '<=': 'LE', '>': 'GT', '>=': 'GE' };

export function dependencyText(d: RpmDependency): string {
  return d.flag && d.evr ? `${d.name} ${FLAG_TEXT[d.flag]} ${formatEvr(d.evr)}` : d.name;
}

function parseSimple(text: string): RpmDependency {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 1) return { name: parts[0]! };
  const flag = TEXT_FLAG[parts[1] ?? ''];
  if (parts.length !== 3 || !flag) throw new Error(`"${text}" is not an rpm dependency (NAME or NAME OP VERSION)`);
  return { name: parts[0]!, flag, evr: parseEvr(parts[2]!) };
}

/**
 * The alternatives a dependency offers: one for a plain dependency, several for a
 * boolean `(a or b)`. Other boolean forms (if/with/unless/and) are refused by name: a
 * resolver that guessed at them would pick packages dnf would not.
 */
export function parseRpmRelation(text: string): RpmDependency[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith('(')) return [parseSimple(trimmed)];
  const inner = trimmed.replace(/^\(/, '').replace(/\)$/, '');
  if (/[()]/.test(inner) || /\s(and|if|else|with|without|unless)\s/.test(inner)) {
    throw new Error(`the rich dependency "${text}" is not supported (only (A or B ...))`);
  }
  return inner.split(/\s+or\s+/).map(parseSimple);
}
