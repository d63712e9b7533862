// The closing summary CI keeps: a failed beforeAll must show as a failure with its
// message, not as a run of skipped tests with "no reason given" (CI run of cce87a9).
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/fixtures.js';
import { runAsync } from './support/tools.js';

describe('the summary reporter', () => {
  it('lists failed hooks and tests with their messages, and counts a failed hook', async () => {
    const ran = await runAsync(
      process.execPath,
      [`${REPO_ROOT}/node_modules/vitest/vitest.mjs`, 'run', '--config', 'test/fixtures/reporter/vitest.config.ts'],
      { cwd: REPO_ROOT, timeoutMs: 60_000 },
    );
    expect(ran.status, ran.stderr).toBe(1);
    const out = ran.stdout;
    const section = (name: string) => out.slice(out.indexOf(`\n${name}:\n`)).split('\n\n')[0];
    expect(section('Skipped')).toContain(
      'hook-failure.check.ts › never runs: a hook of its suite failed (see Failed below)',
    );
    expect(section('Skipped')).toContain('test-failure.check.ts › is skipped: the reason it gives');
    const failed = section('Failed');
    expect(failed).toContain('hook-failure.check.ts › a suite whose beforeAll fails (a hook of the suite)');
    expect(failed).toContain('Error: libvirtd did not answer in time\n      second line of the evidence');
    expect(failed).toContain('test-failure.check.ts › fails with a message');
    expect(failed).toContain('the probe output');
    expect(failed).not.toContain('› passes');
    expect(out.trimEnd().split('\n').at(-1)).toBe('1 passed, 2 failed, 2 skipped');
  });
});
