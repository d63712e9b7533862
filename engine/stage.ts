// What the engine runs: a list of stages, each a set of items (hosts, machines) worked
// on in parallel under a cap. A phase over hosts is one kind of stage (phase-stage.ts),
// Vagrant machines another (operations/machines.ts); the engine knows neither.
import type { RunEvent } from './events.js';
import type { Change } from './host-step.js';

export interface ItemContext {
  readonly dryRun: boolean;
  /** Whether the run is stopping (another item failed, or Ctrl-C): start nothing new. */
  stopping(): boolean;
  /** Aborted on Ctrl-C: long waits stop, and no new work starts. */
  readonly signal: AbortSignal;
  /**
   * What this item changed (or, under --dry-run, would change). Kept across retries and
   * on failure: a change an attempt made still happened.
   */
  readonly changes: Change[];
  /** A line of progress shown on the item's row. */
  output(line: string): void;
  /** Any other event (a machine's Vagrant progress, a nested run's events). */
  emit(event: RunEvent): void;
}

export interface ItemResult {
  /** The row's final words (default: "ITEM: changed" or "ITEM: unchanged"). */
  readonly title?: string;
}

export interface Stage {
  readonly title: string;
  /** At most this many items at once, below the run's cap. */
  readonly concurrency?: number;
  /** The items, asked when the stage starts (hosts may only be known by then). */
  items(): Promise<readonly string[]>;
  /** Brings one item to the stage's end state; throws when it cannot. */
  runItem(item: string, context: ItemContext): Promise<ItemResult | void>;
  /**
   * Runs once after every item succeeded; throwing fails the stage. For verdicts that
   * need all items (preflight reports every host before it blocks).
   */
  after?(): Promise<void>;
  /** Undoes what is worth undoing when a later stage fails or the run is interrupted. */
  cleanup?(): Promise<void>;
  /**
   * Whether an item's failure may be retried: the engine re-runs it (at most
   * `retries` times) when this says yes. Stages must be re-runnable for this.
   */
  retryable?(error: unknown): boolean;
}

/** Thrown by an item that found the run stopping before it began its work. */
export class SkipItem extends Error {}
