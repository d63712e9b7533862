// The process table as /proc shows it, for telling which processes the test run started.
// Processes the suite starts carry SUITE_MARKER in their environment (set in the main
// process before any worker forks, inherited from there on), which survives what a
// snapshot of PIDs cannot: a daemon that double-forks and reparents to PID 1.
import { readdirSync, readFileSync } from 'node:fs';

export const SUITE_MARKER = 'KUBESTRAP_TEST_RUN';

export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
  /** The value of SUITE_MARKER in the environment it was started with, if readable and set. */
  readonly marker: string | undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Gone since the listing, or another user's (as non-root): neither is ours to report.
    return undefined;
  }
}

/**
 * The parent in a /proc/PID/stat line; the command name before it is parenthesised and may hold
 * spaces or parentheses.
 */
const parentIn = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);

export function parentOf(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? parentIn(stat) : undefined;
}

export function processTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    const cmdline = read(`/proc/${name}/cmdline`);
    // Kernel threads have an empty command line; they are never ours.
    if (!stat || !cmdline) continue;
    const ppid = parentIn(stat);
    const environ = read(`/proc/${name}/environ`) ?? '';
    const marker = environ
      .split('\0')
      .find((v) => v.startsWith(`${SUITE_MARKER}=`))
      ?.slice(SUITE_MARKER.length + 1);
    entries.push({ pid: Number(name), ppid, command: cmdline.split('\0').join(' ').trim(), marker });
  }
  return entries;
}

/** Every process below `root` in the tree, deepest last. */
export function descendants(root: number, table = processTable()): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  let parents = new Set([root]);
  while (parents.size) {
    const level = table.filter((p) => parents.has(p.ppid));
    found.push(...level);
    parents = new Set(level.map((p) => p.pid));
  }
  return found;
}

export function describeProcess(p: ProcessEntry): string {
  return `  pid ${p.pid} (parent ${p.ppid}): ${p.command.length > 160 ? `${p.command.slice(0, 160)}…` : p.command}`;
}
