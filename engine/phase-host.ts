// A host as a phase sees it: its name and a shell on it. Its own module so that the
// phase contract and the step that acts on a host both use it without importing each other.
import type { RemoteShell } from '../ssh/remote-shell.js';

export interface PhaseHost {
  readonly name: string;
  readonly ssh: RemoteShell;
}
