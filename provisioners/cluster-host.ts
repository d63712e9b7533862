// A host as the provisioning phases see it: a shell on it plus the node it is.
import type { SshHost } from '../ssh/host.js';
import type { NodeModel } from '../spec/model.js';
import type { PhaseHost } from '../engine/phase-host.js';

export interface NodeHost extends PhaseHost {
  readonly node: NodeModel;
}

/** A node reached over a real SSH connection (an interactive shell needs the connection itself). */
export interface SshNodeHost extends NodeHost {
  readonly ssh: SshHost;
}
