// Which of a bundle's host requirements a host does not meet: Debian relations against
// the installed packages' versions, rpm dependencies against what the installed
// packages provide (rpm -q --whatprovides cannot compare versions itself).
import { parseRelations, satisfies } from './debian-version.js';
import type { HostRequirement } from './format.js';
import { parseRpmRelation, type RpmDependency } from './rpm-relation.js';
import { evrSatisfies } from './rpm-version.js';

/** The package names (Debian) or capabilities (rpm) to ask the host about. */
export function requiredNames(family: 'debian' | 'rhel', requires: readonly HostRequirement[]): string[] {
  const names = requires.flatMap((r) =>
    (family === 'debian' ? parseRelations(r.relation).flat() : parseRpmRelation(r.relation)).map((a) => a.name),
  );
  return [...new Set(names)].sort();
}

export function hostRequirementsMissing(
  requires: readonly HostRequirement[],
  installed: ReadonlyMap<string, string>,
): HostRequirement[] {
  return requires.filter((r) => {
    const alternatives = parseRelations(r.relation)[0] ?? [];
    return !alternatives.some((a) => {
      const version = installed.get(a.name);
      return version !== undefined && satisfies(version, a);
    });
  });
}

function providedBy(want: RpmDependency, provides: readonly string[] | undefined): boolean {
  if (!provides?.length) return false;
  // A file is provided by owning it; an unversioned need by any provider.
  if (want.name.startsWith('/') || !want.flag || !want.evr) return true;
  return provides.some((line) => {
    let have: RpmDependency;
    try {
      [have] = parseRpmRelation(line) as [RpmDependency];
    } catch {
      return false;
    }
    return have.name === want.name && (!have.evr || evrSatisfies(have.evr, want.flag!, want.evr!));
  });
}

/** `provided`: for each capability a host package provides, every Provides line of those packages. */
export function rpmRequirementsMissing(
  requires: readonly HostRequirement[],
  provided: ReadonlyMap<string, readonly string[]>,
): HostRequirement[] {
  return requires.filter((r) => !parseRpmRelation(r.relation).some((a) => providedBy(a, provided.get(a.name))));
}
