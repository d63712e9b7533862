// The Vagrant side of a cluster: the machines as an engine stage (a row per machine
// with Vagrant's latest words), and `vagrant ssh-config` turned into SSH hosts.
import { execute, failureSummary, SkipItem, type ItemContext, type Stage } from '../engine/index.js';
import type { SshNodeHost } from '../provisioners/cluster-host.js';
import type { ClusterModel } from '../spec/model.js';
import type { SshPool } from '../ssh/pool.js';
import { VagrantDriver } from '../vagrant/driver.js';
import type { MachineEvent } from '../vagrant/progress.js';
import type { Provider } from '../vagrant/requirements.js';
import { readKeyWarning } from './ssh-keys.js';
import { workDir } from './workdir.js';

export function vagrantDriver(model: ClusterModel, verbose = false, signal?: AbortSignal): VagrantDriver {
  const echo = verbose ? (line: string) => void process.stderr.write(`vagrant: ${line}\n`) : undefined;
  return new VagrantDriver(workDir(model.name), process.env, echo, signal);
}

/** SSH hosts for the cluster's (running) machines, from `vagrant ssh-config`; all nodes unless `only` says. */
export async function machineHosts(
  model: ClusterModel,
  pool: SshPool,
  driver: VagrantDriver,
  only?: readonly string[],
): Promise<SshNodeHost[]> {
  const nodes = model.nodes.filter((n) => !only || only.includes(n.name));
  if (!nodes.length) return [];
  const settings = await driver.sshConfig(nodes.map((n) => n.name));
  return nodes.map((node) => {
    const s = settings.find((x) => x.machine === node.name);
    if (!s)
      throw new Error(
        `vagrant ssh-config has no entry for ${node.name} ` +
          `(is the machine created? kubestrap status shows the machines)`,
      );
    const target = {
      name: node.name,
      address: s.address,
      port: s.port,
      user: s.user,
      privateKey: readKeyWarning(s.keyPath),
    };
    return { name: node.name, node, ssh: pool.host(target) };
  });
}

/** Prepares one machine as soon as it is up (the host phases on it alone). */
export type PrepareMachine = (machine: string, context: ItemContext) => Promise<void>;

export interface MachinesStageOptions {
  readonly provider: Provider;
  readonly driver: VagrantDriver;
  /** All machines in one `vagrant up --parallel` (libvirt), or one after another. */
  readonly parallel: boolean;
  /** One after another only: work on each machine while the next one boots. */
  readonly prepare?: PrepareMachine;
}

/**
 * `vagrant up` for every machine of the cluster. One after another, a machine's boot
 * waits for the one before it, and its preparation runs while the next one boots.
 */
export function machinesStage(model: ClusterModel, options: MachinesStageOptions): Stage {
  const machines = model.nodes.map((n) => n.name);
  const { driver, provider, parallel, prepare } = options;
  const how = parallel ? 'in parallel' : 'one after another, each prepared as soon as it is up';
  let batch: Promise<void> | undefined;
  let firstFailure: string | undefined;
  let bootQueue = Promise.resolve();
  let bootFailed = false;

  const vagrantUp = (which: readonly string[], context: ItemContext) => {
    const onEvent = (event: MachineEvent) => context.emit({ type: 'machine', ...event });
    return driver.up(which, provider, parallel, onEvent, context.signal);
  };

  return {
    title: `Machines (vagrant up, ${provider}, ${how})`,
    concurrency: machines.length,
    items: async () => machines,
    async runItem(machine, context) {
      context.changes.push({ kind: 'command', description: `start ${machine}`, command: `vagrant up ${machine}` });
      if (parallel) {
        batch ??= vagrantUp(machines, context);
        try {
          await batch;
        } catch (error) {
          // The error itself once, on the first row that sees it; the others point there.
          if (firstFailure) throw new Error(`vagrant up failed (see ${firstFailure})`);
          firstFailure = machine;
          throw error;
        }
        return { title: `${machine}: ready` };
      }
      const booted = bootQueue.then(async () => {
        if (bootFailed || context.stopping()) throw new SkipItem('an earlier machine failed');
        await vagrantUp([machine], context);
      });
      // Set before the next machine's turn: the engine learns of the failure later.
      bootQueue = booted.catch(() => void (bootFailed = true));
      await booted;
      if (!prepare) return { title: `${machine}: ready` };
      await prepare(machine, context);
      return { title: `${machine}: ready, host prepared` };
    },
  };
}

/** A prepare function that runs `stages` on one machine as a nested run of the engine. */
export function prepareWith(
  stages: (machine: string) => readonly Stage[],
  logPath: (host: string) => string | undefined,
): PrepareMachine {
  return async (machine, context) => {
    const result = await execute(stages(machine), {
      signal: context.signal,
      nested: machine,
      sink: {
        event(event) {
          context.emit(event);
          if (event.type === 'host' && event.status === 'started') context.output(`preparing: ${event.phase}`);
          if (event.type === 'host' && event.status === 'failed') context.output(`failed: ${event.phase}`);
        },
      },
    });
    if (!result.ok) throw new Error(failureSummary(result, logPath) || `preparing ${machine} failed`);
  };
}
