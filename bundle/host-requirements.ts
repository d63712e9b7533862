// Which of a bundle's host requirements a host's installed packages do not meet.
import { parseRelations, satisfies } from './debian-version.js';
import type { HostRequirement } from './format.js';

export function hostRequirementsMissing(requires: readonly HostRequirement[], installed: ReadonlyMap<string, string>): HostRequirement[] {
  return requires.filter((r) => {
    const alternatives = parseRelations(r.relation)[0] ?? [];
    return !alternatives.some((a) => {
      const version = installed.get(a.name);
      return version !== undefined && satisfies(version, a);
    });
  });
}
