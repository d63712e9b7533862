// Kubernetes packages: kubelet, kubeadm, kubectl at the spec's exact version (and
// cri-tools, kubernetes-cni) from the pkgs.k8s.io repository of that minor (or a
// mirror of it), held back from upgrades; the commands kubeadm's preflight looks for
// that the packages no longer bring; our kubelet unit and drop-in in place.
import type { ClusterModel } from '../spec/model.js';
import {
  KUBERNETES_HELPER_PACKAGES as HELPERS,
  ENDPOINT_PACKAGES,
  KUBERNETES_PACKAGES,
  PINNED_KUBERNETES_PACKAGES as PINNED,
  preflightTools,
} from '../spec/host-packages.js';
import { kubernetesPackageRepository, type KubernetesVersion } from '../spec/versions.js';
import { managedEndpoint } from '../templates/endpoint.js';
import { KUBELET_DEFAULTS, KUBELET_DROP_IN, KUBELET_UNIT } from '../templates/node-paths.js';
import type { RenderedFile } from '../templates/render.js';
import { shellQuote } from '../base/quote.js';
import { script } from '../base/script.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import {
  APT_GET,
  BUNDLE_ONLY,
  BUNDLE_SOURCE_FILE,
  installCommand,
  installedQuery,
  parseInstalled,
} from './os-packages.js';
import type { Phase } from '../engine/phase.js';
import { renderedFile } from './rendered-files.js';

export const APT_KEY = '/etc/apt/keyrings/kubernetes-apt-keyring.asc';
const APT_LIST = '/etc/apt/sources.list.d/kubernetes.list';
const YUM_REPO = '/etc/yum.repos.d/kubernetes.repo';

/** The pkgs.k8s.io-layout repository of `version`'s minor (each minor has its own). */
export function kubernetesRepository(model: ClusterModel, version: KubernetesVersion, kind: 'deb' | 'rpm'): string {
  return kubernetesPackageRepository(model.packages.kubernetesRepository, version, kind);
}

/** The one line of apt's Kubernetes source: `version`'s minor, signed by the key kubestrap fetched. */
export function aptSourceLine(model: ClusterModel, version: KubernetesVersion): string {
  return `deb [signed-by=${APT_KEY}] ${kubernetesRepository(model, version, 'deb')} /\n`;
}

/**
 * Points apt at the repository of `version`'s minor (fetching its signing key once):
 * up does it for the spec's version, upgrade for each step's.
 */
export async function pointAptAt(step: HostStep<NodeHost>, model: ClusterModel, version: KubernetesVersion) {
  const repo = kubernetesRepository(model, version, 'deb');
  if ((await step.probe(`test -s ${APT_KEY}`, { check: false })).code !== 0) {
    // apt's own downloader: minimal hosts have neither curl nor gpg; apt reads .asc keys.
    await step.change(
      `fetch the signing key of ${repo}`,
      `install -d -m 0755 /etc/apt/keyrings && ` +
        `/usr/lib/apt/apt-helper download-file ${shellQuote(`${repo}Release.key`)} ${APT_KEY}.part && ` +
        `chmod 0644 ${APT_KEY}.part && mv ${APT_KEY}.part ${APT_KEY}`,
    );
  }
  return step.putFile(APT_LIST, aptSourceLine(model, version), { mode: 0o644 });
}

/**
 * Refreshes only the Kubernetes list, finds the exact revision of `version`, installs
 * `packages` at it (and `extra` at whatever the source has). Held packages are changed
 * for this install only; their hold stays.
 */
export function aptInstallExact(
  model: ClusterModel,
  version: KubernetesVersion,
  packages: readonly string[],
  extra: readonly string[] = [],
): string {
  const fromBundle = model.packages.source === 'bundle';
  // Only the one list: online, the Kubernetes repository alone is refreshed; from a
  // bundle, apt reads nothing but the bundle's index and never goes to the network.
  const only = fromBundle
    ? BUNDLE_ONLY.debian
    : `-o Dir::Etc::sourcelist=${APT_LIST} -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0`;
  const where = fromBundle ? 'the bundle' : kubernetesRepository(model, version, 'deb');
  return script(
    `${APT_GET} -q ${only} update`,
    `v=$(apt-cache ${only} madison kubeadm | ` +
      `awk -v want=${shellQuote(`${version.text}-`)} 'index($3, want) == 1 { print $3; exit }')`,
    `[ -n "$v" ] || { echo "kubeadm ${version.text} is not in ${where} ` +
      `(apt-cache madison kubeadm lists: ` +
      `$(apt-cache ${only} madison kubeadm | awk '{ print $3 }' | head -n 5 | tr '\\n' ' '))" >&2; exit 1; }`,
    `${APT_GET} -q ${fromBundle ? `${only} ` : ''}install -y --no-install-recommends ` +
      `--allow-change-held-packages ${[...packages.map((p) => `${p}="$v"`), ...extra].join(' ')}`,
  );
}

/** dnf's install of the Kubernetes packages at `version`, from their repository or the bundle's. */
export function dnfKubernetesInstall(version: string, fromBundle: boolean): string {
  return dnfInstallExact(version, PINNED, HELPERS, fromBundle);
}

/** dnf's install of `packages` at `version` (and `extra` at what the source has). */
export function dnfInstallExact(
  version: string,
  packages: readonly string[],
  extra: readonly string[],
  fromBundle: boolean,
): string {
  // Online, the repository's exclude= holds the packages back; --disableexcludes lifts it for this install only.
  return (
    `dnf install -y ${fromBundle ? BUNDLE_ONLY.rhel : '--disableexcludes=kubernetes'} ` +
    [...packages.map((p) => `${p}-${version}`), ...extra].join(' ')
  );
}

/** The dnf repository of `version`'s minor; its exclude= holds the packages at what kubestrap installed. */
export function yumRepoFile(model: ClusterModel, version: KubernetesVersion): string {
  const repo = kubernetesRepository(model, version, 'rpm');
  return (
    `[kubernetes]\nname=Kubernetes\nbaseurl=${repo}\nenabled=1\ngpgcheck=1\n` +
    `gpgkey=${repo}repodata/repomd.xml.key\nexclude=${KUBERNETES_PACKAGES.join(' ')}\n`
  );
}

/** The host's package manager pointed at `version`'s minor: apt's source or dnf's repository. */
export async function pointPackagesAt(step: HostStep<NodeHost>, model: ClusterModel, version: KubernetesVersion) {
  return model.os.family === 'debian'
    ? pointAptAt(step, model, version)
    : step.putFile(YUM_REPO, yumRepoFile(model, version), { mode: 0o644 });
}

/** The install of `packages` at exactly `version`, from the family's source (or the bundle). */
export function installExactCommand(
  model: ClusterModel,
  version: KubernetesVersion,
  packages: readonly string[],
): string {
  return model.os.family === 'debian'
    ? aptInstallExact(model, version, packages)
    : dnfInstallExact(version.text, packages, [], model.packages.source === 'bundle');
}

export class PackagesPhase implements Phase<NodeHost> {
  readonly title = 'Kubernetes packages';

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
  ) {}

  async run(step: HostStep<NodeHost>): Promise<void> {
    const family = this.model.os.family;
    const version = this.model.kubernetes.version.text;
    const fromBundle = this.model.packages.source === 'bundle';
    // From a bundle the bundle's index (put in place by the bundle phase) is the only source.
    if (fromBundle) await step.probe(`test -s ${BUNDLE_SOURCE_FILE[family]}`, { label: 'the bundle is on the host' });
    else await pointPackagesAt(step, this.model, this.model.kubernetes.version);

    const installed = parseInstalled(
      (await step.probe(installedQuery(family, KUBERNETES_PACKAGES), { label: 'installed Kubernetes packages' }))
        .stdout,
    );
    const stale = PINNED.filter((p) => !installed.get(p)?.startsWith(`${version}-`));
    const missing = HELPERS.filter((p) => !installed.has(p));
    if (stale.length || missing.length) {
      await step.change(
        `install ${[...stale.map((p) => `${p} ${version}`), ...missing].join(', ')}` +
          `${fromBundle ? ' from the bundle' : ''}`,
        family === 'debian'
          ? aptInstallExact(this.model, this.model.kubernetes.version, PINNED, HELPERS)
          : dnfKubernetesInstall(version, fromBundle),
        {
          timeoutMs: 20 * 60_000,
        },
      );
    }
    await this.preflightTools(step, fromBundle);
    if (managedEndpoint(this.model) && step.host.node.role === 'control-plane')
      await this.endpointPackages(step, fromBundle);
    if (family === 'debian') {
      const held = (await step.probe('apt-mark showhold')).stdout.split('\n');
      const unheld = PINNED.filter((p) => !held.includes(p));
      if (unheld.length)
        await step.change(`hold ${unheld.join(', ')} at ${version}`, `apt-mark hold ${unheld.join(' ')}`);
    }

    const node = step.host.node.name;
    let unitsChanged = false;
    for (const target of [KUBELET_UNIT, KUBELET_DROP_IN, KUBELET_DEFAULTS[family]]) {
      const file = renderedFile(this.files, node, target);
      if (await step.putFile(target, file.content, { mode: file.mode })) unitsChanged = true;
    }
    if (unitsChanged) await step.change('reload systemd units', 'systemctl daemon-reload');
    if ((await step.probe('systemctl is-enabled kubelet', { check: false })).stdout.trim() !== 'enabled') {
      // kubeadm starts the kubelet itself; enabling it keeps it running across reboots.
      await step.change('enable the kubelet at boot', 'systemctl enable kubelet');
    }
  }

  /**
   * What kubeadm's preflight of this minor looks for on PATH, installed where missing: from
   * the OS's repositories (or the bundle), not the Kubernetes one. A command already there
   * is left alone, whichever package brought it (iptables-legacy, say).
   */
  private async preflightTools(step: HostStep<NodeHost>, fromBundle: boolean): Promise<void> {
    const family = this.model.os.family;
    const tools = preflightTools(this.model.kubernetes.version.minor);
    if (!tools.length) return;
    // One `command -v` per name: dash's reports only the first of several.
    const found = (
      await step.probe(`for c in ${tools.map((t) => t.command).join(' ')}; do command -v "$c"; done; true`, {
        check: false,
        label: "commands kubeadm's preflight looks for",
      })
    ).stdout
      .split('\n')
      .map((line) => line.trim().replace(/^.*\//, ''));
    const missing = tools.filter((t) => !found.includes(t.command));
    if (!missing.length) return;
    const packages = missing.map((t) => t.package[family]);
    await step.change(
      `install ${packages.join(', ')}${fromBundle ? ' from the bundle' : ''} ` +
        `(kubeadm's preflight looks for ${missing.map((t) => t.command).join(', ')})`,
      installCommand(family, packages, fromBundle),
      { timeoutMs: 20 * 60_000 },
    );
  }

  /** keepalived and haproxy for the endpoint kubestrap runs, from the OS's repositories (or the bundle). */
  private async endpointPackages(step: HostStep<NodeHost>, fromBundle: boolean): Promise<void> {
    const family = this.model.os.family;
    const wanted = ENDPOINT_PACKAGES[family];
    const installed = parseInstalled(
      (await step.probe(installedQuery(family, wanted), { label: 'installed endpoint packages' })).stdout,
    );
    const missing = wanted.filter((p) => !installed.has(p));
    if (!missing.length) return;
    await step.change(
      `install ${missing.join(', ')}${fromBundle ? ' from the bundle' : ''} (the control-plane endpoint)`,
      installCommand(family, missing, fromBundle),
      { timeoutMs: 20 * 60_000 },
    );
  }
}
