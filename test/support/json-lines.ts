// What `kubestrap … --json` prints: one JSON object per line. The spec's warnings come
// first (type "warning"; the test hosts run an end-of-life minor, see cluster.ts), then
// the command's events, the result last.

export interface JsonLine {
  readonly type?: string;
  readonly [field: string]: unknown;
}

/** Every line parsed; a line that is not a JSON object throws, naming it. */
export function jsonLines(stdout: string): JsonLine[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const value: unknown = JSON.parse(line);
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new Error(`not a JSON object line: ${line}`);
      return value as JsonLine;
    });
}

/** The lines after the spec's warnings. */
export function jsonEvents(stdout: string): JsonLine[] {
  const lines = jsonLines(stdout);
  const first = lines.findIndex((line) => line.type !== 'warning');
  return first === -1 ? [] : lines.slice(first);
}

/** The command's result: the last line, once every earlier line is a spec warning. */
export function jsonResult<T>(stdout: string): T {
  const lines = jsonLines(stdout);
  const stray = lines.slice(0, -1).filter((line) => line.type !== 'warning');
  if (stray.length > 0) throw new Error(`expected only warnings before the result, got: ${JSON.stringify(stray)}`);
  const last = lines.at(-1);
  if (last === undefined) throw new Error('no JSON line printed');
  return last as T;
}

/** The titles of the phases the run went through, in order. */
export function phaseTitles(stdout: string): string[] {
  return jsonLines(stdout)
    .filter((line) => line.type === 'phase')
    .map((line) => String(line.phase));
}
