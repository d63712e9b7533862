// Errors from the SSH layer. Each names the host and says what to do next; the
// runner's failure summary prints them as they are.

export class SshError extends Error {
  readonly exitCode: number = 1;
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${message}`, options);
    this.name = 'SshError';
  }
}

/** Could not connect: the network (after the last retry) or the login (at once). */
export class ConnectError extends SshError {
  override name = 'ConnectError';
  constructor(
    host: string,
    message: string,
    readonly failure: 'network' | 'login',
    options?: { cause?: unknown },
  ) {
    super(host, message, options);
  }
}

/**
 * The host never answered: no connection was ever made to it in this run, so nothing
 * was lost and nothing is worth re-running; the address, the port or the host is wrong or down.
 */
export class HostUnreachableError extends ConnectError {
  override name = 'HostUnreachableError';
  constructor(
    host: string,
    readonly address: string,
    readonly port: number,
    readonly dialError: string,
    tries: string,
    options?: { cause?: unknown },
  ) {
    super(
      host,
      `unreachable at ${address} port ${port}: ${dialError} (${tries}; it never answered). ` +
        `Check that the host is up, the address and port in the spec are right, and sshd listens there`,
      'network',
      options,
    );
  }
}

/** Ctrl-C: the command was ended, or never sent; the run stops and can be resumed by re-running it. */
export class InterruptedError extends SshError {
  override name = 'InterruptedError';
  override readonly exitCode = 130;
}

/** The connection died under a running command; the command's outcome is unknown. */
export class ConnectionLostError extends SshError {
  override name = 'ConnectionLostError';
}

/**
 * The host presented a key that is not among those recorded for it, of any type (a host
 * known by its ed25519 key offering only ssh-rsa is a changed key, not a new one).
 */
export class HostKeyMismatchError extends SshError {
  override name = 'HostKeyMismatchError';
  constructor(
    host: string,
    readonly address: string,
    /** `type SHA256:…` of each recorded key, with `file:line`. */
    readonly recorded: readonly string[],
    /** `type SHA256:…`, or what the host offered when no key type could be agreed. */
    readonly offered: string,
    /** The commands that forget the recorded keys. */
    readonly fixes: readonly string[],
  ) {
    super(
      host,
      `host key changed for ${address}: it offered ${offered}, but the recorded key(s) are ` +
        `${recorded.join('; ')}. This is either a recreated machine (Vagrant reuses IPs) or someone in ` +
        `the middle. If you recreated it, forget the old key with: ${fixes.join(' and ')}`,
    );
  }
}

/** The host presented a key a known_hosts file marks @revoked. */
export class HostKeyRevokedError extends SshError {
  override name = 'HostKeyRevokedError';
  constructor(host: string, address: string, offered: string, where: string) {
    super(
      host,
      `host key ${offered} of ${address} is marked @revoked in ${where}; kubestrap will not connect. ` +
        `Give the host a new key, or remove the @revoked line if the revocation is wrong`,
    );
  }
}

export class SudoPasswordError extends SshError {
  override name = 'SudoPasswordError';
  constructor(host: string, user: string) {
    super(
      host,
      `sudo asks ${user} for a password; kubestrap runs sudo -n. ` +
        `Give ${user} passwordless sudo (NOPASSWD in /etc/sudoers.d) or connect as root`,
    );
  }
}

export interface CommandOutcome {
  readonly command: string;
  readonly code: number | null;
  readonly signal?: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** The last lines, and of a very long last line (a runaway command's output) only its end. */
function tail(text: string, lines = 15, chars = 4096): string {
  const last = text.trimEnd().split('\n').slice(-lines).join('\n');
  return last.length > chars ? `[...]${last.slice(-chars)}` : last;
}

export function describeOutput(outcome: CommandOutcome): string {
  const output = tail(`${outcome.stdout}${outcome.stderr ? `\n${outcome.stderr}` : ''}`.trim());
  return output ? `\n--- last output ---\n${output}` : ' (no output)';
}

export class CommandFailedError extends SshError {
  override name = 'CommandFailedError';
  constructor(
    host: string,
    readonly outcome: CommandOutcome,
  ) {
    const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited ${outcome.code}`;
    super(host, `\`${outcome.command}\` ${how}${describeOutput(outcome)}`);
  }
}

export class CommandTimeoutError extends SshError {
  override name = 'CommandTimeoutError';
  constructor(
    host: string,
    readonly outcome: CommandOutcome,
    readonly timeoutMs: number,
  ) {
    super(
      host,
      `\`${outcome.command}\` did not finish within ${Math.round(timeoutMs / 1000)} s${describeOutput(outcome)}`,
    );
  }
}
