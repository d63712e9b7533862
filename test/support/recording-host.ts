// A host that runs nothing: it records every command and upload a phase makes (a
// `{host, cmd}` transcript) and answers from a responder, so the phases' commands can
// be checked (shellcheck) without a machine. Two responders cover both branches of
// the phases' probes: a fresh host (nothing there, every probe fails) and a prepared
// one (everything there, every probe succeeds).
import type {
  ExecOptions,
  ExecResult,
  RemoteShell,
  UploadOptions,
  UploadResult,
  UploadSource,
} from '../../ssh/remote-shell.js';

export interface Recorded {
  readonly host: string;
  readonly cmd: string;
  /** Whether it came with data on stdin (a script may read it). */
  readonly stdin: boolean;
}

export interface Answer {
  readonly code?: number;
  readonly stdout?: string;
  /** This answer is what a wait on the command waits for; a wait given any other answer fails at once. */
  readonly settles?: boolean;
}

/**
 * Shared by a run's hosts: set when a phase says it is waiting (waitFor's note), so the
 * next command is the wait's probe. A fake host cannot bring a state about, so a wait
 * the responder does not settle fails there instead of polling for minutes.
 */
export interface WaitState {
  pending: boolean;
}

/** `expectsFailure`: the caller reads a non-zero exit as an answer (check: false). */
export type Responder = (command: string, expectsFailure: boolean) => Answer;

/** A guard against a loop the phases might add: no real run asks one host the same thing this often. */
const REPEAT_LIMIT = 20;

export class RecordingShell implements RemoteShell {
  readonly uploads: { host: string; target: string; content: string }[] = [];
  private readonly asked = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly transcript: Recorded[],
    private readonly respond: Responder,
    private readonly waits: WaitState,
  ) {}

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.transcript.push({ host: this.name, cmd: command, stdin: options.stdin !== undefined });
    const times = (this.asked.get(command) ?? 0) + 1;
    this.asked.set(command, times);
    if (times > REPEAT_LIMIT) throw new Error(`${this.name}: asked ${command} ${times} times`);
    const waiting = this.waits.pending;
    this.waits.pending = false;
    const answer = this.respond(command, options.check === false);
    if (waiting && !answer.settles)
      throw new Error(`${this.name}: a wait on ${command} that this fake host does not settle`);
    const result = {
      command,
      code: answer.code ?? 0,
      signal: undefined,
      stdout: answer.stdout ?? '',
      stderr: '',
      durationMs: 0,
    };
    if (result.code !== 0 && (options.check ?? true)) throw new Error(`${this.name}: ${command} exited ${result.code}`);
    return result;
  }

  async upload(source: UploadSource, target: string, _options: UploadOptions): Promise<UploadResult> {
    this.uploads.push({
      host: this.name,
      target,
      content: 'content' in source ? source.content.toString() : `(file ${source.path})`,
    });
    return { changed: true, sha256: '' };
  }

  redact(): void {}
}
