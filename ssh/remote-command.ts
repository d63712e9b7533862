// How a command is wrapped to run on a host: through sh, under a remote time limit
// (so a command outlives neither its timeout nor a dropped connection by much), and
// through `sudo -n` when the user is not root.
import { shellQuote } from '../base/quote.js';

export interface WrapOptions {
  readonly sudo: boolean;
  readonly timeoutSeconds?: number;
}

export function wrapCommand(command: string, options: WrapOptions): string {
  let wrapped = `sh -c ${shellQuote(command)}`;
  if (options.timeoutSeconds !== undefined) wrapped = `timeout -k 5 ${Math.ceil(options.timeoutSeconds)} ${wrapped}`;
  if (options.sudo) wrapped = `sudo -n -- ${wrapped}`;
  return wrapped;
}

export const SUDO_WANTS_PASSWORD = /^sudo: (a password is required|a terminal is required)/m;

/**
 * Receives exactly `size` bytes on stdin into a temp file beside the target while
 * hashing them, then reads the expected sha256 on the next line (the sender hashes
 * while sending, so neither side reads the data twice). A mismatch or a short file
 * fails; otherwise mode and owner are set, the file is fsynced and renamed over the
 * target, and the directory fsynced. An interrupted upload leaves the old file as it was.
 */
/**
 * Defines `digest` on the host: SHA-256 of stdin, hex first. OpenSSL's is several times
 * faster than coreutils' (no SHA extensions) and is on nearly every host; sha256sum is
 * the fallback.
 */
export const DIGEST_FUNCTION =
  'if command -v openssl >/dev/null 2>&1; then digest() { openssl dgst -sha256 -r; }; else digest() { sha256sum; }; fi';

export function atomicWriteScript(target: string, size: number, mode: number, owner?: string): string {
  const q = shellQuote;
  return [
    'set -eu',
    `target=${q(target)}`,
    'dir=$(dirname "$target")',
    'mkdir -p "$dir"',
    'tmp=$(mktemp "$dir/.kubestrap-upload.XXXXXX")',
    // A dropped connection closes our pipes: writing then raises SIGPIPE, which would
    // end the script before its EXIT trap; every way out removes the staged file.
    `trap 'rm -f "$tmp"' EXIT`,
    `trap 'rm -f "$tmp"; exit 1' HUP INT TERM PIPE`,
    DIGEST_FUNCTION,
    // dd with count_bytes never reads past the data, so the hash line stays on stdin.
    `got=$(dd iflag=fullblock,count_bytes count=${size} bs=1M status=none | tee "$tmp" | digest | cut -d' ' -f1)`,
    'IFS= read -r want',
    `if [ "$got" != "$want" ] || [ "$(stat -c %s "$tmp")" != ${size} ]; then ` +
      `echo "kubestrap: upload of $target arrived damaged (sha256 $got, expected $want)" >&2; exit 3; fi`,
    `chmod ${mode.toString(8).padStart(4, '0')} "$tmp"`,
    ...(owner ? [`chown ${q(owner)} "$tmp"`] : []),
    'sync "$tmp"',
    'mv -f "$tmp" "$target"',
    'trap - EXIT HUP INT TERM PIPE',
    'sync "$dir"',
  ].join('\n');
}

/** Prints the target's size, mode and owner, then its sha256; nothing when it does not exist. */
export function probeFileScript(target: string): string {
  const q = shellQuote(target);
  return `if [ -f ${q} ]; then stat -c '%s %a %U:%G' ${q}; sha256sum ${q} | cut -d' ' -f1; fi`;
}

/** Sets a file's mode and owner (an upload whose bytes were already there). */
export function chmodChownCommand(target: string, mode: number, owner: string): string {
  return (
    `chmod ${mode.toString(8).padStart(4, '0')} ${shellQuote(target)} && ` +
    `chown ${shellQuote(owner)} ${shellQuote(target)}`
  );
}

export interface RemoteFile {
  readonly size: number;
  /** Octal, as stat prints it (644, 600). */
  readonly mode: string;
  /** user:group */
  readonly owner: string;
  readonly sha256: string;
}

/** What probeFileScript printed; undefined when there is no such file. */
export function parseFileProbe(stdout: string): RemoteFile | undefined {
  const [meta = '', sha256 = ''] = stdout.trim().split('\n');
  if (!meta) return undefined;
  const [size = '', mode = '', owner = ''] = meta.split(' ');
  return { size: Number(size), mode, owner, sha256 };
}
