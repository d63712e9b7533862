// What a run reports as it goes: the same events feed the --json stream (one object
// per line) and the failure summary.
export type RunEvent =
  | { readonly type: 'phase'; readonly phase: string; readonly hosts: readonly string[] }
  | { readonly type: 'host'; readonly phase: string; readonly host: string; readonly status: 'started' | 'changed' | 'unchanged' | 'failed' | 'skipped' | 'retrying'; readonly detail?: string }
  | { readonly type: 'output'; readonly phase: string; readonly host: string; readonly line: string }
  | { readonly type: 'done'; readonly ok: boolean; readonly interrupted: boolean }
  | { readonly type: 'machine'; readonly machine: string; readonly stage?: string; readonly message?: string };

export function jsonLine(event: RunEvent): string {
  return `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`;
}
