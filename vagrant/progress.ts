// `vagrant up --machine-readable` lines → what each machine is doing, for the live view
// and the --json stream. Vagrant's wording differs per provider; the stage is coarse on
// purpose and the message carries Vagrant's own words.
import type { MachineReadableLine } from './machine-readable.js';

export type MachineStage = 'importing' | 'booting' | 'waiting for SSH' | 'configuring' | 'ready';

export interface MachineEvent {
  readonly machine: string;
  readonly stage?: MachineStage;
  /** Vagrant's message without its `==> name:` prefix. */
  readonly message?: string;
}

const STAGES: readonly [RegExp, MachineStage][] = [
  [/Importing base box|Uploading base box|Creating image|Cloning VM|Matching MAC address/i, 'importing'],
  [
    new RegExp(
      'Creating domain|Starting domain|Booting VM|Resuming suspended|' +
        'Domain is already running|Machine already provisioned',
      'i',
    ),
    'booting',
  ],
  [/Waiting for (machine|domain) to boot|Waiting for domain to get an IP/i, 'waiting for SSH'],
  [/Machine booted and ready|Setting hostname|Configuring and enabling network/i, 'configuring'],
];

function strip(text: string, machine: string): string {
  const prefix = new RegExp(`^(==> |    )${machine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ?`, 'gm');
  return text.replace(prefix, '').trim();
}

export function machineEvent(line: MachineReadableLine): MachineEvent | undefined {
  if (!line.target) return undefined;
  if (line.type === 'action' && line.data[0] === 'up' && line.data[1] === 'end')
    return { machine: line.target, stage: 'ready' };
  if (line.type !== 'ui') return undefined;
  const [level, text = ''] = line.data;
  // Settings listings (" -- Cpus: 2") and retries are noise in a progress view.
  if (level === 'detail' || / -- /.test(text)) return undefined;
  const message = strip(text, line.target).split('\n')[0]!;
  const stage = STAGES.find(([pattern]) => pattern.test(message))?.[1];
  return { machine: line.target, ...(stage ? { stage } : {}), message };
}

/** Vagrant's own error text from an `error-exit` line, when the output has one. */
export function errorExit(lines: readonly MachineReadableLine[]): string | undefined {
  const line = lines.find((l) => l.type === 'error-exit');
  return line ? line.data.slice(1).join(',').trim() : undefined;
}
