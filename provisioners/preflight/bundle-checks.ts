// Preflight's checks for an offline install: the host's architecture, the packages the
// bundle leaves to the host, and room for the archive and its unpacked copy.
import { MACHINE_NAME, type HostRequirement } from '../../bundle/format.js';
import { hostRequirementsMissing, requiredNames, rpmRequirementsMissing } from '../../bundle/host-requirements.js';
import { BUNDLE_ROOT, bundleDir, unpackedOn, type VerifiedBundle } from '../bundle.js';
import type { NodeHost } from '../cluster-host.js';
import type { HostStep } from '../../engine/host-step.js';
import { installedQuery, parseInstalled, parseRpmProvides, rpmProvidesQuery } from '../os-packages.js';
import { script } from '../../base/script.js';
import type { CheckResult } from './checks.js';

/** The preflight check for what the bundle leaves to the hosts (libc6, glibc and the like). */
export async function checkHostRequirements(
  step: HostStep<NodeHost>,
  family: 'debian' | 'rhel',
  requires: readonly HostRequirement[],
): Promise<CheckResult> {
  const names = requiredNames(family, requires);
  const label = 'packages the bundle expects on the host';
  let missing: HostRequirement[] = [];
  if (names.length && family === 'debian')
    missing = hostRequirementsMissing(
      requires,
      parseInstalled((await step.probe(installedQuery('debian', names), { label })).stdout),
    );
  else if (names.length)
    missing = rpmRequirementsMissing(
      requires,
      parseRpmProvides((await step.probe(rpmProvidesQuery(names), { label })).stdout),
    );
  return missing.length
    ? {
        name: 'bundle-deps',
        verdict: 'fail',
        detail:
          `the bundle needs, and this host lacks: ` +
          `${missing.map((r) => `${r.relation} (for ${r.neededBy})`).join('; ')} ` +
          `— install them from the OS media, or build the bundle against this OS release`,
      }
    : {
        name: 'bundle-deps',
        verdict: 'pass',
        detail: `${requires.length} package(s) the bundle expects are installed`,
      };
}

export function bundleArchitectureVerdict(machine: string, architecture: keyof typeof MACHINE_NAME): CheckResult {
  const host = Object.entries(MACHINE_NAME).find(([, m]) => m === machine)?.[0] ?? machine;
  return host === architecture
    ? { name: 'bundle-arch', verdict: 'pass', detail: `the host is ${machine}, the bundle is for ${architecture}` }
    : {
        name: 'bundle-arch',
        verdict: 'fail',
        detail:
          `the host is ${machine} (${host}), the bundle holds ${architecture} packages and images ` +
          `— set spec.os.architecture: ${host} and build the bundle again`,
      };
}

export async function checkBundleArchitecture(
  step: HostStep<NodeHost>,
  architecture: keyof typeof MACHINE_NAME,
): Promise<CheckResult> {
  return bundleArchitectureVerdict(
    (await step.probe('uname -m', { label: "the host's architecture" })).stdout.trim(),
    architecture,
  );
}

/** The archive and its unpacked copy sit side by side until the archive is removed. */
export function bundleSpaceVerdict(available: number, bundleBytes: number): CheckResult {
  const need = 2 * bundleBytes;
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return available >= need
    ? {
        name: 'bundle-space',
        verdict: 'pass',
        detail: `${gib(available)} free under ${BUNDLE_ROOT}, the bundle needs ${gib(need)}`,
      }
    : {
        name: 'bundle-space',
        verdict: 'fail',
        detail:
          `${gib(available)} free under ${BUNDLE_ROOT}, the bundle needs ${gib(need)} there ` +
          `(the archive and its unpacked copy) — free space, or give /var/lib/kubestrap its own volume`,
      };
}

export async function checkBundleSpace(
  step: HostStep<NodeHost>,
  bundle: Pick<VerifiedBundle, 'seal' | 'size'>,
): Promise<CheckResult> {
  // A host that has this bundle unpacked already needs no room for another copy.
  if (await unpackedOn(step, bundle))
    return { name: 'bundle-space', verdict: 'pass', detail: `the bundle is already unpacked in ${bundleDir(bundle)}` };
  // The deepest existing directory on the way to BUNDLE_ROOT is where the bytes will land.
  const probe = await step.probe(
    script(
      `d=${BUNDLE_ROOT}`,
      'while [ ! -d "$d" ]; do d=$(dirname "$d"); done',
      `df -P -B1 "$d" | awk 'NR == 2 { print $4 }'`,
    ),
    { label: `free space for the bundle under ${BUNDLE_ROOT}` },
  );
  return bundleSpaceVerdict(Number(probe.stdout.trim()), bundle.size);
}
