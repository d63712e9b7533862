// One line of progress on stderr for long downloads and checks: rewritten in place on a
// terminal, a line per step (and none per chunk) otherwise, nothing with --json.
import { oneLine, visible } from '../../base/terminal-text.js';
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

export class ProgressLine {
  private readonly tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly enabled: boolean) {}

  step(line: string): void {
    if (!this.enabled) return;
    this.clear();
    process.stderr.write(`${visible(line)}\n`);
  }

  bytes(what: string, bytes: number, total: number | undefined): void {
    if (!this.enabled || !this.tty) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && bytes !== total) return;
    this.lastDraw = now;
    const width = 30;
    const bar = total
      ? `[${'#'.repeat(Math.round((bytes / total) * width)).padEnd(width, '.')}] ${mib(bytes)}/${mib(total)} MiB`
      : `${mib(bytes)} MiB`;
    // A terminal that does not know its width (a serial console, script(1)) says 0 columns.
    const columns = process.stderr.columns || 100;
    process.stderr.write(`\r\x1b[K${bar} ${oneLine(what)}`.slice(0, columns + 4));
    this.drawn = true;
  }

  done(): void {
    this.clear();
  }

  private clear(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}
