// Which view a command's progress gets: --json → JSON lines; a terminal → the live tree;
// anything else (CI, a pipe) → plain timestamped lines.
import type { EventSink } from '../../engine/events.js';
import { jsonView } from './json.js';
import { plainView } from './plain.js';
import { treeView } from './tree.js';

export type ViewKind = 'json' | 'tree' | 'plain';

export function viewKind(json: boolean): ViewKind {
  if (json) return 'json';
  return process.stdout.isTTY && !process.env.CI ? 'tree' : 'plain';
}

export function pickView(json: boolean): EventSink {
  const kind = viewKind(json);
  return kind === 'json' ? jsonView() : kind === 'tree' ? treeView() : plainView();
}
