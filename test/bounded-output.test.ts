// A command's output in bounded memory: whole when it is small, head + marker + tail when not.
import { describe, expect, it } from 'vitest';
import { BoundedOutput, elisionMarker } from '../ssh/bounded-output.js';

describe('bounded command output', () => {
  it('keeps an output up to head + tail whole, however it was chunked (a character split between chunks too)', () => {
    const text = `${'a'.repeat(9)}é${'b'.repeat(9)}`; // 21 bytes: the é straddles the head limit
    const out = new BoundedOutput(10, 16);
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 3) out.add(bytes.subarray(i, i + 3));
    expect(out.elided).toBe(0);
    expect(out.text()).toBe(text);
  });

  it('keeps the first and last bytes of a long output, and says how many it dropped', () => {
    const out = new BoundedOutput(4, 6);
    const logged: string[] = [];
    for (const chunk of ['head', '-middle-', 'middle-', 'tail!\n']) logged.push(out.add(Buffer.from(chunk)).toString());
    expect(logged).toEqual(['head', '', '', '']);
    const total = 'head-middle-middle-tail!\n'.length;
    expect(out.elided).toBe(total - 4 - 6);
    expect(out.text()).toBe(`head\n${elisionMarker(total - 10)}\ntail!\n`);
    expect(out.rest()).toBe(`${elisionMarker(total - 10)}\ntail!\n`);
  });
});
