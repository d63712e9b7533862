import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { providerLeftovers } from '../../vagrant/leftovers.js';
import { loadClusterSpec } from '../cluster-spec.js';
import { confirm } from '../confirm.js';
import { EXIT } from '../exit-codes.js';
import { InvalidInputError } from '../phase-run.js';
import { printWarnings } from '../report.js';
import { workDir } from '../workdir.js';

export interface DestroyFlags {
  readonly file?: string;
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

/**
 * `vagrant destroy`, then a check with the provider itself that no VM or disk of the
 * cluster is left, then the cluster's local state (rendered files, known host keys,
 * kubeconfig, logs) is removed. Asks first on a terminal.
 */
export async function destroyCommand(flags: DestroyFlags): Promise<number> {
  const { model, warnings } = await loadClusterSpec(flags.file);
  printWarnings(warnings, flags);
  const provider = model.machines.provider;
  if (provider === 'existing') {
    throw new InvalidInputError(`cluster ${model.name} runs on existing hosts, which kubestrap does not own; use kubestrap reset to take Kubernetes off them`);
  }
  const dir = workDir(model.name);
  if (!flags.yes) {
    const stop = await confirm(`Destroy ${model.nodes.map((n) => n.name).join(', ')} of cluster ${model.name} (${provider}) and their disks?`, `destroy deletes the machines of cluster ${model.name} and their disks`);
    if (stop !== undefined) return stop;
  }
  const started = Date.now();
  if (existsSync(join(dir, 'Vagrantfile'))) {
    const { vagrantDriver } = await import('../machines.js');
    await vagrantDriver(model, flags.verbose ?? false).destroy();
  }
  const left = await providerLeftovers(provider, model.name, model.machines.libvirt.storagePool, dir);
  if (left.length) {
    const message = `vagrant destroy finished but ${provider} still holds:\n${left.map((l) => `  - ${l}`).join('\n')}\nRemove them by hand (virsh undefine/vol-delete, or VBoxManage unregistervm --delete); the working directory ${dir} was kept.`;
    if (flags.json) process.stdout.write(`${JSON.stringify({ ok: false, leftovers: left })}\n`);
    else process.stderr.write(`kubestrap: ${message}\n`);
    return EXIT.failure;
  }
  await rm(dir, { recursive: true, force: true });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, cluster: model.name, destroyed: model.nodes.map((n) => n.name), removed: dir, seconds: Number(seconds) })}\n`);
  else process.stdout.write(`Destroyed ${model.nodes.map((n) => n.name).join(', ')} (${provider}) in ${seconds} s; nothing of cluster ${model.name} is left in ${provider}; removed ${dir}\n`);
  return EXIT.ok;
}
