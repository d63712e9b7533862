// How a command is wrapped to run on a host: through sh, under a remote time limit
// (so a command outlives neither its timeout nor a dropped connection by much), and
// through `sudo -n` when the user is not root.
import { shellQuote } from '../templates/quote.js';

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
 * Stages stdin into a temp file beside the target, checks its sha256, sets mode and
 * owner, fsyncs, renames over the target and fsyncs the directory. An interrupted
 * upload leaves the old file as it was.
 */
export function atomicWriteScript(target: string, sha256: string, mode: number, owner?: string): string {
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
    'cat > "$tmp"',
    `if ! printf '%s  %s\\n' ${q(sha256)} "$tmp" | sha256sum -c --status; then echo "kubestrap: sha256 mismatch after upload of $target" >&2; exit 3; fi`,
    `chmod ${mode.toString(8).padStart(4, '0')} "$tmp"`,
    ...(owner ? [`chown ${q(owner)} "$tmp"`] : []),
    'sync "$tmp"',
    'mv -f "$tmp" "$target"',
    'trap - EXIT HUP INT TERM PIPE',
    'sync "$dir"',
  ].join('\n');
}

/** Prints the target's sha256, mode and owner, or nothing when it does not exist. */
export function probeFileScript(target: string): string {
  const q = shellQuote(target);
  return `if [ -f ${q} ]; then sha256sum ${q} | cut -d' ' -f1; stat -c '%a %U:%G' ${q}; fi`;
}
