import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { providerLeftovers } from '../../vagrant/leftovers.js';
import { loadClusterSpec } from '../cluster-spec.js';
import { EXIT } from '../exit-codes.js';
import { ProviderNotReady } from '../phase-run.js';
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
    throw new ProviderNotReady(`cluster ${model.name} runs on existing hosts, which kubestrap does not own; use kubestrap reset to take Kubernetes off them`);
  }
  const dir = workDir(model.name);
  if (!flags.yes) {
    if (!process.stdin.isTTY) {
      process.stderr.write(`kubestrap: destroy deletes the machines of cluster ${model.name} and their disks; pass --yes to confirm when not on a terminal\n`);
      return EXIT.invalidInput;
    }
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question(`Destroy ${model.nodes.map((n) => n.name).join(', ')} of cluster ${model.name} (${provider}) and their disks? [y/N] `);
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) return EXIT.failure;
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
