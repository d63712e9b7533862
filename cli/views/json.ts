// --json: every event as one JSON object per line on stdout, nothing else there.
import { jsonLine, type EventSink } from '../../engine/events.js';

export function jsonView(out: NodeJS.WritableStream = process.stdout): EventSink {
  return {
    event: (event) => void out.write(jsonLine(event)),
    note: (message) => void out.write(`${JSON.stringify({ time: new Date().toISOString(), type: 'note', message })}\n`),
  };
}
