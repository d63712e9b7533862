// Input the user must fix (a flag, a path, a bundle that does not fit, a provider this
// machine lacks): exit 2, and nothing was changed anywhere.
export class InvalidInputError extends Error {
  readonly exitCode = 2;
}

/** ` -f FILE` for commands the user is told to run next, when a spec file was given. */
export function specArgument(file: string | undefined): string {
  return file ? ` -f ${file}` : '';
}
