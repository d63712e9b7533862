// One SSH host: one connection, reused for every command and upload, reopened on
// demand after it drops. Commands stream their output to the host log; channels per
// connection are capped below OpenSSH's MaxSessions (10).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { BoundedOutput } from './bounded-output.js';
import {
  CommandFailedError,
  CommandTimeoutError,
  ConnectError,
  ConnectionLostError,
  HostUnreachableError,
  InterruptedError,
  SshError,
  SudoPasswordError,
  type CommandOutcome,
} from './errors.js';
import type { HostLog } from './host-log.js';
import { HostKeyCheck } from './host-key-check.js';
import type { KnownHosts } from './known-hosts.js';
import type { Redactor } from './redact.js';
import type {
  ExecOptions,
  ExecResult,
  RemoteShell,
  UploadOptions,
  UploadResult,
  UploadSource,
} from './remote-shell.js';
import {
  atomicWriteScript,
  chmodChownCommand,
  parseFileProbe,
  probeFileScript,
  SUDO_WANTS_PASSWORD,
  wrapCommand,
} from './remote-command.js';
import { sha256 as sha256Of, sha256File } from '../base/digest.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey?: Buffer | string;
  readonly passphrase?: string;
  /** Path of an SSH agent socket (SSH_AUTH_SOCK). */
  readonly agent?: string;
}

export interface SshTarget extends Endpoint {
  /** The name errors and logs use (the node name). */
  readonly name: string;
  readonly bastion?: Endpoint;
}

export interface SshHostOptions {
  readonly knownHosts: KnownHosts;
  readonly redactor: Redactor;
  readonly log?: HostLog;
  /** The command a user runs to forget a changed host key. */
  readonly forgetCommand?: (target: SshTarget) => string;
  readonly connectAttempts?: number;
  readonly connectBackoffMs?: number;
  readonly readyTimeoutMs?: number;
  readonly keepaliveIntervalMs?: number;
  readonly maxChannels?: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
]);

function isNetworkError(error: unknown): boolean {
  const e = error as { code?: string; level?: string; message?: string };
  return (
    (e.code !== undefined && NETWORK_ERRORS.has(e.code)) ||
    e.level === 'client-timeout' ||
    e.level === 'client-socket' ||
    /Timed out while waiting for handshake|Connection lost before handshake/.test(e.message ?? '')
  );
}

export class SshHost implements RemoteShell {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private bastion: Client | undefined;
  private readonly channels: LimitFunction;
  private readonly live = new Set<(error: Error) => void>();
  /** Aborted by interrupt(): nothing connects, nothing is sent, running commands end. */
  private readonly stop = new AbortController();
  /** Whether a connection was ever made: a host that never answered is unreachable, not lost. */
  private reached = false;

  constructor(
    readonly target: SshTarget,
    private readonly options: SshHostOptions,
  ) {
    this.channels = pLimit(options.maxChannels ?? 8);
  }

  get name(): string {
    return this.target.name;
  }

  get isRoot(): boolean {
    return this.target.user === 'root';
  }

  private log(marker: string, text: string): void {
    this.options.log?.line(marker, text);
  }

  private config(endpoint: Endpoint, sock: Socket | NodeJS.ReadWriteStream, check: HostKeyCheck): ConnectConfig {
    return {
      sock: sock as ConnectConfig['sock'],
      username: endpoint.user,
      ...(endpoint.privateKey !== undefined ? { privateKey: endpoint.privateKey } : {}),
      ...(endpoint.passphrase !== undefined ? { passphrase: endpoint.passphrase } : {}),
      ...(endpoint.agent !== undefined ? { agent: endpoint.agent } : {}),
      hostVerifier: check.verify,
      ...(check.algorithms ? { algorithms: { serverHostKey: check.algorithms } } : {}),
      readyTimeout: this.options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: this.options.keepaliveIntervalMs ?? 5_000,
      keepaliveCountMax: 3,
    };
  }

  /** A TCP socket with Nagle off: request/response round trips drop from ~45 ms to ~2.5 ms. */
  private socket(endpoint: Endpoint): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host: endpoint.address, port: endpoint.port });
      socket.setNoDelay(true);
      const timer = setTimeout(
        () =>
          socket.destroy(
            Object.assign(new Error(`TCP connect to ${endpoint.address}:${endpoint.port} timed out`), {
              code: 'ETIMEDOUT',
            }),
          ),
        this.options.readyTimeoutMs ?? 20_000,
      );
      const abort = () => socket.destroy(this.interruptedError('while connecting'));
      this.stop.signal.addEventListener('abort', abort, { once: true });
      socket.once('connect', () => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', abort);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', abort);
        reject(error);
      });
    });
  }

  private handshake(endpoint: Endpoint, sock: Socket | NodeJS.ReadWriteStream): Promise<Client> {
    const isTarget = endpoint === this.target;
    const check = new HostKeyCheck(this.options.knownHosts, endpoint, {
      host: this.name,
      node: isTarget ? this.name : undefined,
      forget: isTarget
        ? (this.options.forgetCommand?.(this.target) ?? `kubestrap forget-host ${this.name}`)
        : undefined,
    });
    return new Promise((resolve, reject) => {
      const client = new Client();
      const abort = () => {
        client.destroy();
        reject(this.interruptedError('while logging in'));
      };
      this.stop.signal.addEventListener('abort', abort, { once: true });
      // Settled by 'ready' or the first error; later errors belong to the connection's own listener.
      let settled = false;
      client.once('ready', () => {
        settled = true;
        this.stop.signal.removeEventListener('abort', abort);
        // Recorded only now: ssh2 asks the verifier before it checks the host's signature.
        const trusted = check.trustIfNew();
        if (trusted) this.log('#', `trusted new host key ${trusted} for ${endpoint.address}:${endpoint.port}`);
        resolve(client);
      });
      // `on`, not `once`: a failed handshake can be followed by the socket's own error (the
      // host resets the connection), and an 'error' with no listener would crash the process.
      client.on('error', (error) => {
        if (settled) return;
        settled = true;
        this.stop.signal.removeEventListener('abort', abort);
        reject(check.failure(error) ?? error);
        client.destroy();
      });
      client.connect(this.config(endpoint, sock, check));
    });
  }

  private async connectOnce(): Promise<Client> {
    const { bastion } = this.target;
    if (!bastion) return this.handshake(this.target, await this.socket(this.target));
    const jump = await this.handshake(bastion, await this.socket(bastion));
    this.bastion = jump;
    const stream = await new Promise<ClientChannel>((resolve, reject) =>
      jump.forwardOut('127.0.0.1', 0, this.target.address, this.target.port, (error, channel) =>
        error ? reject(error) : resolve(channel),
      ),
    );
    return this.handshake(this.target, stream);
  }

  /** The open connection, connecting (with bounded retries on network errors) if needed. */
  connection(): Promise<Client> {
    if (this.stop.signal.aborted) return Promise.reject(this.interruptedError('before connecting'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connectWithRetries().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectWithRetries(): Promise<Client> {
    const attempts = this.options.connectAttempts ?? 5;
    let backoff = this.options.connectBackoffMs ?? 500;
    const started = Date.now();
    const where =
      `${this.target.user}@${this.target.address}:${this.target.port}` +
      `${this.target.bastion ? ` via ${this.target.bastion.address}` : ''}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const client = await this.connectOnce();
        if (this.stop.signal.aborted) {
          client.destroy();
          throw this.interruptedError('while connecting');
        }
        this.adopt(client);
        this.reached = true;
        this.log('#', `connected to ${where}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
        return client;
      } catch (error) {
        this.bastion?.end();
        this.bastion = undefined;
        if (this.stop.signal.aborted) throw this.interruptedError('while connecting');
        if (error instanceof SshError) throw error;
        const reason = (error as Error).message;
        if (!isNetworkError(error)) {
          throw new ConnectError(
            this.name,
            `cannot log in to ${where}: ${reason}. Check the user and key (or agent) for this host`,
            'login',
            { cause: error },
          );
        }
        if (attempt >= attempts && !this.reached) {
          const seconds = Math.round((Date.now() - started) / 1000);
          const via = this.target.bastion ? ` via ${this.target.bastion.address}` : '';
          throw new HostUnreachableError(
            this.name,
            this.target.address,
            this.target.port,
            reason,
            `attempt ${attempt} of ${attempts}, the last, after ${seconds} s${via}`,
            { cause: error },
          );
        }
        if (attempt >= attempts) {
          throw new ConnectError(
            this.name,
            `cannot connect to ${where}: ${reason} (attempt ${attempt} of ${attempts}, the last; ` +
              `is the host up and sshd listening?)`,
            'network',
            { cause: error },
          );
        }
        this.log('#', `connect attempt ${attempt} of ${attempts} failed: ${reason}; retrying in ${backoff} ms`);
        await delay(backoff, undefined, { signal: this.stop.signal }).catch(() => {
          throw this.interruptedError('while waiting to reconnect');
        });
        backoff = Math.min(backoff * 2, 8_000);
      }
    }
  }

  private adopt(client: Client): void {
    this.client = client;
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.bastion?.end();
      this.bastion = undefined;
      for (const fail of this.live)
        fail(
          new ConnectionLostError(
            this.name,
            'connection lost while a command was running; it may or may not have finished',
          ),
        );
    };
    client.on('close', lost);
    client.on('error', (error) => this.log('#', `connection error: ${error.message}`));
  }

  private interruptedError(when: string): InterruptedError {
    return new InterruptedError(this.name, `interrupted (Ctrl-C) ${when}; nothing more is sent to this host`);
  }

  /**
   * Ctrl-C: ends the connection and every running command at once, and refuses every
   * later command and connection (no reconnect), so nothing reaches the host after it.
   */
  interrupt(): void {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    this.log('#', 'interrupted (Ctrl-C): connection closed, no further commands');
    const error = this.interruptedError('while a command was running; it may or may not have finished');
    for (const fail of [...this.live]) fail(error);
    const client = this.client;
    this.client = undefined;
    client?.destroy();
    this.bastion?.destroy();
    this.bastion = undefined;
  }

  /** Registers secrets learnt at run time (a token a command printed) for redaction. */
  redact(...secrets: string[]): void {
    this.options.redactor.add(...secrets);
  }

  /** Runs a command; resolves with its outcome, throws on failure unless check is false. */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.options.redactor.add(...(options.secrets ?? []));
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const sudo = options.sudo ?? !this.isRoot;
    const shown = this.options.redactor.apply(options.label ?? command);
    const wrapped = wrapCommand(command, { sudo: sudo && !this.isRoot, timeoutSeconds: timeoutMs / 1000 });
    const client = await this.connection();
    // A command queued for a channel slot when Ctrl-C came must not be sent after it.
    const result = await this.channels(() =>
      this.stop.signal.aborted
        ? Promise.reject(this.interruptedError('before sending a command'))
        : this.run(client, wrapped, shown, timeoutMs, options),
    );
    if (SUDO_WANTS_PASSWORD.test(result.stderr) && result.code !== 0)
      throw new SudoPasswordError(this.name, this.target.user);
    if (result.code !== 0 && (options.check ?? true))
      throw new CommandFailedError(this.name, {
        ...result,
        stdout: options.hideOutput ? '[output hidden]' : result.stdout,
      });
    return result;
  }

  private run(
    client: Client,
    wrapped: string,
    shown: string,
    timeoutMs: number,
    options: ExecOptions,
  ): Promise<ExecResult> {
    const redact = (text: string) => this.options.redactor.apply(text);
    const started = Date.now();
    this.log('$', shown);
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout = new BoundedOutput();
      const stderr = new BoundedOutput();
      let code: number | null = null;
      let signal: string | undefined;
      let settled = false;
      const outcome = (): CommandOutcome => ({
        command: shown,
        code,
        signal,
        stdout: options.hideOutput ? '[output hidden]' : redact(stdout.text()),
        stderr: redact(stderr.text()),
      });
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.live.delete(onLost);
        // What came after the head is logged once the command ends: bounded, with the marker.
        const [out, err] = [options.hideOutput ? '' : stdout.rest(), stderr.rest()];
        if (out) this.log('|', out);
        if (err) this.log('!', err);
        // Stop reading a file into a channel that will take no more.
        if (error && options.stdin instanceof Readable) options.stdin.destroy();
        if (error) reject(error);
        else {
          this.log('=', `exit ${code ?? `signal ${signal}`} after ${Date.now() - started} ms`);
          // Hidden output is returned to the caller but never logged or put in errors.
          resolve({
            ...outcome(),
            ...(options.hideOutput ? { stdout: stdout.text() } : {}),
            durationMs: Date.now() - started,
          });
        }
      };
      const onLost = (error: Error) => finish(error);
      this.live.add(onLost);
      const timer = setTimeout(() => {
        this.log('!', `timed out after ${timeoutMs} ms`);
        finish(new CommandTimeoutError(this.name, outcome(), timeoutMs));
        channel?.close();
      }, timeoutMs);
      let channel: ClientChannel | undefined;
      // Listeners go on inside ssh2's callback: the exit status can arrive in the same
      // read as the channel's confirmation, before any later microtask would run.
      this.openChannel(client, wrapped, (stream) => {
        if (settled) return void stream.close();
        channel = stream;
        // The head is logged as it comes (a long command can be followed in its log); the
        // caller's onOutput (kubestrap ssh) streams everything, since it keeps nothing.
        stream.on('data', (chunk: Buffer) => {
          const head = stdout.add(chunk);
          if (options.hideOutput) return;
          if (head.length) this.log('|', head.toString('utf8'));
          options.onOutput?.(redact(chunk.toString('utf8')), 'stdout');
        });
        stream.stderr.on('data', (chunk: Buffer) => {
          const head = stderr.add(chunk);
          if (head.length) this.log('!', head.toString('utf8'));
          options.onOutput?.(redact(chunk.toString('utf8')), 'stderr');
        });
        stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = exitCode;
          if (exitSignal) signal = exitSignal;
        });
        stream.on('close', () => finish());
        const input = options.stdin;
        if (input === undefined) stream.end();
        else if (input instanceof Readable) input.pipe(stream);
        else stream.end(input);
      }).catch((error: Error) => finish(error));
    });
  }

  /**
   * Opens an exec channel. sshd frees a session slot a moment after the channel closes,
   * so a refused open (the command never started) is retried briefly.
   */
  private async openChannel(client: Client, command: string, setup: (stream: ClientChannel) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Promise<void>((resolve, reject) =>
          client.exec(command, (error, stream) => {
            if (error) return reject(error);
            setup(stream);
            resolve();
          }),
        );
      } catch (error) {
        const refused = /Channel open failure/.test((error as Error).message);
        if (refused && attempt < 20 && this.client === client) {
          await delay(25 * attempt);
          continue;
        }
        const hint = refused
          ? ` after ${attempt} tries; is sshd's MaxSessions below ${this.options.maxChannels ?? 8}?`
          : '';
        throw new ConnectionLostError(this.name, `cannot open a channel: ${(error as Error).message}${hint}`, {
          cause: error,
        });
      }
    }
  }

  /**
   * Writes a file atomically with mode and owner; skipped when the host already has
   * those bytes. Data is hashed while it streams (bounded memory, one read).
   */
  async upload(source: UploadSource, target: string, options: UploadOptions): Promise<UploadResult> {
    const owner = options.owner ?? 'root:root';
    const mode = options.mode.toString(8);
    const size = 'content' in source ? Buffer.byteLength(source.content) : (await stat(source.path)).size;
    if (options.known !== 'different') {
      const remote = parseFileProbe(
        (await this.exec(probeFileScript(target), { label: `probe ${target}`, timeoutMs: 10 * 60_000 })).stdout,
      );
      // Only a file of the same size can be the same; hash ours only then.
      if (remote?.size === size) {
        const sha256 = 'content' in source ? sha256Of(source.content) : await sha256File(source.path);
        if (remote.sha256 === sha256) {
          if (remote.mode !== mode || remote.owner !== owner) {
            await this.exec(chmodChownCommand(target, options.mode, owner), { label: `chmod/chown ${target}` });
          }
          return { changed: false, sha256 };
        }
      }
    }
    const hash = createHash('sha256');
    let sha256 = '';
    const data =
      'content' in source
        ? Readable.from([Buffer.from(source.content)])
        : createReadStream(source.path, { highWaterMark: 1024 * 1024 });
    const stdin = Readable.from(
      (async function* () {
        for await (const chunk of data) {
          hash.update(chunk as Buffer);
          yield chunk as Buffer;
        }
        sha256 = hash.digest('hex');
        yield Buffer.from(`${sha256}\n`);
      })(),
    );
    await this.exec(atomicWriteScript(target, size, options.mode, owner), {
      stdin,
      label: `upload ${target} (${size} bytes, mode ${mode})`,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    return { changed: true, sha256 };
  }

  /**
   * One request and its answer over a TCP connection the host itself opens (sshd's
   * direct-tcpip), for services only the host reaches: a Service's cluster IP through
   * kube-proxy, a daemon on its loopback. Reads until `complete` says the answer is
   * whole, the far end closes, or maxBytes; every wait is bounded and Ctrl-C ends it.
   */
  async exchange(
    address: string,
    port: number,
    request: Buffer,
    options: { readonly timeoutMs: number; readonly maxBytes: number; readonly complete: (answer: Buffer) => boolean },
  ): Promise<Buffer> {
    const client = await this.connection();
    const where = `${address}:${port}`;
    let channel: ClientChannel | undefined;
    let onLost: ((error: Error) => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        onLost = reject;
        this.live.add(onLost);
        timer = setTimeout(
          () => reject(new SshError(this.name, `no whole answer from ${where} within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
        client.forwardOut('127.0.0.1', 0, address, port, (error, opened) => {
          if (error)
            return reject(new SshError(this.name, `cannot connect to ${where} from the host: ${error.message}`));
          channel = opened;
          const chunks: Buffer[] = [];
          let size = 0;
          const settle = () => resolve(Buffer.concat(chunks, size));
          opened.on('data', (chunk: Buffer) => {
            const room = options.maxBytes - size;
            chunks.push(chunk.subarray(0, room));
            size += Math.min(chunk.length, room);
            if (size >= options.maxBytes || options.complete(Buffer.concat(chunks, size))) settle();
          });
          opened.on('close', settle);
          opened.on('error', (e: Error) => reject(new SshError(this.name, `${where}: ${e.message}`)));
          opened.write(request);
        });
      });
    } finally {
      clearTimeout(timer);
      if (onLost) this.live.delete(onLost);
      channel?.destroy();
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    client?.end();
    this.bastion?.end();
    this.bastion = undefined;
  }
}
