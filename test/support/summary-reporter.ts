// Prints one plain closing line, "N passed, N failed, N skipped", that CI and people can
// read without parsing vitest's coloured summary, preceded by every skipped test with the
// reason it was skipped, so a green run that skipped half the suite says so, and by every
// failure with the first lines of its error: CI keeps only the end of a long log, and a
// failed beforeAll otherwise shows there as nothing but skipped tests.
// It also holds the watchdog: a run still going after KUBESTRAP_TEST_WATCHDOG_MIN minutes
// (default 80: inside CI's 90-minute limit with the setup around it, and above the
// Vagrant e2e's worst seen, 38 minutes under TCG) is stopped with the same summary and
// the tests that were running, so a hang reports what it reached instead of being
// killed silently by CI.
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';
import type { Vitest } from 'vitest/node';
import { describeProcess, descendants } from './processes.js';

const SKIP_REASON = /\(skipped: (.*)\)$/s;
const ERROR_LINES = 8;
const DEFAULT_WATCHDOG_MINUTES = 80;

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function count(modules: ReadonlyArray<TestModule>): Counts {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const module of modules) {
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') counts.passed++;
      else if (state === 'failed') counts.failed++;
      else if (state === 'skipped') counts.skipped++;
    }
    // A file that failed to load, or whose beforeAll failed, may have no failed test but
    // must not count as a pass.
    if (module.state() === 'failed' && ![...module.children.allTests()].some((t) => t.result().state === 'failed'))
      counts.failed++;
  }
  return counts;
}

const countsLine = (c: Counts) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;

/**
 * One line per skipped suite or test, with the reason its title (or ctx.skip's note)
 * gives. A suite skipped with a reason is one line, however many tests it holds.
 */
export function skipList(modules: ReadonlyArray<TestModule>): string[] {
  const lines = new Map<string, number>();
  for (const module of modules) {
    for (const test of module.children.allTests()) {
      const result = test.result();
      if (result.state !== 'skipped') continue;
      let where = `${module.relativeModuleId} › ${test.name}`;
      let reason = result.note ?? SKIP_REASON.exec(test.name)?.[1];
      for (
        let parent: TestSuite | TestModule = test.parent;
        !reason && parent.type === 'suite';
        parent = parent.parent
      ) {
        reason = SKIP_REASON.exec(parent.name)?.[1];
        if (reason) where = `${module.relativeModuleId} › ${parent.name}`;
      }
      const why =
        reason ??
        (hookFailed(test)
          ? 'a hook of its suite failed (see Failed below)'
          : 'no reason given (say why in the title: "(skipped: …)")');
      const key = `${where.replace(SKIP_REASON, '').trimEnd()}: ${why}`;
      lines.set(key, (lines.get(key) ?? 0) + 1);
    }
  }
  return [...lines].map(([line, n]) => `  ${line}${n > 1 ? ` [${n} tests]` : ''}`);
}

/** Whether the test's file or one of its suites has errors of its own (a failed beforeAll, a load error). */
function hookFailed(test: TestCase): boolean {
  for (let parent: TestSuite | TestModule = test.parent; ; parent = parent.parent) {
    if (parent.errors().length) return true;
    if (parent.type === 'module') return false;
  }
}

const firstLines = (error: { name?: string; message?: string }) => {
  const lines = `${error.name ?? 'Error'}: ${error.message ?? '(no message)'}`.trimEnd().split('\n');
  const shown = lines.slice(0, ERROR_LINES).map((l) => `      ${l}`);
  if (lines.length > ERROR_LINES) shown.push(`      … (${lines.length - ERROR_LINES} more lines above in the log)`);
  return shown.join('\n');
};

/** Every failed test, suite hook and file, each with the first lines of its error. */
export function failureList(modules: ReadonlyArray<TestModule>): string[] {
  const lines: string[] = [];
  const add = (where: string, errors: ReadonlyArray<{ name?: string; message?: string }>) => {
    lines.push(`  ${where}`);
    for (const error of errors) lines.push(firstLines(error));
  };
  for (const module of modules) {
    const id = module.relativeModuleId;
    if (module.errors().length) add(`${id} (the file itself)`, module.errors());
    for (const suite of module.children.allSuites())
      if (suite.errors().length) add(`${id} › ${suite.fullName} (a hook of the suite)`, suite.errors());
    for (const test of module.children.allTests()) {
      const result = test.result();
      if (result.state === 'failed') add(`${id} › ${test.fullName}`, result.errors ?? []);
    }
  }
  return lines;
}

export default class SummaryReporter implements Reporter {
  private vitest: Vitest | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly running = new Set<TestCase>();
  private readonly loading = new Set<TestModule>();
  private readonly lastFinished = new Map<TestModule, TestCase>();

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
    const minutes = Number(process.env.KUBESTRAP_TEST_WATCHDOG_MIN ?? DEFAULT_WATCHDOG_MINUTES);
    if (!(minutes > 0))
      throw new Error(
        'KUBESTRAP_TEST_WATCHDOG_MIN must be a positive number of minutes, ' +
          `not ${process.env.KUBESTRAP_TEST_WATCHDOG_MIN}`,
      );
    this.watchdog = setTimeout(() => this.bite(minutes), minutes * 60_000);
    this.watchdog.unref();
  }

  onTestModuleStart(module: TestModule): void {
    this.loading.add(module);
  }

  onTestModuleEnd(module: TestModule): void {
    this.loading.delete(module);
  }

  onTestCaseReady(test: TestCase): void {
    this.running.add(test);
  }

  onTestCaseResult(test: TestCase): void {
    this.running.delete(test);
    this.lastFinished.set(test.module, test);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    clearTimeout(this.watchdog);
    const skipped = skipList(modules);
    if (skipped.length) process.stdout.write(`\nSkipped:\n${skipped.join('\n')}\n`);
    const failed = failureList(modules);
    if (failed.length) process.stdout.write(`\nFailed:\n${failed.join('\n')}\n`);
    process.stdout.write(`\n${countsLine(count(modules))}\n`);
  }

  private bite(minutes: number): void {
    const modules = this.vitest?.state.getTestModules() ?? [];
    const tests = [...this.running].map((t) => `  ${t.module.relativeModuleId} › ${t.fullName}`);
    // A worker reports a test as started in batches, which a test blocked in a synchronous
    // call never sends; such a file is placed after the last test it reported finished.
    const files = [...this.loading]
      .filter((m) => ![...this.running].some((t) => t.module === m))
      .map((m) => {
        const last = this.lastFinished.get(m);
        const where = last ? `the test or hook after "${last.fullName}"` : 'its setup or first test';
        return `  ${m.relativeModuleId} › ${where}`;
      });
    const skipped = skipList(modules);
    process.stdout.write(
      `\nWATCHDOG: the run passed ${minutes} minute(s) (KUBESTRAP_TEST_WATCHDOG_MIN) and was stopped.\n` +
        `Running when stopped:\n${[...tests, ...files].join('\n') || '  (nothing: vitest itself is stuck)'}\n` +
        (skipped.length ? `Skipped so far:\n${skipped.join('\n')}\n` : '') +
        `\n${countsLine(count(modules))} (so far; the run did not finish)\n`,
    );
    // The workers and whatever they started go with the run; afterAll hooks do not get to run.
    const below = descendants(process.pid).reverse();
    if (below.length) process.stdout.write(`Stopping the run's processes:\n${below.map(describeProcess).join('\n')}\n`);
    for (const p of below) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    process.exit(1);
  }
}
