// Vagrant's --machine-readable output: `timestamp,target,type,data…` per line, with
// commas in data written as %!(VAGRANT_COMMA) and newlines as \n.

export interface MachineReadableLine {
  readonly timestamp: number;
  readonly target: string;
  readonly type: string;
  readonly data: readonly string[];
}

function unescape(field: string): string {
  return field.replaceAll('%!(VAGRANT_COMMA)', ',').replaceAll('\\n', '\n').replaceAll('\\r', '\r');
}

export function parseMachineReadable(output: string): MachineReadableLine[] {
  return output
    .split('\n')
    .filter((line) => /^\d+,/.test(line))
    .map((line) => {
      const [timestamp = '0', target = '', type = '', ...data] = line.split(',');
      return { timestamp: Number(timestamp), target, type, data: data.map(unescape) };
    });
}
