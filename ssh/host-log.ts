// A per-host log of every command and its output (0600), with secrets redacted.
// Its path is printed on failure so users can read the whole story.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Redactor } from './redact.js';

export class HostLog {
  private readonly stream: WriteStream;

  constructor(
    readonly path: string,
    private readonly redactor: Redactor,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  }

  line(marker: string, text: string): void {
    const stamp = new Date().toISOString();
    for (const line of this.redactor.apply(text).replace(/\n$/, '').split('\n'))
      this.stream.write(`${stamp} ${marker} ${line}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
