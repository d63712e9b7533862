// One changing command per cluster at a time: two `up`s on one cluster would run the
// same phases on the same hosts at once. Every command that changes the hosts or the
// cluster's working directory holds .kubestrap/<cluster>/lock while it runs; the
// read-only ones (status, validate, kubeconfig, ssh, render -o elsewhere) do not.
//
// The lock file is written whole to a temp file and linked into place (link fails if
// the name exists), so no one ever reads half a lock. It names the holder: PID, command,
// start time, host, and the process's start time from /proc/PID/stat, so that a PID the
// kernel has since given to another process is not taken for the holder. A lock whose
// holder is gone is taken over, with a message; it is released on every way out: the
// operation's end, process exit (a second Ctrl-C), and SIGINT/SIGTERM/SIGHUP when
// nothing else handles them.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { OperationContext } from './context.js';
import { InvalidInputError } from './errors.js';
import { ensureWorkDir } from './workdir.js';

export const LOCK_FILE = 'lock';

export interface LockHolder {
  readonly pid: number;
  /** The kubestrap command holding it (up, destroy, …). */
  readonly command: string;
  /** ISO time the command took the lock. */
  readonly startedAt: string;
  /** Field 22 of /proc/PID/stat (clock ticks after boot); absent where there is no /proc. */
  readonly processStart?: string;
  readonly host: string;
}

export interface ClusterLock {
  readonly path: string;
  release(): void;
}

/** The start time of a process as /proc/PID/stat gives it, or undefined without /proc or the process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): { text: string; holder?: LockHolder } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isInteger(parsed.pid) && typeof parsed.command === 'string' && typeof parsed.startedAt === 'string')
      return { text, holder: { host: '', ...parsed } as LockHolder };
  } catch {
    // a damaged lock file is taken over like a dead holder's
  }
  return { text };
}

/** Why a holder no longer holds the lock, or undefined while it does (or we cannot tell: another machine). */
function staleReason(holder: LockHolder | undefined): string | undefined {
  if (!holder) return 'the lock file is damaged';
  if (holder.host && holder.host !== hostname()) return undefined;
  if (!running(holder.pid)) return `PID ${holder.pid} no longer runs`;
  const now = processStartTime(holder.pid);
  if (holder.processStart && now && now !== holder.processStart)
    return `PID ${holder.pid} now belongs to another process (started at a different time)`;
  return undefined;
}

function busy(cluster: string, path: string, holder: LockHolder): InvalidInputError {
  const where = holder.host && holder.host !== hostname() ? ` on ${holder.host}` : '';
  return new InvalidInputError(
    `cluster ${cluster} is busy: kubestrap ${holder.command} ` +
      `(PID ${holder.pid}${where}, started ${holder.startedAt}) is changing it. ` +
      `Wait for it to finish, or stop it; if that process is gone for good, remove ${path}. ` +
      'Nothing was done.',
  );
}

/** Links a complete lock file into place; false if the name is taken. */
function tryLink(path: string, content: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

/**
 * Moves a stale lock out of the way. Only the lock we judged stale: if another run took
 * it over between our read and the rename, its fresh lock is put back.
 */
function removeStale(path: string, judged: string): boolean {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  const moved = readFileSync(aside, 'utf8');
  if (moved !== judged) {
    try {
      linkSync(aside, path);
    } catch {
      // someone holds the name again; the next round of acquire reads who
    }
  }
  unlinkSync(aside);
  return moved === judged;
}

const held = new Map<string, { count: number; lock: ClusterLock }>();

/**
 * Takes the cluster's lock for `command`, or throws (exit 2) naming the run that holds
 * it. Nested calls in one process (rebuild's destroy and up) share the lock.
 */
export function lockCluster(cluster: string, command: string, note: (message: string) => void): ClusterLock {
  const mine = held.get(cluster);
  if (mine) {
    mine.count += 1;
    return { path: mine.lock.path, release: () => void (mine.count > 1 ? (mine.count -= 1) : mine.lock.release()) };
  }
  const dir = ensureWorkDir(cluster);
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    command,
    startedAt: new Date().toISOString(),
    ...(processStartTime(process.pid) ? { processStart: processStartTime(process.pid)! } : {}),
    host: hostname(),
  };
  const content = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      if (tryLink(path, content)) break;
    } catch (error) {
      // The directory went with the last holder's release (it removes it when empty).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
      ensureWorkDir(cluster);
      continue;
    }
    const seen = readHolder(path);
    if (!seen) continue; // released between our link and our read
    const reason = staleReason(seen.holder);
    if (!reason) throw busy(cluster, path, seen.holder!);
    if (attempt >= 5) throw new Error(`could not take over the stale lock ${path}; remove it and run again`);
    if (removeStale(path, seen.text)) {
      const who = seen.holder ? `kubestrap ${seen.holder.command} (started ${seen.holder.startedAt})` : 'a run';
      note(`taking over the lock of cluster ${cluster} left by ${who}: ${reason}`);
    }
  }
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onExit = () => release();
  // Re-raised after the release, so the process ends as the signal would have ended it;
  // when another handler owns the signal (the session's Ctrl-C), that one decides.
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    release();
    process.kill(process.pid, signal);
  };
  function release() {
    if (!held.has(cluster)) return;
    held.delete(cluster);
    process.off('exit', onExit);
    for (const s of signals) process.off(s, onSignal);
    if (readHolder(path)?.text === content) unlinkSync(path);
    try {
      rmdirSync(dir); // only when empty: a run that changed nothing leaves nothing
    } catch {
      // not empty, or gone
    }
  }
  process.on('exit', onExit);
  for (const s of signals) process.on(s, onSignal);
  const lock: ClusterLock = { path, release };
  held.set(cluster, { count: 1, lock });
  return lock;
}

/** Where an operation says it took over a stale lock: the view's notes. */
export function lockNote(context: OperationContext): (message: string) => void {
  return (message) => context.sink.note?.(message);
}

/** Runs `work` holding the cluster's lock; released however `work` ends. */
export async function withClusterLock<T>(
  cluster: string,
  command: string,
  note: (message: string) => void,
  work: () => Promise<T>,
): Promise<T> {
  const lock = lockCluster(cluster, command, note);
  try {
    return await work();
  } finally {
    lock.release();
  }
}
