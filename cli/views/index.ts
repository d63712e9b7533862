// Which view a command's progress gets: --json → JSON lines; a terminal → the live tree;
// anything else (CI, a pipe, a terminal of unknown width) → plain timestamped lines.
import type { EventSink } from '../../engine/events.js';
import { jsonView } from './json.js';
import { plainView } from './plain.js';
import { treeView } from './tree.js';

export type ViewKind = 'json' | 'tree' | 'plain';

/**
 * A terminal that reports no width (0 columns under script(1) or a serial console) gets
 * plain lines: the live tree wraps at its width and would print one character per line.
 */
export function viewKind(
  json: boolean,
  out: { readonly isTTY?: boolean; readonly columns?: number } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): ViewKind {
  if (json) return 'json';
  return out.isTTY && !env.CI && (out.columns ?? 0) > 0 ? 'tree' : 'plain';
}

export function pickView(json: boolean): EventSink {
  const kind = viewKind(json);
  return kind === 'json' ? jsonView() : kind === 'tree' ? treeView() : plainView();
}
