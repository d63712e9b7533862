// Package-manager commands per OS family, in one place. Values here come from the
// model (validated versions, names and URLs) and are quoted anyway.
import { shellQuote } from '../base/quote.js';

/**
 * apt-get that never prompts, keeps configuration files the administrator changed, and
 * waits for the dpkg lock (a fresh Debian VM runs apt-daily at boot) instead of failing.
 */
export const APT_GET =
  'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 ' +
  '-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef';

/** `pkg version` lines for the installed ones among `packages`. */
export function installedQuery(family: 'debian' | 'rhel', packages: readonly string[]): string {
  const names = packages.map(shellQuote).join(' ');
  return family === 'debian'
    ? `dpkg-query -W -f='\${Package} \${Version} \${db:Status-Status}\\n' ${names} 2>/dev/null ` +
        `| awk '$3 == "installed" { print $1, $2 }'`
    : `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' ${names} 2>/dev/null | grep -v 'is not installed' || true`;
}

/**
 * For each capability (or file), the Provides of the installed packages that provide
 * it, as `@@ CAPABILITY` blocks; a capability nothing provides gets an empty block (rpm
 * then exits non-zero and prints its "no package provides" / "not owned" on stdout).
 */
export function rpmProvidesQuery(capabilities: readonly string[]): string {
  // The positional parameters, not `for c in 'x'`: a list of one quoted word reads to
  // shellcheck as a mistake (SC2041).
  return (
    `set -- ${capabilities.map(shellQuote).join(' ')}; ` +
    `for c do printf '@@ %s\\n' "$c"; ` +
    `p=$(rpm -q --provides --whatprovides "$c" 2>/dev/null) && printf '%s\\n' "$p"; done; true`
  );
}

export function parseRpmProvides(output: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith('@@ ')) out.set(line.slice(3), (current = []));
    else if (line.trim() && current) current.push(line.trim());
  }
  for (const [cap, lines] of out) if (!lines.length) out.delete(cap);
  return out;
}

export function parseInstalled(output: string): Map<string, string> {
  return new Map(
    output
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
}

/** Where a bundle's packages are, as the host's package manager sees them (the bundle phase writes it). */
export const BUNDLE_SOURCE_FILE = {
  debian: '/etc/apt/sources.list.d/kubestrap-bundle.list',
  rhel: '/etc/yum.repos.d/kubestrap-bundle.repo',
} as const;

/** Package-manager options that make the bundle the only source: no other repository is read. */
export const APT_INSTALL = 'install -y -q --no-install-recommends --allow-change-held-packages';

export const BUNDLE_ONLY = {
  debian: `-o Dir::Etc::sourcelist=${BUNDLE_SOURCE_FILE.debian} -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0`,
  // The closure the bundle carries follows Requires only, so weak dependencies stay out.
  rhel: "--disablerepo='*' --enablerepo=kubestrap-bundle --setopt=install_weak_deps=False",
} as const;

/** The bundle's package source, for packages unpacked under `dir` (debs/ or rpms/). */
export function bundleSourceFile(family: 'debian' | 'rhel', dir: string): string {
  // No signature checks by apt/dnf: every file was checked on this host against
  // bundle.json, whose seal kubestrap checked before the upload; the packages' origin
  // was checked against the repositories' keys when the bundle was made.
  if (family === 'debian') return `deb [trusted=yes] file:${dir}/debs ./\n`;
  // enabled=0: only kubestrap's own installs (BUNDLE_ONLY) read it; the host's dnf runs do not.
  return (
    `[kubestrap-bundle]\nname=kubestrap bundle\nbaseurl=file://${dir}/rpms\n` +
    `enabled=0\ngpgcheck=0\nrepo_gpgcheck=0\n`
  );
}

/** From the host's own repositories, or (`fromBundle`) from the bundle's only. */
export function installCommand(family: 'debian' | 'rhel', packages: readonly string[], fromBundle = false): string {
  const names = packages.map(shellQuote).join(' ');
  if (family === 'debian') {
    const apt = fromBundle ? `${APT_GET} ${BUNDLE_ONLY.debian}` : APT_GET;
    return `${apt} update -q && ${apt} ${APT_INSTALL} ${names}`;
  }
  return `dnf install -y ${fromBundle ? BUNDLE_ONLY.rhel : '--disableexcludes=all'} ${names}`;
}
