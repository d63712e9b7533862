// Runs Vagrant in the cluster's working directory (where the rendered Vagrantfile is).
// run() is the only execa call; every failure names the command and shows the tail of
// what Vagrant printed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { vagrantArgs } from './args.js';
import { parseMachineReadable, type MachineReadableLine } from './machine-readable.js';
import { errorExit, machineEvent, type MachineEvent } from './progress.js';
import type { Provider } from './requirements.js';
import { parseSshConfig, type VagrantSshSettings } from './ssh-config.js';

export class VagrantError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly tail: string,
    reason: string,
  ) {
    super(`${command} ${reason}${tail ? `; last output:\n${tail}` : ''}`);
  }
}

export interface RunOptions {
  /** Each stdout line as it arrives. */
  readonly onLine?: (line: string) => void;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export interface MachineStatus {
  readonly machine: string;
  /** Vagrant's state name: running, not_created, shutoff, poweroff, saved, … */
  readonly state: string;
  readonly provider: string;
}

const TAIL_LINES = 15;

export class VagrantDriver {
  constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Raw Vagrant output for --verbose. */
    private readonly verbose?: (line: string) => void,
    /** Ctrl-C for every Vagrant call that is not given its own signal (status, ssh-config, box). */
    private readonly signal?: AbortSignal,
  ) {}

  async run(args: string[], options: RunOptions = {}): Promise<{ stdout: string; lines: MachineReadableLine[] }> {
    const command = `vagrant ${args.join(' ')}`;
    const timeoutMs = options.timeoutMs ?? 120_000;
    const seen: string[] = [];
    const signal = options.signal ?? this.signal;
    const child = execa('vagrant', args, {
      cwd: this.dir,
      env: { ...this.env, VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_NO_COLOR: '1' },
      extendEnv: false,
      reject: false,
      timeout: timeoutMs,
      // Vagrant cleans up (and releases its machine locks) on an interrupt, not on TERM.
      killSignal: 'SIGINT',
      forceKillAfterDelay: 30_000,
      ...(signal ? { cancelSignal: signal } : {}),
      stdin: 'ignore',
      lines: false,
    });
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) {
        seen.push(line);
        this.verbose?.(line);
        options.onLine?.(line);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        seen.push(line);
        this.verbose?.(line);
      }
    });
    const result = await child;
    if (pending) seen.push(pending);
    const stdout = `${result.stdout ?? ''}`;
    const lines = parseMachineReadable(stdout);
    if (result.exitCode !== 0 || result.failed) {
      const error = errorExit(lines);
      // Vagrant repeats its error on stderr; the tail then shows what led up to it.
      const shown = error
        ? seen.filter((l) => {
            const parsed = parseMachineReadable(l)[0];
            return parsed?.type === 'ui' && parsed.data[0] !== 'error';
          })
        : seen;
      const tail = shown
        .slice(-TAIL_LINES)
        .map((l) => (/^\d+,/.test(l) ? (parseMachineReadable(l)[0]?.data.slice(1).join(',') ?? l) : l))
        .join('\n');
      const reason = result.isCanceled
        ? 'was interrupted'
        : result.timedOut
          ? `did not finish within ${Math.round(timeoutMs / 1000)} s`
          : result.exitCode === undefined
            ? `could not run (${result.code ?? result.shortMessage}): is Vagrant installed?`
            : `failed with exit code ${result.exitCode}${error ? `: ${error}` : ''}`;
      throw new VagrantError(command, result.exitCode, tail, reason);
    }
    return { stdout, lines };
  }

  /** Creates or starts `machines`, reporting each machine's progress. */
  async up(
    machines: readonly string[],
    provider: Provider,
    parallel: boolean,
    onEvent: (event: MachineEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.run(vagrantArgs.up(machines, provider, parallel), {
      onLine: (line) => {
        const parsed = parseMachineReadable(line)[0];
        const event = parsed && machineEvent(parsed);
        if (event) onEvent(event);
      },
      // Booting several VMs and waiting for SSH; Vagrant's own boot_timeout applies per machine.
      timeoutMs: 45 * 60_000,
      ...(signal ? { signal } : {}),
    });
  }

  /** Whether Vagrant has made any machine here yet (`vagrant status` fails without a Vagrantfile). */
  hasMachines(): boolean {
    return existsSync(join(this.dir, '.vagrant', 'machines'));
  }

  async status(): Promise<MachineStatus[]> {
    const { lines } = await this.run(vagrantArgs.status());
    const machines = new Map<string, { state?: string; provider?: string }>();
    for (const line of lines) {
      if (!line.target) continue;
      const entry = machines.get(line.target) ?? {};
      if (line.type === 'state') entry.state = line.data[0];
      if (line.type === 'provider-name') entry.provider = line.data[0];
      machines.set(line.target, entry);
    }
    return [...machines].map(([machine, e]) => ({
      machine,
      state: e.state ?? 'unknown',
      provider: e.provider ?? 'unknown',
    }));
  }

  async sshConfig(machines: readonly string[]): Promise<VagrantSshSettings[]> {
    return parseSshConfig((await this.run(vagrantArgs.sshConfig(machines))).stdout);
  }

  async destroy(signal?: AbortSignal): Promise<void> {
    await this.run(vagrantArgs.destroy(), { timeoutMs: 10 * 60_000, ...(signal ? { signal } : {}) });
  }

  async boxes(): Promise<{ name: string; provider: string; version: string }[]> {
    const { lines } = await this.run(vagrantArgs.boxList());
    const boxes: { name: string; provider: string; version: string }[] = [];
    for (const line of lines) {
      if (line.type === 'box-name') boxes.push({ name: line.data[0] ?? '', provider: '', version: '' });
      const last = boxes[boxes.length - 1];
      if (line.type === 'box-provider' && last) last.provider = line.data[0] ?? '';
      if (line.type === 'box-version' && last) last.version = line.data[0] ?? '';
    }
    return boxes;
  }

  async boxAdd(name: string, file: string): Promise<void> {
    await this.run(vagrantArgs.boxAdd(name, file), { timeoutMs: 30 * 60_000 });
  }
}
