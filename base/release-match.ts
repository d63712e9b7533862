// Whether a package's version is the release a user named: `1.7.2` is 1.7.2 with any
// epoch or packaging suffix (`1.7.2-1`, `1:1.7.2-1`, `1.7.2~ds1-1`), never 1.7.27;
// `2.1` is any 2.1.x, never 2.10. A plain prefix test gets the second half wrong.

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The same rule as a POSIX extended regular expression, for `grep -E` on a host. */
export function releaseRegex(release: string): string {
  return `^([0-9]+:)?${escape(release)}([^0-9]|$)`;
}

export function matchesRelease(packageVersion: string, release: string): boolean {
  return new RegExp(releaseRegex(release)).test(packageVersion);
}
