// The Vagrant side of a cluster for the CLI: bring the machines up with a live view
// (one row per machine with Vagrant's latest words), and turn `vagrant ssh-config`
// into SSH hosts for the phases.
import { readFileSync } from 'node:fs';
import { Listr, PRESET_TIMESTAMP } from 'listr2';
import type { SshNodeHost } from '../provisioners/cluster-host.js';
import { jsonLine } from '../provisioners/events.js';
import type { OutputMode } from '../provisioners/runner.js';
import type { ClusterModel } from '../spec/model.js';
import type { SshPool } from '../ssh/pool.js';
import { VagrantDriver } from '../vagrant/driver.js';
import type { MachineEvent } from '../vagrant/progress.js';
import type { Provider } from '../vagrant/requirements.js';
import { workDir } from './workdir.js';

export function vagrantDriver(model: ClusterModel, verbose = false): VagrantDriver {
  return new VagrantDriver(workDir(model.name), process.env, verbose ? (line) => process.stderr.write(`vagrant: ${line}\n`) : undefined);
}

/** SSH hosts for the cluster's (running) machines, from `vagrant ssh-config`; all nodes unless `only` says. */
export async function machineHosts(model: ClusterModel, pool: SshPool, driver: VagrantDriver, only?: readonly string[]): Promise<SshNodeHost[]> {
  const nodes = model.nodes.filter((n) => !only || only.includes(n.name));
  if (!nodes.length) return [];
  const settings = await driver.sshConfig(nodes.map((n) => n.name));
  return nodes.map((node) => {
    const s = settings.find((x) => x.machine === node.name);
    if (!s) throw new Error(`vagrant ssh-config has no entry for ${node.name} (is the machine created? kubestrap status shows the machines)`);
    return { name: node.name, node, ssh: pool.host({ name: node.name, address: s.address, port: s.port, user: s.user, privateKey: readFileSync(s.keyPath) }) };
  });
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
  message?: (text: string) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export interface BringUpOptions {
  /** All machines in one `vagrant up --parallel` (libvirt), or one after another. */
  readonly parallel: boolean;
  /**
   * One after another only: work on a machine as soon as it is up, while the next one
   * boots; `say` shows progress on the machine's row. Rejects when the work failed.
   */
  readonly prepare: (machine: string, say: (text: string) => void) => Promise<void>;
  readonly signal?: AbortSignal;
}

/** `vagrant up` for every machine of the cluster, shown per machine as it goes. */
export async function bringUpMachines(model: ClusterModel, provider: Provider, driver: VagrantDriver, mode: OutputMode, options: BringUpOptions): Promise<void> {
  const machines = model.nodes.map((n) => n.name);
  const waits = new Map(machines.map((m) => [m, deferred()]));
  const prepared = new Map(machines.map((m) => [m, deferred()]));
  const say = (machine: string, text: string) => waits.get(machine)?.message?.(text);
  const onEvent = (event: MachineEvent) => {
    if (mode === 'json') process.stdout.write(jsonLine({ type: 'machine', ...event }));
    if (event.message) say(event.machine, event.stage ? `${event.stage}: ${event.message}` : event.message);
    if (event.stage === 'ready') waits.get(event.machine)?.resolve();
  };
  const failAll = (error: Error) => {
    // The rows say which machines did not make it; the error itself is printed once, after.
    for (const wait of [...waits.values(), ...prepared.values()]) wait.reject(new Error('vagrant up failed (see below)'));
    throw error;
  };
  const up = (async () => {
    if (options.parallel) {
      await driver.up(machines, provider, true, onEvent, options.signal);
      for (const wait of waits.values()) wait.resolve();
      return;
    }
    for (const machine of machines) {
      await driver.up([machine], provider, false, onEvent, options.signal);
      waits.get(machine)!.resolve();
      options.prepare(machine, (text) => say(machine, text)).then(prepared.get(machine)!.resolve, prepared.get(machine)!.reject);
    }
  })().catch(failAll);
  const renderer = mode === 'tty' ? 'default' : mode === 'plain' ? 'simple' : 'silent';
  const how = options.parallel ? 'in parallel' : 'one after another, each prepared as soon as it is up';
  const list = new Listr(
    [
      {
        title: `Machines (vagrant up, ${provider}, ${how})`,
        task: (_ctx, task) =>
          task.newListr(
            machines.map((machine) => ({
              title: machine,
              task: async (_c, sub) => {
                const wait = waits.get(machine)!;
                wait.message = (text) => {
                  sub.output = text;
                };
                await wait.promise;
                sub.title = `${machine}: ready`;
                if (options.parallel) return;
                await prepared.get(machine)!.promise.catch(() => {
                  throw new Error('host preparation failed (see below)');
                });
                sub.title = `${machine}: ready, host prepared`;
              },
              rendererOptions: { persistentOutput: false },
            })),
            { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false } },
          ),
      },
    ],
    { renderer, fallbackRenderer: 'simple', rendererOptions: { timestamp: PRESET_TIMESTAMP, collapseSubtasks: false, showErrorMessage: false }, exitOnError: false },
  );
  await Promise.allSettled([list.run()]);
  await up;
  if (options.parallel) return;
  // A machine whose preparation failed: its error, once.
  const outcomes = await Promise.allSettled([...prepared.values()].map((p) => p.promise));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}
