// Local progress (downloads, bundle checks) for the text views: a line per step on
// stderr, and on a terminal one bar rewritten in place.
import type { Progress } from '../../engine/events.js';
import { ProgressLine } from './progress-line.js';

export function progressPrinter(): (update: Progress) => void {
  const line = new ProgressLine(true);
  return (update) => {
    if ('step' in update) line.step(update.step);
    else if ('what' in update) line.bytes(update.what, update.bytes, update.total);
    else line.done();
  };
}
