// Real tools the tests drive. On a developer machine without one, the tests that need
// it are skipped with the reason; under CI a missing tool fails the run instead,
// because .ci/run installs them and a silent skip would hide a broken install step.
import { spawn, spawnSync } from 'node:child_process';

export function missingTools(...commands: string[]): string | undefined {
  const missing = commands.filter(
    (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length === 0) return undefined;
  const reason = `not installed: ${missing.join(', ')} (scripts/install-test-deps.sh installs them)`;
  if (process.env.CI) throw new Error(`CI must have every tool the tests use; ${reason}`);
  return reason;
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Ran {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Like run(), without blocking this process: needed when the command talks to servers
 * the test itself runs (package mirror, upstream files).
 */
export function runAsync(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
