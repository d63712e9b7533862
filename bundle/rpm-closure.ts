// Which .rpms a bundle must carry: the requested packages and, recursively, what they
// require, choosing as dnf would (the package of that name first, the highest version
// that satisfies; a requested name no package has, by what provides it). What a
// minimal install of the OS has (comps group `core` and its own requirements) and
// requirements no repository offers are not carried but recorded, so that `install`
// can check each host for them before it changes anything.
import type { HostRequirement } from './format.js';
import { dependencyText, parseRpmRelation, type RpmDependency } from './rpm-relation.js';
import type { RpmIndex, RpmPackage } from './rpm-index.js';
import { compareEvr, evrSatisfies, formatEvr } from './rpm-version.js';

export interface WantedRpm {
  readonly name: string;
  /** The version (without release) must equal this. */
  readonly version?: string;
  /** Or start with this (containerd's `1.7` pin). */
  readonly versionPrefix?: string;
}

export interface RpmClosure {
  readonly packages: RpmPackage[];
  readonly hostRequires: HostRequirement[];
}

const label = (p: RpmPackage) => `${p.name}-${formatEvr(p.evr)}.${p.arch}`;

class Resolver {
  private readonly byName = new Map<string, RpmPackage[]>();
  private readonly providers = new Map<string, { p: RpmPackage; provide: RpmDependency }[]>();
  private readonly owners = new Map<string, RpmPackage[]>();

  constructor(packages: readonly RpmPackage[]) {
    const push = <T>(map: Map<string, T[]>, key: string, value: T) => map.set(key, [...(map.get(key) ?? []), value]);
    for (const p of packages) {
      push(this.byName, p.name, p);
      for (const provide of p.provides) push(this.providers, provide.name, { p, provide });
      for (const file of p.files) push(this.owners, file, p);
    }
    for (const list of this.byName.values()) list.sort((a, b) => compareEvr(b.evr, a.evr));
  }

  named(name: string): readonly RpmPackage[] {
    return this.byName.get(name) ?? [];
  }

  /** Packages that meet `dep`, best first: its namesake by version, then other providers by name and version. */
  candidates(dep: RpmDependency): RpmPackage[] {
    if (dep.name.startsWith('/'))
      return [...(this.owners.get(dep.name) ?? [])].sort(
        (a, b) => a.name.localeCompare(b.name) || compareEvr(b.evr, a.evr),
      );
    const meets = (provide: RpmDependency) =>
      !dep.flag || !dep.evr || !provide.evr || evrSatisfies(provide.evr, dep.flag, dep.evr);
    const found = new Set<RpmPackage>();
    for (const { p, provide } of this.providers.get(dep.name) ?? []) if (meets(provide)) found.add(p);
    return [...found].sort(
      (a, b) =>
        Number(b.name === dep.name) - Number(a.name === dep.name) ||
        a.name.localeCompare(b.name) ||
        compareEvr(b.evr, a.evr),
    );
  }

  /** Whether an already chosen package meets `dep`. */
  metBy(dep: RpmDependency, chosen: ReadonlyMap<string, RpmPackage>): boolean {
    return this.candidates(dep).some((c) => chosen.get(c.name) === c);
  }
}

function alternativesOf(dep: RpmDependency, who: RpmPackage): RpmDependency[] {
  if (!dep.name.startsWith('(')) return [dep];
  try {
    return parseRpmRelation(dep.name);
  } catch (error) {
    throw new Error(`${label(who)}: ${(error as Error).message}`);
  }
}

/** Every package a minimal install has: the core group and, recursively, what it requires. */
function baselineOf(resolver: Resolver, indexes: readonly RpmIndex[]): Set<string> {
  const names = new Set<string>();
  const queue = [...new Set(indexes.flatMap((i) => i.coreGroup))]
    .map((n) => resolver.named(n)[0])
    .filter((p): p is RpmPackage => p !== undefined);
  for (const p of queue) names.add(p.name);
  while (queue.length) {
    const p = queue.shift()!;
    for (const dep of p.requires) {
      const best = alternativesOf(dep, p).flatMap((d) => resolver.candidates(d))[0];
      if (best && !names.has(best.name)) {
        names.add(best.name);
        queue.push(best);
      }
    }
  }
  return names;
}

export function resolveRpmClosure(indexes: readonly RpmIndex[], wanted: readonly WantedRpm[]): RpmClosure {
  const resolver = new Resolver(indexes.flatMap((i) => i.packages));
  const onEveryHost = baselineOf(resolver, indexes);
  const chosen = new Map<string, RpmPackage>();
  const hostRequires = new Map<string, HostRequirement>();
  const queue: RpmPackage[] = [];
  const choose = (p: RpmPackage) => {
    if (chosen.has(p.name)) return;
    chosen.set(p.name, p);
    queue.push(p);
  };

  // A wanted name no package carries is a capability (`iptables`: EL8's package, EL9's
  // iptables-nft): as `dnf install` does, met by a package chosen anyway if one provides it.
  const capabilities = wanted.filter((w) => !resolver.named(w.name).length && !w.version && !w.versionPrefix);
  for (const want of wanted) {
    if (capabilities.includes(want)) continue;
    const all = resolver.named(want.name);
    const pick = all.find(
      (c) =>
        (want.version === undefined || c.evr.version === want.version) &&
        (want.versionPrefix === undefined || c.evr.version.startsWith(want.versionPrefix)),
    );
    if (!pick) {
      const offered =
        all
          .map((c) => formatEvr(c.evr))
          .slice(0, 5)
          .join(', ') || 'none';
      throw new Error(
        `${want.name}${want.version ? ` ${want.version}` : want.versionPrefix ? ` ${want.versionPrefix}*` : ''}` +
          ` is not in the repositories (versions offered: ${offered})`,
      );
    }
    choose(pick);
  }

  const leaveToHost = (text: string, name: string, who: RpmPackage) => {
    if (!hostRequires.has(text)) hostRequires.set(text, { name, relation: text, neededBy: label(who) });
  };
  const requireOf = (p: RpmPackage, dep: RpmDependency) => {
    const alternatives = alternativesOf(dep, p);
    if (alternatives.some((d) => resolver.metBy(d, chosen))) return;
    const text = dep.name.startsWith('(') ? dep.name : dependencyText(dep);
    const found = alternatives.map((d) => ({ d, c: resolver.candidates(d) })).find((x) => x.c.length > 0);
    if (!found) return leaveToHost(text, alternatives[0]!.name, p);
    const best = found.c[0]!;
    if (onEveryHost.has(best.name)) return leaveToHost(text, found.d.name, p);
    const taken = chosen.get(best.name);
    if (taken) {
      // Another version of it was chosen for someone else: no single set satisfies both.
      throw new Error(
        `${label(p)} requires ${text}, but ${label(taken)} is what the rest needs; ` +
          `the repositories hold no set of packages that fits both`,
      );
    }
    choose(best);
  };
  const drain = () => {
    while (queue.length) {
      const p = queue.shift()!;
      for (const dep of p.requires) requireOf(p, dep);
    }
  };
  drain();
  for (const want of capabilities) {
    const dep = { name: want.name };
    if (resolver.metBy(dep, chosen)) continue;
    const best = resolver.candidates(dep)[0];
    if (!best) throw new Error(`${want.name} is not in the repositories (no package is or provides it)`);
    // A minimal install has it: nothing to carry.
    if (onEveryHost.has(best.name)) continue;
    choose(best);
    drain();
  }
  return {
    packages: [...chosen.values()].sort((a, b) => a.name.localeCompare(b.name)),
    hostRequires: [...hostRequires.values()].sort((a, b) => a.relation.localeCompare(b.relation)),
  };
}
