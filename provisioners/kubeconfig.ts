// The admin kubeconfig, fetched from the first control-plane node into the cluster's
// working directory (0600, atomic, by the CLI's save function) so kubectl works from
// the user's machine. It never passes through logs.
import type { ClusterModel } from '../spec/model.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import { ADMIN_CONF } from '../templates/node-paths.js';
import type { Phase } from '../engine/phase.js';

/** Writes the kubeconfig locally (not under dry-run); resolves whether it changed or would change. */
export type SaveKubeconfig = (content: string, dryRun: boolean) => Promise<boolean>;

export class KubeconfigPhase implements Phase<NodeHost> {
  readonly title = 'Fetch the admin kubeconfig';

  constructor(
    private readonly model: ClusterModel,
    private readonly save: SaveKubeconfig,
    private readonly where: string,
  ) {}

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => isInitNode(this.model, h.node));
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const admin = await step.probe(`cat ${ADMIN_CONF} 2>/dev/null || true`, {
      hideOutput: true,
      label: `read ${ADMIN_CONF}`,
    });
    // Under --dry-run on a fresh cluster there is no admin.conf yet; init would make it.
    if (!admin.stdout) return void (await step.local(`write the admin kubeconfig to ${this.where}`, async () => true));
    await step.local(`write the admin kubeconfig to ${this.where}`, (dryRun) => this.save(admin.stdout, dryRun));
  }
}
