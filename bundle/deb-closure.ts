// Which .debs a bundle must carry: the requested packages and, recursively, what they
// depend on, choosing as apt would (the highest version that satisfies). Packages every
// installation of the OS has (Priority required or important) and dependencies the
// repositories do not offer are not carried but recorded, so that `install` can check
// each host for them before it changes anything.
import type { HostRequirement } from './format.js';
import { compareVersions, parseRelations, satisfies, type Relation } from './debian-version.js';
import type { DebPackage } from './deb-index.js';

export interface WantedPackage {
  readonly name: string;
  /** Upstream version the package's version must start with (`1.34.2` matches `1.34.2-1.1`). */
  readonly upstreamVersion?: string;
}

export interface Closure {
  readonly packages: DebPackage[];
  readonly hostRequires: HostRequirement[];
}

const ON_EVERY_HOST = new Set(['required', 'important']);

export function resolveClosure(index: readonly DebPackage[], wanted: readonly WantedPackage[]): Closure {
  const byName = new Map<string, DebPackage[]>();
  const providers = new Map<string, DebPackage[]>();
  for (const p of index) {
    byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
    for (const group of parseRelations(p.provides))
      for (const r of group) providers.set(r.name, [...(providers.get(r.name) ?? []), p]);
  }
  for (const list of byName.values()) list.sort((a, b) => compareVersions(b.version, a.version));

  const chosen = new Map<string, DebPackage>();
  const hostRequires = new Map<string, HostRequirement>();
  const queue: DebPackage[] = [];
  const choose = (p: DebPackage) => {
    if (chosen.has(p.name)) return;
    chosen.set(p.name, p);
    queue.push(p);
  };

  for (const want of wanted) {
    const candidates = byName.get(want.name) ?? [];
    const pick = want.upstreamVersion
      ? candidates.find(
          (c) =>
            c.version.replace(/^\d+:/, '').startsWith(`${want.upstreamVersion}-`) || c.version === want.upstreamVersion,
        )
      : candidates[0];
    if (!pick) {
      const offered =
        candidates
          .map((c) => c.version)
          .slice(0, 5)
          .join(', ') || 'none';
      throw new Error(
        `${want.name}${want.upstreamVersion ? ` ${want.upstreamVersion}` : ''} ` +
          `is not in the repositories (versions offered: ${offered})`,
      );
    }
    choose(pick);
  }

  const candidatesFor = (r: Relation): DebPackage[] => [
    ...(byName.get(r.name) ?? []).filter((c) => satisfies(c.version, r)),
    // A versioned dependency is met by a Provides only if the Provides carries a version.
    ...(providers.get(r.name) ?? []).filter((p) => {
      const provided = parseRelations(p.provides)
        .flat()
        .find((x) => x.name === r.name);
      return !r.operator || (provided?.version !== undefined && satisfies(provided.version, r));
    }),
  ];

  while (queue.length) {
    const p = queue.shift()!;
    for (const group of [...parseRelations(p.preDepends), ...parseRelations(p.depends)]) {
      if (
        group.some((r) =>
          [...chosen.values()].some(
            (c) => (c.name === r.name && satisfies(c.version, r)) || candidatesFor(r).includes(c),
          ),
        )
      )
        continue;
      const alternative = group.map((r) => ({ r, c: candidatesFor(r) })).find((x) => x.c.length > 0);
      if (!alternative) {
        const text = group.map((r) => r.text).join(' | ');
        if (!hostRequires.has(text))
          hostRequires.set(text, { name: group[0]!.name, relation: text, neededBy: `${p.name} ${p.version}` });
        continue;
      }
      const best = alternative.c[0]!;
      const taken = chosen.get(best.name);
      if (taken && taken !== best) {
        // Another version of it was chosen for someone else: no single set satisfies both.
        throw new Error(
          `${p.name} ${p.version} needs ${alternative.r.text}, ` +
            `but ${taken.name} ${taken.version} is what the rest needs; ` +
            `the repositories hold no set of packages that fits both`,
        );
      }
      if (ON_EVERY_HOST.has(best.priority)) {
        const text = group.map((r) => r.text).join(' | ');
        if (!hostRequires.has(text))
          hostRequires.set(text, { name: alternative.r.name, relation: text, neededBy: `${p.name} ${p.version}` });
        continue;
      }
      choose(best);
    }
  }
  return {
    packages: [...chosen.values()].sort((a, b) => a.name.localeCompare(b.name)),
    hostRequires: [...hostRequires.values()].sort((a, b) => a.relation.localeCompare(b.relation)),
  };
}
