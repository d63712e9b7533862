// What a run reports as it goes. The same events feed every view (the live tree, plain
// lines, the --json stream of one object per line) and the failure summary, so a view
// never asks the engine anything.
export type HostStatus = 'started' | 'changed' | 'unchanged' | 'failed' | 'skipped' | 'retrying';

/**
 * `nested` marks events of a run inside a stage's item (a machine prepared as soon as
 * it is up): the --json stream keeps them, the tree and plain views show the item's own
 * output instead.
 */
export type RunEvent =
  | { readonly type: 'phase'; readonly phase: string; readonly hosts: readonly string[]; readonly nested?: string }
  | {
      readonly type: 'host';
      readonly phase: string;
      readonly host: string;
      readonly status: HostStatus;
      readonly detail?: string;
      readonly title?: string;
      readonly nested?: string;
    }
  | {
      readonly type: 'output';
      readonly phase: string;
      readonly host: string;
      readonly line: string;
      readonly nested?: string;
    }
  /** The stage as a whole failed after its items (its after() verdict). */
  | { readonly type: 'phase-failed'; readonly phase: string; readonly detail: string; readonly nested?: string }
  | { readonly type: 'done'; readonly ok: boolean; readonly interrupted: boolean }
  | { readonly type: 'machine'; readonly machine: string; readonly stage?: string; readonly message?: string };

export function jsonLine(event: RunEvent): string {
  return `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`;
}

/**
 * Where an operation's progress goes. Views implement it; operations and the engine
 * only call it. Every method but event() is optional, so a test can pass `{ event }`.
 */
export interface EventSink {
  /** A run is about to start these stages, in order (the tree view draws them up front). */
  start?(titles: readonly string[]): void;
  event(event: RunEvent): void;
  /** A line for the user outside any stage: a box added, a bundle checked. */
  note?(line: string): void;
  /** A long local step (a download, a bundle check): its name, its bytes, its end. */
  progress?(update: Progress): void;
  /** The run is over: a live view settles its last frame. */
  end?(): Promise<void>;
}

export type Progress =
  | { readonly step: string }
  | { readonly what: string; readonly bytes: number; readonly total: number | undefined }
  | { readonly done: true };

/** A sink that drops everything: for runs nobody watches. */
export const SILENT: EventSink = { event: () => {} };
