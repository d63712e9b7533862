// Package-manager commands per OS family, in one place. Values here come from the
// model (validated versions, names and URLs) and are quoted anyway.
import type { BundleManifest } from '../bundle/format.js';
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
  // `--`: names come from bundle.json too; one starting with - must not become an option.
  const names = packages.map(shellQuote).join(' ');
  return family === 'debian'
    ? `dpkg-query -W -f='\${Package} \${Version} \${db:Status-Status}\\n' -- ${names} 2>/dev/null ` +
        `| awk '$3 == "installed" { print $1, $2 }'`
    : `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' -- ${names} 2>/dev/null | grep -v 'is not installed' || true`;
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
    // `--`: a capability from bundle.json reading `--eval=%(cmd)` would otherwise run cmd as root.
    `p=$(rpm -q --provides --whatprovides -- "$c" 2>/dev/null) && printf '%s\\n' "$p"; done; true`
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
  rhel: "--disablerepo='*' --enablerepo='kubestrap-bundle-*' --setopt=install_weak_deps=False",
} as const;

/** The bundle's package sources, for a bundle unpacked under `dir`. */
export function bundleSourceFile(
  manifest: Pick<BundleManifest, 'os' | 'aptRepositories' | 'rpmRepositories'>,
  dir: string,
): string {
  // apt checks each repository's InRelease against the repository's own key (carried in
  // the bundle, and covered by bundle.json's signature), then the Packages file by its
  // hash there, then every .deb by its hash in Packages: a .deb swapped in the bundle is
  // refused by apt even when bundle.json's digests were forged to match. Airgapped sites
  // install long after the bundle was made, and their clocks may be off: the signature
  // is checked, the release's age and date are not.
  if (manifest.os.family === 'debian')
    return manifest.aptRepositories
      .map(
        (r) =>
          `deb [arch=${manifest.os.architecture} signed-by=${dir}/${r.key} check-valid-until=no check-date=no] ` +
          `file:${dir}/${r.path} ${[r.suite, ...r.components].join(' ')}\n`,
      )
      .join('');
  // enabled=0: only kubestrap's own installs (BUNDLE_ONLY) read them; the host's dnf runs do not.
  // The keys are imported into the host's rpm database when dnf first checks a package.
  return manifest.rpmRepositories
    .map((r) => {
      const name = r.path.slice(r.path.lastIndexOf('/') + 1);
      const checks = r.check === 'metadata' ? 'gpgcheck=0\nrepo_gpgcheck=1' : 'gpgcheck=1\nrepo_gpgcheck=0';
      return (
        `[kubestrap-bundle-${name}]\nname=kubestrap bundle (${name})\nbaseurl=file://${dir}/${r.path}\n` +
        `enabled=0\n${checks}\ngpgkey=file://${dir}/${r.key}\n`
      );
    })
    .join('\n');
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
