// The failover window as a client of the endpoint sees it, shared by the ha-endpoint
// test and bench/failover.ts so that the test's bound and the bench's figures measure
// the same thing.
import { spawnSync } from 'node:child_process';

export interface Outage {
  /** From `start` to the first request that succeeded. */
  readonly firstOkMs: number;
  /** From `start` to the first of 10 successful requests in a row. */
  readonly steadyMs: number;
  /** Requests that failed on the way. */
  readonly failed: number;
}

/**
 * Sends `request` 100 ms apart until 10 in a row succeed; throws once requests still
 * fail `limitMs` after `start`.
 */
export function measureOutage(request: () => boolean, limitMs: number, start = Date.now()): Outage {
  let failed = 0;
  let firstOkMs: number | undefined;
  let steadyMs = 0;
  for (let inARow = 0; inARow < 10;) {
    const at = Date.now() - start;
    if (request()) {
      firstOkMs ??= at;
      if (inARow++ === 0) steadyMs = at;
    } else {
      failed++;
      inARow = 0;
      if (at > limitMs) throw new Error(`requests through the VIP still failing after ${limitMs} ms`);
    }
    spawnSync('sleep', ['0.1']);
  }
  return { firstOkMs: firstOkMs!, steadyMs, failed };
}
