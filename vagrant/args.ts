// The argv of every Vagrant command kubestrap runs, as pure functions so that they are
// table-tested; driver.ts is the only place that runs them.
import type { Provider } from './requirements.js';

export const vagrantArgs = {
  /** libvirt can boot machines in parallel; VirtualBox cannot (it ignores --parallel). */
  up: (machines: readonly string[], provider: Provider, parallel: boolean): string[] => [
    'up',
    `--provider=${provider}`,
    parallel ? '--parallel' : '--no-parallel',
    '--no-provision',
    '--machine-readable',
    ...machines,
  ],
  status: (): string[] => ['status', '--machine-readable'],
  sshConfig: (machines: readonly string[]): string[] => ['ssh-config', ...machines],
  destroy: (): string[] => ['destroy', '--force', '--machine-readable'],
  boxList: (): string[] => ['box', 'list', '--machine-readable'],
  boxAdd: (name: string, file: string): string[] => [
    'box',
    'add',
    '--force',
    '--machine-readable',
    '--name',
    name,
    file,
  ],
} as const;
