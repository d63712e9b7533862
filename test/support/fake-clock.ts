// A clock on which no real time passes, for waits driven to their timeout: each pause
// (node:timers/promises' setTimeout, which the test file mocks with `timersPromises`)
// and whatever the test's fake host charges for a command move it on.
import { afterEach, beforeEach } from 'vitest';

export const fakeClock = { now: 1_800_000_000_000 };

export const timersPromises = {
  setTimeout: async (ms: number) => {
    fakeClock.now += ms;
  },
};

/** Date.now reads the fake clock during each test of the file. */
export function useFakeNow(): void {
  let realNow: () => number;
  beforeEach(() => {
    realNow = Date.now;
    Date.now = () => fakeClock.now;
  });
  afterEach(() => {
    Date.now = realNow;
  });
}
