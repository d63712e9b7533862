// Package-manager commands per OS family, in one place. Values here come from the
// model (validated versions, names and URLs) and are quoted anyway.
import { shellQuote } from '../templates/quote.js';

/**
 * apt-get that never prompts, keeps configuration files the administrator changed, and
 * waits for the dpkg lock (a fresh Debian VM runs apt-daily at boot) instead of failing.
 */
export const APT_GET = 'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef';

/** `pkg version` lines for the installed ones among `packages`. */
export function installedQuery(family: 'debian' | 'rhel', packages: readonly string[]): string {
  const names = packages.map(shellQuote).join(' ');
  return family === 'debian'
    ? `dpkg-query -W -f='\${Package} \${Version} \${db:Status-Status}\\n' ${names} 2>/dev/null | awk '$3 == "installed" { print $1, $2 }'`
    : `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' ${names} 2>/dev/null | grep -v 'is not installed' || true`;
}

export function parseInstalled(output: string): Map<string, string> {
  return new Map(output.trim().split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]));
}

/** `aptSources`: apt options that choose the repositories (a bundle's index only); default: the host's own. */
export function installCommand(family: 'debian' | 'rhel', packages: readonly string[], aptSources = ''): string {
  const names = packages.map(shellQuote).join(' ');
  const apt = aptSources ? `${APT_GET} ${aptSources}` : APT_GET;
  if (family === 'debian') return `${apt} update -q && ${apt} install -y -q --no-install-recommends --allow-change-held-packages ${names}`;
  return `dnf install -y --disableexcludes=all ${names}`;
}
