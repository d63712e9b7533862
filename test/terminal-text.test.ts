// Strings from specs, bundles and hosts reach the terminal through one helper, so that
// an escape sequence in a node name, a package name or a host's output is shown, not obeyed.
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { formatTable } from '../base/table.js';
import { oneLine, visible } from '../base/terminal-text.js';
import { reportFailure } from '../cli/report.js';
import { plainView } from '../cli/views/plain.js';

const HOSTILE = 'a\x1b]0;owned\x07\x1b[2J\x9b31m\rb';
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe('terminal text', () => {
  it('shows C0 and C1 controls as escapes and keeps newline and tab', () => {
    expect(visible(`${HOSTILE}\n\tc`)).toBe('a\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\rb\n\tc');
    expect(oneLine(`${HOSTILE}\n\tc`)).toBe('a\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\rb\\n\\tc');
    expect(visible('plain text, ü and → stay')).toBe('plain text, ü and → stay');
  });

  it('tables: every cell on one line, controls shown', () => {
    const table = formatTable(['NODE', 'STATE'], [[HOSTILE, 'up\nand running']]);
    expect(table).not.toMatch(CONTROL);
    expect(table.split('\n')).toHaveLength(2);
  });

  it("the plain view shows a host's output and titles without obeying them", () => {
    let written = '';
    const out = new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk);
        done();
      },
    });
    const view = plainView(out);
    view.event({ type: 'output', phase: 'packages', host: 'cp', line: HOSTILE });
    view.note!(`note ${HOSTILE}`);
    expect(written).not.toMatch(CONTROL);
    expect(written).toContain('\\x1b]0;owned');
  });

  it('a failure message is printed with its controls shown', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(reportFailure(new Error(`bundle member ${HOSTILE} is missing`), {})).toBe(1);
      const printed = stderr.mock.calls.map((call) => String(call[0])).join('');
      expect(printed).not.toMatch(CONTROL);
      expect(printed).toContain('bundle member a\\x1b]0;owned');
    } finally {
      stderr.mockRestore();
    }
  });
});
