// Container runtime: containerd installed (online: the distribution's package; RHEL-like
// hosts get containerd.io from Docker's repository), our config.toml in place, enabled
// and running, answering on its socket. Restarted only when its config changed.
import { CONTAINERD_PACKAGE } from '../spec/host-packages.js';
import type { ClusterModel } from '../spec/model.js';
import { CONTAINERD_CONFIG, CONTAINERD_SOCKET } from '../templates/node-paths.js';
import type { RenderedFile } from '../templates/render.js';
import { shellQuote } from '../base/quote.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import { APT_GET, APT_INSTALL, BUNDLE_ONLY, installCommand, installedQuery, parseInstalled } from './os-packages.js';
import { matchesRelease, releaseRegex } from '../base/release-match.js';
import type { Phase } from '../engine/phase.js';
import { renderedFile } from './rendered-files.js';
import { waitFor } from './wait.js';

/** The newest version of `pkg` apt knows that is release `wanted`, as `v`; exits 1 naming what is missing. */
export function aptReleaseLookup(pkg: string, wanted: string, sources = ''): string {
  return (
    `if ! v=$(apt-cache${sources} madison ${shellQuote(pkg)} | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | ` +
    `grep -E -m1 ${shellQuote(releaseRegex(wanted))}); then ` +
    `echo ${shellQuote(`no ${pkg} ${wanted} in the configured repositories`)} >&2; exit 1; fi`
  );
}

/**
 * Installs exactly release `wanted` of `pkg`. apt's `pkg=1.7.2*` would take 1.7.27, so on
 * Debian the version is looked up first; dnf's `pkg-1.7.2` is that version in any
 * release, and `pkg-2.1.*` any 2.1.x.
 */
function installRelease(family: 'debian' | 'rhel', pkg: string, wanted: string, fromBundle: boolean): string {
  if (family === 'rhel') {
    const glob = wanted.split('.').length < 3 ? '.*' : '';
    return installCommand(family, [`${pkg}-${wanted}${glob}`], fromBundle);
  }
  const apt = fromBundle ? `${APT_GET} ${BUNDLE_ONLY.debian}` : APT_GET;
  const lookup = aptReleaseLookup(pkg, wanted, fromBundle ? ` ${BUNDLE_ONLY.debian}` : '');
  return `${apt} update -q && ${lookup} && ${apt} ${APT_INSTALL} ${shellQuote(pkg)}="$v"`;
}

export class RuntimePhase implements Phase<NodeHost> {
  readonly title = 'Container runtime (containerd)';

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
  ) {}

  private get packageName(): string {
    return CONTAINERD_PACKAGE[this.model.os.family];
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const family = this.model.os.family;
    const pkg = this.packageName;
    const wanted = this.model.runtime.containerdVersion;
    const installed = parseInstalled(
      (await step.probe(installedQuery(family, [pkg]), { label: `is ${pkg} installed?` })).stdout,
    ).get(pkg);
    if (!installed) {
      if (family === 'rhel' && this.model.packages.source !== 'bundle') {
        await step.change(
          'add the Docker CE repository (containerd.io)',
          'dnf -y install dnf-plugins-core && ' +
            'dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo',
        );
      }
      const fromBundle = this.model.packages.source === 'bundle';
      await step.change(
        `install ${pkg}${wanted ? ` ${wanted}` : ''}${fromBundle ? ' from the bundle' : ''}`,
        wanted ? installRelease(family, pkg, wanted, fromBundle) : installCommand(family, [pkg], fromBundle),
        { timeoutMs: 20 * 60_000 },
      );
    } else if (wanted && !matchesRelease(installed, wanted)) {
      throw new Error(
        `${step.host.name}: containerd ${installed} is installed, ` +
          `the spec wants ${wanted} (spec.runtime.containerd.version); ` +
          `upgrade or remove it, or change the spec`,
      );
    }

    const config = renderedFile(this.files, step.host.node.name, CONTAINERD_CONFIG);
    const configChanged = await step.putFile(CONTAINERD_CONFIG, config.content, { mode: config.mode });

    const state = (
      await step.probe('systemctl is-enabled containerd; systemctl is-active containerd', { check: false })
    ).stdout
      .trim()
      .split('\n');
    if (state[0] !== 'enabled') await step.change('enable containerd at boot', 'systemctl enable containerd');
    if (state[1] !== 'active') await step.change('start containerd', 'systemctl start containerd');
    else if (configChanged)
      await step.change('restart containerd (its config changed)', 'systemctl restart containerd');

    if (step.dryRun) return;
    await waitFor(step, {
      what: 'containerd to answer on its socket',
      probe: `ctr --address ${shellQuote(CONTAINERD_SOCKET)} version`,
      until: (r) => r.code === 0 && /Server:/.test(r.stdout),
      timeoutMs: 60_000,
      diagnose: 'systemctl status containerd --no-pager; journalctl -u containerd -n 30 --no-pager',
    });
  }
}
