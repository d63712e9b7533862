// CPU time (user + system) of the processes a benchmark compares, so that a figure
// depends on the work done and not on how many other processes share the cores:
// wall-clock time on a loaded machine includes waiting for a core, CPU time does not.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuTime {
  readonly userMs: number;
  readonly systemMs: number;
}

export const totalMs = (cpu: CpuTime): number => cpu.userMs + cpu.systemMs;

/** This Node process's CPU time (all its threads: libuv's pool, GC) spent in `work`. */
export async function ownCpu<T>(work: () => Promise<T>): Promise<{ cpu: CpuTime; value: T }> {
  const before = process.cpuUsage();
  const value = await work();
  const { user, system } = process.cpuUsage(before);
  return { cpu: { userMs: user / 1000, systemMs: system / 1000 }, value };
}

/**
 * Runs a bash script and returns the CPU time of the processes it started and waited
 * for (their children included: scp's ssh), from bash's `times`, i.e. getrusage
 * (RUSAGE_CHILDREN) at millisecond resolution. Bash's own CPU is left out: the
 * commands are what is measured, not the loop around them.
 */
export function childrenCpu(script: string, args: readonly string[] = []): CpuTime {
  const out = execFileSync('bash', ['-c', `set -e\n${script}\ntimes`, 'bench', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = out.trim().split('\n');
  const children = lines[lines.length - 1]!.match(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
  if (!children) throw new Error(`unexpected output of bash's times: ${out}`);
  const ms = (minutes: string, seconds: string) => (Number(minutes) * 60 + Number(seconds)) * 1000;
  return { userMs: ms(children[1]!, children[2]!), systemMs: ms(children[3]!, children[4]!) };
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * CPU time so far of a running process that is not our child or outlives the
 * measurement (an OpenSSH ControlMaster), from /proc/PID/stat: clock ticks (10 ms), so
 * the measured section should last long enough for that not to matter.
 */
export function processCpu(pid: number): CpuTime {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) — utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (i: number) => (Number(fields[i - 3]) / TICKS_PER_SECOND) * 1000;
  return { userMs: ticks(14), systemMs: ticks(15) };
}

export const minus = (a: CpuTime, b: CpuTime): CpuTime => ({
  userMs: a.userMs - b.userMs,
  systemMs: a.systemMs - b.systemMs,
});
export const plus = (a: CpuTime, b: CpuTime): CpuTime => ({
  userMs: a.userMs + b.userMs,
  systemMs: a.systemMs + b.systemMs,
});
