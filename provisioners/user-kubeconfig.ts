// kubectl on a control-plane node for the user kubestrap logs in as, as kubeadm's own
// instructions after init do: admin.conf copied to that user's ~/.kube/config (0600,
// owned by the user), so `kubestrap ssh CP -- kubectl get nodes` works. The copy is
// made on the node: the admin key never leaves it.
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import type { Phase } from '../engine/phase.js';
import { ADMIN_CONF } from '../templates/node-paths.js';
import { shellQuote } from '../base/quote.js';

/** `u` and `home` of the login user, for the scripts below. */
const account = (user: string) =>
  `u=${shellQuote(user)}; home=$(getent passwd "$u" | cut -d: -f6); ` +
  '[ -n "$home" ] || { echo "user $u has no home directory" >&2; exit 1; }; ';

export class UserKubeconfigPhase implements Phase<NodeHost> {
  readonly title = 'kubectl for the login user (~/.kube/config)';
  private readonly users = new Map<string, string>();

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => h.node.role === 'control-plane');
  }

  private async user(step: HostStep<NodeHost>): Promise<string> {
    let user = this.users.get(step.host.name);
    if (!user) {
      user = (await step.probe('id -un', { sudo: false, label: 'who logs in' })).stdout.trim();
      this.users.set(step.host.name, user);
    }
    return user;
  }

  async check(step: HostStep<NodeHost>): Promise<boolean> {
    const user = await this.user(step);
    const inPlace = await step.probe(
      `${account(user)}f="$home/.kube/config"; cmp -s ${ADMIN_CONF} "$f" && ` +
        `[ "$(stat -c '%a %U' "$f")" = "600 $u" ]`,
      { check: false, label: `is ${ADMIN_CONF} ${user}'s ~/.kube/config?` },
    );
    return inPlace.code !== 0;
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const user = await this.user(step);
    await step.change(
      `copy ${ADMIN_CONF} to ${user}'s ~/.kube/config (0600)`,
      `${account(user)}g=$(id -gn "$u"); install -d -m 0700 -o "$u" -g "$g" "$home/.kube" && ` +
        `install -m 0600 -o "$u" -g "$g" ${ADMIN_CONF} "$home/.kube/config"`,
    );
  }
}
