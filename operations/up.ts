// `up` (and `install`, an up from a bundle): validate → render into the cluster's
// working directory → Vagrant machines (or the existing hosts) → every phase on every
// host → kubeconfig. One plan, one engine run: the machines stage, then the phases.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { phaseStage, type RunResult } from '../engine/index.js';
import { hostPhases, upPhases } from '../provisioners/index.js';
import { VerifyPhase, type NodeStatus } from '../provisioners/verify.js';
import type { WorkloadCheck } from '../provisioners/verify-workload.js';
import type { LoadedSpec, Provider } from '../spec/load.js';
import type { ClusterModel } from '../spec/model.js';
import { renderCluster, type RenderedFile } from '../templates/render.js';
import { sha256 } from '../base/digest.js';
import { writeAtomic } from '../base/atomic-write.js';
import type { VagrantDriver } from '../vagrant/driver.js';
import type { Provider as VagrantProvider } from '../vagrant/requirements.js';
import { loadClusterSpec, rememberProvider } from './cluster-spec.js';
import { lockNote, withClusterLock } from './cluster-lock.js';
import type { OperationContext, PhaseRunOptions } from './context.js';
import { InvalidInputError } from './errors.js';
import { clusterHosts } from './hosts.js';
import { machinesStage, prepareWith, vagrantDriver } from './machines.js';
import { offlineBundle, specRelative } from './offline-bundle.js';
import { currentHash, writeRender } from './render-dir.js';
import { runOnCluster } from './run-on-cluster.js';
import { rookManifestsFor } from './upstream.js';
import { workDir } from './workdir.js';

export interface UpOptions extends PhaseRunOptions {
  readonly ignorePreflight?: readonly string[];
  /** libvirt: all machines at once (default), or one after another as VirtualBox does. */
  readonly parallel?: boolean;
  /** Install offline from this bundle. */
  readonly bundle?: string;
  /** The public key the bundle must be signed with. */
  readonly key?: string;
  /** Install from a bundle without checking who made it. */
  readonly insecureUnsigned?: boolean;
  /** false: verify skips its workload (storage, pod network, DNS). */
  readonly workloadCheck?: boolean;
}

export type UpResult =
  | {
      readonly kind: 'ran';
      readonly cluster: string;
      readonly provider: Provider;
      readonly run: RunResult;
      readonly logPath: (host: string) => string | undefined;
      readonly kubeconfigPath: string;
      /** The verify phase's table: every node, Ready or not. */
      readonly nodes: readonly NodeStatus[];
      readonly checks: readonly WorkloadCheck[];
      readonly firstNode: string;
    }
  /** --dry-run on machines that do not run yet: the phases cannot be previewed. */
  | { readonly kind: 'machines-not-running'; readonly provider: Provider; readonly machines: readonly string[] };

/** What this machine lacks for `provider`, as the error `up` stops with (before doing anything). */
async function requireProvider(cluster: string, provider: Provider, given: boolean): Promise<void> {
  if (provider === 'existing') return;
  const { missingRequirements } = await import('../vagrant/requirements.js');
  const both = async () => [
    ...new Set([...(await missingRequirements('virtualbox')), ...(await missingRequirements('libvirt'))]),
  ];
  const missing = given ? await missingRequirements(provider) : await both();
  if (!missing.length) return;
  const need = given
    ? `needs the ${provider} provider`
    : 'names no provider and this machine has neither VirtualBox nor libvirt ready';
  throw new InvalidInputError(
    `cluster ${cluster} ${need}; this machine lacks:\n${missing.map((m) => `  - ${m}`).join('\n')}\nNothing was done.`,
  );
}

/** An offline lab's box file, added to Vagrant once (Vagrant would otherwise try to download the box). */
async function addLocalBox(
  model: ClusterModel,
  provider: Provider,
  driver: VagrantDriver,
  options: UpOptions,
  context: OperationContext,
): Promise<void> {
  const { file, name } = model.machines.box;
  if (!file) return;
  const path = specRelative(options.file, file);
  if ((await driver.boxes()).some((b) => b.name === name && b.provider === provider)) return;
  if (!existsSync(path)) {
    throw new InvalidInputError(
      `spec.machines.box.file: ${path} does not exist, and Vagrant has no box ${name} for ${provider} ` +
        `— fix the path, or remove box.file to let Vagrant download ${name}. Nothing was done.`,
    );
  }
  if (options.dryRun) return void context.sink.note?.(`would add ${path} to Vagrant as box ${name}`);
  context.sink.note?.(`Adding box ${name} (${provider}) from ${path}`);
  await driver.boxAdd(name, path);
}

/** The cluster's Vagrant machines that do not run yet, after adding a local box if the spec names one. */
async function machinesToBoot(
  model: ClusterModel,
  provider: VagrantProvider,
  options: UpOptions,
  context: OperationContext,
) {
  const driver = vagrantDriver(model, options.verbose ?? false, context.signal);
  await addLocalBox(model, provider, driver, options, context);
  const states = driver.hasMachines() ? await driver.status() : [];
  const running = (name: string) => states.find((s) => s.machine === name)?.state === 'running';
  const stopped = model.nodes.filter((n) => !running(n.name)).map((n) => n.name);
  // VirtualBox boots one machine at a time anyway; libvirt unless told not to.
  return { driver, provider, stopped, parallel: provider === 'libvirt' && options.parallel !== false };
}

async function detectProvider(): Promise<Provider | undefined> {
  const { detectProvider: detect } = await import('../vagrant/requirements.js');
  return detect();
}

export async function up(options: UpOptions, context: OperationContext): Promise<UpResult> {
  const loaded = await loadClusterSpec(options.file, detectProvider);
  context.warn(loaded.warnings);
  const provider = loaded.model.machines.provider;
  const bundle = await offlineBundle(loaded.model, options.file, options.bundle, context.sink, {
    key: options.key,
    insecureUnsigned: options.insecureUnsigned,
  });
  const model: ClusterModel = bundle
    ? { ...loaded.model, packages: { ...loaded.model.packages, source: 'bundle', bundle: bundle.localPath } }
    : loaded.model;
  // Rendered in memory first: a spec that cannot render stops here too, before anything exists.
  const files = renderCluster(model);
  await requireProvider(model.name, provider, loaded.providerGiven);
  // Everything above only reads; from here on the run may change hosts and the working directory.
  return withClusterLock(model.name, options.bundle ? 'install' : 'up', lockNote(context), () =>
    upLocked(loaded, model, files, bundle, options, context),
  );
}

async function upLocked(
  loaded: LoadedSpec,
  model: ClusterModel,
  files: RenderedFile[],
  bundle: Awaited<ReturnType<typeof offlineBundle>>,
  options: UpOptions,
  context: OperationContext,
): Promise<UpResult> {
  const provider = model.machines.provider;
  const dir = workDir(model.name);
  // A dry run changes nothing here either: the render stays in memory.
  if (!options.dryRun) {
    await writeRender(dir, files, model.name);
    if (!loaded.providerGiven) await rememberProvider(model.name, provider);
  }

  const boot = provider === 'existing' ? undefined : await machinesToBoot(model, provider, options, context);
  if (boot && boot.stopped.length && options.dryRun) {
    return { kind: 'machines-not-running', provider, machines: boot.stopped };
  }

  const rook = await rookManifestsFor(model, dir, bundle);
  const kubeconfigPath = join(dir, 'kubeconfig');
  const hostOptions = { ignorePreflight: options.ignorePreflight ?? [], ...(bundle ? { bundle } : {}) };
  const phases = upPhases(model, files, {
    ...hostOptions,
    ...(options.workloadCheck === false ? { workloadCheck: false } : {}),
    rookManifests: rook,
    kubeconfigPath,
    saveKubeconfig: async (content, dryRun) => {
      if ((await currentHash(kubeconfigPath)) === sha256(content)) return false;
      if (!dryRun) await writeAtomic(kubeconfigPath, content, 0o600);
      return true;
    },
  });
  const { run, logPath } = await runOnCluster(model, options, context, (pool, hosts) => {
    // Fresh phases per machine: preflight's verdict is about that machine alone.
    const prepare = (machine: string) => {
      const one = clusterHosts(model, pool, options.verbose ?? false, [machine]);
      return hostPhases(model, files, hostOptions).map((p) => phaseStage(p, () => one));
    };
    const planned = phases.map((p) => phaseStage(p, hosts));
    if (!boot?.stopped.length) return planned;
    const { driver, parallel } = boot;
    const sequential = parallel ? {} : { prepare: prepareWith(prepare, (h) => pool.logPath(h)) };
    return [machinesStage(model, { provider: boot.provider, driver, parallel, ...sequential }), ...planned];
  });
  const verify = phases.find((p): p is VerifyPhase => p instanceof VerifyPhase);
  return {
    kind: 'ran',
    cluster: model.name,
    provider,
    run,
    logPath,
    kubeconfigPath,
    nodes: verify?.summary ?? [],
    checks: verify?.checks ?? [],
    firstNode: model.nodes[0]!.name,
  };
}

/** The verify phase's node table, for the text view. */
export { checksTable, verifyTable } from '../provisioners/verify.js';
