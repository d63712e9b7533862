// kubestrap as the host tests run it, and what the doubles on a harness host were asked.
import { spawn } from 'node:child_process';
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

export interface Interrupted {
  readonly status: number | null;
  readonly stderr: string;
  readonly stdout: string;
  /** When SIGINT was sent, ms since the epoch. */
  readonly sigintAt: number;
  /** From SIGINT to the exit. */
  readonly exitMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the CLI in `dir` as a user does and presses Ctrl-C (SIGINT) once `ready` says
 * the moment has come (polled every 20 ms); fails if the run ends first.
 */
export async function interruptWhen(dir: string, args: readonly string[], ready: () => boolean): Promise<Interrupted> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { ...process.env, HOME: dir, SSH_AUTH_SOCK: '', CI: 'true', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let running = true;
  void exited.then(() => (running = false));
  const deadline = Date.now() + 400_000;
  try {
    while (!ready()) {
      if (!running)
        throw new Error(`kubestrap ${args[0]} ended before the moment to interrupt it:\n${stdout}\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`the moment to interrupt never came:\n${stdout}\n${stderr}`);
      await sleep(20);
    }
    const sigintAt = Date.now();
    child.kill('SIGINT');
    // The old behaviour ran to the end of a 60 s wait; give it that, to report what it did.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const status = await exited;
    clearTimeout(timer);
    return { status, stdout, stderr, sigintAt, exitMs: Date.now() - sigintAt };
  } finally {
    if (running) child.kill('SIGKILL');
  }
}
