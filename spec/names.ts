// Name and label syntax as Kubernetes and RFC 1123 define it. These checks are also
// the first line of defence against injection: a value that passes cannot carry
// quotes, spaces, newlines or shell metacharacters.
import { shown } from './issues.js';

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const LABEL_VALUE = /^(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$/;

/** A label or taint key: optional DNS-subdomain prefix, a slash, and a name of ≤ 63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) {
    return `key prefix ${shown(prefix)} is not a lowercase DNS subdomain`;
  }
  if (!LABEL_NAME.test(name)) {
    return (
      `key name ${shown(name)} must be 1-63 characters of letters, digits, '-', '_' or '.', ` +
      `starting and ending with a letter or digit`
    );
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (!LABEL_VALUE.test(value)) {
    return (
      `value ${shown(value)} must be at most 63 characters of letters, digits, '-', '_' or '.', ` +
      `starting and ending with a letter or digit`
    );
  }
  return undefined;
}

/** Levenshtein distance, for "did you mean" hints on misspelt field names. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
