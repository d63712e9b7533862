// Global setup: the suite must end every process it started. gpg-agent daemons, registries
// and sshd fleets that outlive their test pile up across runs on a developer machine and
// hold ports and files the next run needs, so any process left behind fails the run.
// Detection: marked with this run's SUITE_MARKER (inherited by everything the workers
// start, daemons included) or still below this process, and not running before the
// suite began. A process started with a scrubbed environment that also detaches from
// the tree escapes the check; the host harness starts none that way outside its hosts.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeProcess, descendants, processTable, SUITE_MARKER, type ProcessEntry } from './processes.js';

export function setup(): () => Promise<void> {
  const marker = `${process.pid}-${Date.now()}`;
  process.env[SUITE_MARKER] = marker;
  const before = new Set(processTable().map((p) => p.pid));

  const leftovers = (): ProcessEntry[] => {
    const table = processTable();
    // Vitest's own helpers (fork workers, esbuild's service) are this process's children
    // and close after this teardown; what they started is below them and is checked.
    const workers = new Set(table.filter((p) => p.ppid === process.pid).map((p) => p.pid));
    const below = new Set(descendants(process.pid, table).map((p) => p.pid));
    return table.filter(
      (p) =>
        !before.has(p.pid) && !workers.has(p.pid) && p.pid !== process.pid && (p.marker === marker || below.has(p.pid)),
    );
  };

  return async () => {
    let left = leftovers();
    // A process being stopped by an afterAll may take a moment to go.
    for (let waited = 0; left.length && waited < 5_000; waited += 500) {
      await sleep(500);
      left = leftovers();
    }
    if (!left.length) return;
    process.exitCode = 1;
    process.stderr.write(
      `\nFAIL: the suite left ${left.length} process(es) running that it started ` +
        `(stopped now; fix the test that starts them):\n${left.map(describeProcess).join('\n')}\n`,
    );
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  };
}
