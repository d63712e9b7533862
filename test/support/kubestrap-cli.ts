// kubestrap as the host tests run it, and what the doubles on a harness host were asked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Harness } from '../harness/hosts.js';
import { REPO_ROOT } from './fixtures.js';
import { runAsync } from './tools.js';

export const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');

/** The built CLI with `dir` as its working directory and HOME, no SSH agent, CI's plain output. */
export function kubestrapIn(dir: string, timeoutMs: number) {
  return (...args: string[]) =>
    runAsync(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { ...process.env, HOME: dir, SSH_AUTH_SOCK: '', CI: 'true' },
      timeoutMs,
    });
}

/** Every call the doubles (kubeadm, kubelet, kubectl, the API) logged on `host`, oldest first, without its time. */
export function doubleCalls(harness: Harness, host: string): string[] {
  return readFileSync(join(harness.host(host).root, 'var/log/kubestrap-doubles/calls.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^\S+ /, ''));
}
