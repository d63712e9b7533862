// Not a terminal (CI, a pipe, a log file): one timestamped line per thing that happened,
// in the order it happened, never rewritten.
import type { EventSink, RunEvent } from '../../engine/events.js';
import { progressPrinter } from './progress.js';
import { visible } from '../../base/terminal-text.js';

const MARK = { changed: '✔', unchanged: '✔', failed: '✖', skipped: '↓', retrying: '↻' } as const;

function time(): string {
  return new Date().toISOString().slice(11, 19);
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0] ?? '';
}

export function describeEvent(event: RunEvent): string | undefined {
  // A nested run (a machine prepared while the next boots) shows as its item's output.
  if ('nested' in event && event.nested) return undefined;
  switch (event.type) {
    case 'phase':
      return `${event.phase}${event.hosts.length ? ` (${event.hosts.join(', ')})` : ''}`;
    case 'output':
      return `[${event.host}] ${event.line}`;
    case 'machine':
      return event.message ? `[${event.machine}] ${event.stage ? `${event.stage}: ` : ''}${event.message}` : undefined;
    case 'host':
      if (event.status === 'started') return undefined;
      if (event.status === 'changed' || event.status === 'unchanged')
        return `${MARK[event.status]} ${event.title ?? `${event.host}: ${event.status}`}`;
      return (
        `${MARK[event.status]} ${event.host}: ${event.status}` +
        `${event.detail ? ` (${firstLine(event.detail)})` : ''}`
      );
    case 'phase-failed':
      return `✖ ${event.phase} failed (see the summary below)`;
    case 'done':
      return undefined;
  }
}

export function plainView(out: NodeJS.WritableStream = process.stdout): EventSink {
  const say = (line: string) => void out.write(`[${time()}] ${visible(line)}\n`);
  return {
    event(event) {
      const line = describeEvent(event);
      if (line !== undefined) say(line);
    },
    note: say,
    progress: progressPrinter(),
  };
}
