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
import { installCommand, installedQuery, parseInstalled } from './os-packages.js';
import type { Phase } from '../engine/phase.js';
import { renderedFile } from './rendered-files.js';
import { waitFor } from './wait.js';

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
      const target = wanted ? `${pkg}${family === 'debian' ? '=' : '-'}${wanted}*` : pkg;
      const fromBundle = this.model.packages.source === 'bundle';
      await step.change(
        `install ${target}${fromBundle ? ' from the bundle' : ''}`,
        installCommand(family, [target], fromBundle),
        { timeoutMs: 20 * 60_000 },
      );
    } else if (wanted && !installed.startsWith(wanted)) {
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
