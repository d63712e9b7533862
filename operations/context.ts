// What the CLI hands every operation: where progress goes, the Ctrl-C signal, and where
// the spec's warnings go (printed before anything runs).
import type { EventSink } from '../engine/events.js';
import type { LocatedIssue } from '../spec/issues.js';

export interface OperationContext {
  readonly sink: EventSink;
  /** Aborted on Ctrl-C: no new work starts, connections close, waits end. */
  readonly signal: AbortSignal;
  readonly warn: (warnings: readonly LocatedIssue[]) => void;
}

/** Common options of the commands that act on a cluster. */
export interface ClusterOptions {
  /** The spec file; the embedded default cluster without it. */
  readonly file?: string;
  /** Vagrant's raw output, on stderr. */
  readonly verbose?: boolean;
}

/** The options of commands that run phases over the cluster's hosts. */
export interface PhaseRunOptions extends ClusterOptions {
  readonly dryRun?: boolean;
  /** Hosts worked on at once. */
  readonly concurrency?: number;
}
