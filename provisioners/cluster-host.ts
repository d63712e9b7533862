// A host as the provisioning phases see it: the SSH connection plus the node it is.
import type { NodeModel } from '../spec/model.js';
import type { PhaseHost } from '../engine/phase.js';

export interface NodeHost extends PhaseHost {
  readonly node: NodeModel;
}
