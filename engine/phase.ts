// What a phase is: a title, which hosts it concerns, a read-only check of whether a
// host needs it, the run that changes the host, and an optional cleanup when a later
// phase fails. Phases never print; the engine reports, a view shows.
import type { HostStep } from './host-step.js';
import type { PhaseHost } from './phase-host.js';

export type { PhaseHost };

export interface Phase<H extends PhaseHost = PhaseHost> {
  readonly title: string;
  /**
   * At most this many hosts at once, below the run's limit (control-plane joins: 1, as etcd grows one
   * member at a time).
   */
  readonly concurrency?: number;
  /** The hosts this phase runs on (default: all). */
  hosts?(all: readonly H[]): readonly H[];
  /** Read-only probe: does this host need the phase? Default: yes. Runs under --dry-run too. */
  check?(step: HostStep<H>): Promise<boolean>;
  /** Brings the host to the phase's end state; must be safe to run again. */
  run(step: HostStep<H>): Promise<void>;
  /**
   * Runs once after every host has run; throwing fails the phase. For phases whose
   * verdict needs all hosts (preflight reports every host before it blocks).
   */
  after?(hosts: readonly H[]): Promise<void>;
  /** Undoes what is worth undoing when a later phase fails. */
  cleanup?(hosts: readonly H[]): Promise<void>;
}
