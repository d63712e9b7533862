// Plain-text tables for reports (preflight, the node summary): columns padded to their
// widest cell, the last one left ragged.
import { oneLine } from './terminal-text.js';
export function formatTable(header: readonly string[], cells: readonly (readonly string[])[]): string {
  // Cells come from specs and hosts: one line each, control characters shown, not obeyed.
  const rows = cells.map((row) => row.map(oneLine));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [header, ...rows].map(line).join('\n');
}
