// A phase's hands on one host. Probes always run; changes go through change() and
// putFile(), which under --dry-run record what would happen (commands, file diffs)
// instead of doing it — the same code path either way. After Ctrl-C (the signal) a step
// sends nothing more: every call throws the abort before it reaches the host.
import { createTwoFilesPatch } from 'diff';
import type { ExecOptions, ExecResult } from '../ssh/remote-shell.js';
import { parseFileProbe, probeFileScript } from '../ssh/remote-command.js';
import { shellQuote } from '../base/quote.js';
import type { PhaseHost } from './phase-host.js';
import { sha256 } from '../base/digest.js';

export type Change = (
  | { readonly kind: 'command'; readonly description: string; readonly command: string }
  | { readonly kind: 'file'; readonly description: string; readonly target: string; readonly diff: string }
) & {
  /** The host it is made on when that is not the item's own (a join's commands on the control plane). */
  readonly on?: string;
};

export interface FileOptions {
  readonly mode: number;
  readonly owner?: string;
  /** The content is a secret: --dry-run shows no diff, only that the file would be written. */
  readonly secret?: boolean;
}

/** Files larger than this are compared by hash only; their diff would be noise. */
const DIFF_LIMIT = 256 * 1024;

const NEVER = new AbortController().signal;

export class HostStep<H extends PhaseHost = PhaseHost> {
  constructor(
    readonly host: H,
    readonly dryRun: boolean,
    private readonly onOutput: (line: string) => void = () => {},
    readonly changes: Change[] = [],
    /** Ctrl-C: waits end, and no probe, change or upload is sent after it. */
    readonly signal: AbortSignal = NEVER,
    /** The host a change made through `elsewhere` runs on, for the dry-run report. */
    private readonly on?: string,
  ) {}

  private record(change: Change): void {
    this.changes.push(this.on ? { ...change, on: this.on } : change);
  }

  /**
   * The same step acting on another host (a join runs commands on the control plane):
   * its changes count as this host's, and --dry-run holds for it too.
   */
  elsewhere<O extends PhaseHost>(other: O): HostStep<O> {
    const onOutput = (line: string) => this.onOutput(`${other.name}: ${line}`);
    return new HostStep(other, this.dryRun, onOutput, this.changes, this.signal, other.name);
  }

  /** Read-only command: runs under --dry-run too. */
  async probe(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.signal.throwIfAborted();
    return this.host.ssh.exec(command, options);
  }

  /** A command that changes the host; under --dry-run only recorded. */
  async change(description: string, command: string, options: ExecOptions = {}): Promise<ExecResult | undefined> {
    this.record({ kind: 'command', description, command: options.label ?? command });
    this.onOutput(description);
    if (this.dryRun) return undefined;
    this.signal.throwIfAborted();
    return this.host.ssh.exec(command, options);
  }

  /** Puts a file in place (atomically) unless the host already has exactly it. */
  async putFile(target: string, content: string, options: FileOptions): Promise<boolean> {
    const want = sha256(content);
    const mode = options.mode.toString(8);
    const owner = options.owner ?? 'root:root';
    const remote = parseFileProbe((await this.probe(probeFileScript(target), { label: `probe ${target}` })).stdout);
    const have = remote?.sha256 ?? '';
    const [haveMode, haveOwner, haveSize] = [remote?.mode, remote?.owner, remote?.size];
    if (have === want && haveMode === mode && haveOwner === owner) return false;
    let diff = `${target}: mode ${haveMode ?? '(new)'} → ${mode}, owner ${haveOwner ?? '(new)'} → ${owner}`;
    if (options.secret) diff = `${target}: secret content (${content.length} bytes), mode ${mode}`;
    else if (have !== want) {
      const small = content.length <= DIFF_LIMIT && Number(haveSize ?? 0) <= DIFF_LIMIT;
      const old =
        have && small ? (await this.probe(`cat ${shellQuote(target)}`, { label: `read ${target}` })).stdout : '';
      diff = small
        ? createTwoFilesPatch(have ? target : '/dev/null', target, old, content, undefined, undefined, { context: 3 })
        : `${target}: ${have || '(new)'} → ${want} (too large to diff)`;
    }
    this.record({ kind: 'file', description: `write ${target}`, target, diff });
    this.onOutput(`write ${target}`);
    this.signal.throwIfAborted();
    if (!this.dryRun)
      await this.host.ssh.upload({ content }, target, { mode: options.mode, owner, known: 'different' });
    return true;
  }

  /**
   * A change on the user's machine (a kubeconfig written). `action(dryRun)` reports
   * whether it changed (or, under --dry-run, would change) anything, and must not
   * write under --dry-run.
   */
  async local(description: string, action: (dryRun: boolean) => Promise<boolean>): Promise<void> {
    if (await action(this.dryRun)) {
      this.record({ kind: 'command', description, command: `(on this machine) ${description}` });
      this.onOutput(description);
    }
  }

  /**
   * A change made by a transfer to the host (a large upload) rather than a command;
   * `action` reports whether it changed anything. Under --dry-run only recorded.
   */
  async transfer(description: string, action: () => Promise<boolean>): Promise<void> {
    this.onOutput(description);
    if (this.dryRun) {
      this.record({ kind: 'command', description, command: `(transfer) ${description}` });
      return;
    }
    this.signal.throwIfAborted();
    if (await action()) this.record({ kind: 'command', description, command: `(transfer) ${description}` });
  }

  note(line: string): void {
    this.onOutput(line);
  }
}
