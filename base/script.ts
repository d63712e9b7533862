// A POSIX sh script from lines. Every script starts with `set -eu`: a failing command
// or a misspelt variable stops it instead of running on with a half-done step. A
// command whose failure is an answer (a probe) must say so (`|| true`, `if`, `&&`).
export function script(...lines: readonly string[]): string {
  return ['set -eu', ...lines].join('\n');
}
