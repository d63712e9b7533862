// What the phases need of a host: run a command, put a file, keep a secret out of the
// logs. SshHost is the real one; the tests' recording host is another, so every
// command a phase builds can be checked without a host.
import type { Readable } from 'node:stream';
import type { CommandOutcome } from './errors.js';

export interface ExecOptions {
  /** Run through `sudo -n` (default: when the user is not root). */
  readonly sudo?: boolean;
  readonly timeoutMs?: number;
  /** Data for the command's stdin; the way to hand a command a secret. */
  readonly stdin?: string | Buffer | Readable;
  /** Strings to redact from logs, output and errors from now on. */
  readonly secrets?: readonly string[];
  /** Throw CommandFailedError on a non-zero exit (default true). */
  readonly check?: boolean;
  /** Show in logs instead of the command itself (e.g. when it carries a long script). */
  readonly label?: string;
  /** The output is a secret (a token, a kubeconfig): kept out of logs and errors, still returned. */
  readonly hideOutput?: boolean;
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
}

export interface ExecResult extends CommandOutcome {
  readonly durationMs: number;
}

export type UploadSource = { readonly content: string | Buffer } | { readonly path: string };

export interface UploadOptions {
  readonly mode: number;
  /** user:group; default root:root for root-owned paths through sudo. */
  readonly owner?: string;
  readonly timeoutMs?: number;
  /** The caller has already compared the remote file; write without probing again. */
  readonly known?: 'different';
}

export interface UploadResult {
  readonly changed: boolean;
  readonly sha256: string;
}

export interface RemoteShell {
  /** The name errors and logs use (the node name). */
  readonly name: string;
  /** Runs a command through `sh -c`; resolves with its outcome, throws on failure unless check is false. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Writes a file atomically with mode and owner; skipped when the host already has those bytes. */
  upload(source: UploadSource, target: string, options: UploadOptions): Promise<UploadResult>;
  /** Registers secrets learnt at run time (a token a command printed) for redaction. */
  redact(...secrets: string[]): void;
}
