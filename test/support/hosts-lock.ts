// Set-up file of the hosts tier: each host test file runs holding the machine-wide lock
// (the test hosts, VMs, libvirt pool and registries use fixed names and addresses, so two
// runs at once break each other). Usually the caller already holds it —
// `flock /tmp/kubestrap-hosts.lock npx vitest run test/FILE.test.ts` — and then nothing is
// done; a plain `npm test` or `npx vitest run` waits for it here instead of colliding.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { afterAll } from 'vitest';
import { parentOf } from './processes.js';

export const HOSTS_LOCK = '/tmp/kubestrap-hosts.lock';

/** Whether a process above this one (flock(1) as the caller's wrapper) holds the lock. */
function heldByAncestor(): boolean {
  closeSync(openSync(HOSTS_LOCK, 'a'));
  const { dev, ino } = statSync(HOSTS_LOCK);
  // /proc/locks names the file as MAJOR:MINOR:INODE, the device numbers in hex.
  const file = `${(dev >> 8).toString(16).padStart(2, '0')}:${(dev & 0xff).toString(16).padStart(2, '0')}:${ino}`;
  const holders = new Set(
    readFileSync('/proc/locks', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f[1] === 'FLOCK' && f[5] === file)
      .map((f) => Number(f[4])),
  );
  for (let pid: number | undefined = process.pid; pid && pid > 1; pid = parentOf(pid))
    if (holders.has(pid)) return true;
  return false;
}

if (!heldByAncestor()) {
  // flock(1) holds the lock for as long as its `cat` reads an open stdin: released in
  // afterAll, and by the kernel if this worker dies.
  const holder = spawn('flock', [HOSTS_LOCK, '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('error', reject);
    holder.once('exit', (code) => reject(new Error(`flock ${HOSTS_LOCK} exited with ${code} before taking the lock`)));
  });
  afterAll(async () => {
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.stdin.end();
    await exited;
  });
}
