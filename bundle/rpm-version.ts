// rpm version ordering (rpmvercmp, with ~ and ^) and the epoch:version-release
// comparison a dependency uses: the bundle picks the packages dnf on the host would pick.

export interface Evr {
  readonly epoch: number;
  readonly version: string;
  /** Absent in a requirement such as `glibc >= 2.34`: then any release matches. */
  readonly release?: string;
}

export type RpmFlag = 'EQ' | 'LT' | 'GT' | 'LE' | 'GE';

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);

/** rpm's rpmvercmp(): -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isDigit(a[i]) && !isAlpha(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isDigit(b[j]) && !isAlpha(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    // ~ sorts before everything, even the end of the string.
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    // ^ sorts after the end of the string but before anything else.
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const take = numeric ? isDigit : isAlpha;
    let ie = i;
    let je = j;
    while (ie < a.length && take(a[ie])) ie++;
    while (je < b.length && take(b[je])) je++;
    if (je === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ie);
    let sb = b.slice(j, je);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ie;
    j = je;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** Compares epoch, then version, then release (only if both have one, as rpm does for dependencies). */
export function compareEvr(a: Evr, b: Evr): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0 || a.release === undefined || b.release === undefined) return v;
  return rpmvercmp(a.release, b.release);
}

/** `[epoch:]version[-release]`. */
export function parseEvr(text: string): Evr {
  const match = /^(?:(\d+):)?([^-]*)(?:-(.*))?$/.exec(text);
  if (!match) throw new Error(`"${text}" is not an rpm version`);
  return { epoch: Number(match[1] ?? 0), version: match[2]!, ...(match[3] !== undefined ? { release: match[3] } : {}) };
}

export function formatEvr(evr: Evr): string {
  return `${evr.epoch ? `${evr.epoch}:` : ''}${evr.version}${evr.release !== undefined ? `-${evr.release}` : ''}`;
}

/** Whether a package (or capability) at `have` meets `flag want`. */
export function evrSatisfies(have: Evr, flag: RpmFlag, want: Evr): boolean {
  const c = compareEvr(have, want);
  switch (flag) {
    case 'EQ':
      return c === 0;
    case 'LT':
      return c < 0;
    case 'LE':
      return c <= 0;
    case 'GT':
      return c > 0;
    case 'GE':
      return c >= 0;
  }
}

export const FLAG_TEXT: Record<RpmFlag, string> = { EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' };
