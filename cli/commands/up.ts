import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { hostPhases, upPhases } from '../../provisioners/index.js';
import type { NodeHost } from '../../provisioners/cluster-host.js';
import type { Phase } from '../../provisioners/phase.js';
import type { VagrantDriver } from '../../vagrant/driver.js';
import { defaultOutputMode, failureSummary, runPhases } from '../../provisioners/runner.js';
import { jsonLine } from '../../provisioners/events.js';
import { VerifyPhase, verifyTable } from '../../provisioners/verify.js';
import type { Provider } from '../../spec/load.js';
import { ROOK_FILES } from '../../spec/versions.js';
import type { ClusterModel } from '../../spec/model.js';
import type { VerifiedBundle } from '../../provisioners/bundle.js';
import type { ManifestFile } from '../../provisioners/rook.js';
import { ProgressLine } from '../progress-line.js';
import { renderCluster } from '../../templates/render.js';
import { sha256 } from '../../base/digest.js';
import { loadClusterSpec, rememberProvider } from '../cluster-spec.js';
import { EXIT } from '../exit-codes.js';
import { clusterHosts, clusterPool, runOnCluster, InvalidInputError, specArgument, type PhaseRunFlags } from '../phase-run.js';
import { currentHash, writeRender } from '../render-dir.js';
import { writeAtomic } from '../../base/atomic-write.js';
import { printWarnings } from '../report.js';
import { rookManifests } from '../upstream.js';
import { workDir } from '../workdir.js';

export type UpFlags = PhaseRunFlags & { ignorePreflight?: string[]; parallel?: boolean; bundle?: string };

/** `kubestrap install --bundle FILE`: `up` from a bundle, which it must be given. */
export async function installCommand(flags: UpFlags): Promise<number> {
  if (!flags.bundle) throw new InvalidInputError('kubestrap install needs --bundle FILE (made with kubestrap bundle on a connected machine). Nothing was done.');
  return upCommand(flags);
}

/**
 * The bundle from --bundle or the spec's packages.bundle, checked on this machine (every
 * member's size and sha256, and that it fits this spec) before any host is touched.
 */
async function offlineBundle(model: ClusterModel, flags: UpFlags): Promise<VerifiedBundle | undefined> {
  const given = flags.bundle ? resolve(flags.bundle) : model.packages.source === 'bundle' && model.packages.bundle ? specRelative(flags, model.packages.bundle) : undefined;
  if (!given) return undefined;
  const { verifyBundle, BundleError } = await import('../../bundle/verify.js');
  const { bundleProblems } = await import('../../bundle/coverage.js');
  if (!existsSync(given)) throw new InvalidInputError(`${given}: no such bundle — make one with kubestrap bundle -o FILE on a connected machine. Nothing was done.`);
  const progress = new ProgressLine(!flags.json);
  progress.step(`Checking the bundle ${given}`);
  let verified;
  try {
    verified = await verifyBundle(given, (p) => progress.bytes(`verify ${p.member}`, p.bytes, p.total));
  } catch (error) {
    if (error instanceof BundleError) throw new InvalidInputError(`${error.message}. Nothing was done on any host.`);
    throw error;
  } finally {
    progress.done();
  }
  const problems = bundleProblems(model, verified.manifest);
  if (problems.length) throw new InvalidInputError(`the bundle ${given} does not fit this spec:\n${problems.map((p) => `  - ${p}`).join('\n')}\nMake a bundle from this spec (kubestrap bundle -f SPEC -o FILE). Nothing was done.`);
  return { localPath: given, ...verified };
}

async function bundledRookManifests(model: ClusterModel, bundle: VerifiedBundle): Promise<ManifestFile[]> {
  const { readMembers } = await import('../../bundle/read.js');
  const { rookManifestPath } = await import('../../bundle/coverage.js');
  const members = await readMembers(bundle.localPath, (name) => ROOK_FILES.some((n) => rookManifestPath(model, n) === name));
  return ROOK_FILES.map((name) => ({ name, content: members.get(rookManifestPath(model, name))!.toString('utf8') }));
}

/** A path the spec names, read relative to the spec's own directory. */
function specRelative(flags: UpFlags, path: string): string {
  return resolve(flags.file ? dirname(resolve(flags.file)) : process.cwd(), path);
}

async function chooseProvider(): Promise<Provider | undefined> {
  const { detectProvider } = await import('../../vagrant/requirements.js');
  return detectProvider();
}

/** What this machine lacks for `provider`, as the error `up` stops with (before doing anything). */
async function requireProvider(cluster: string, provider: Provider, given: boolean): Promise<void> {
  const { missingRequirements } = await import('../../vagrant/requirements.js');
  if (provider === 'existing') return;
  const missing = given ? await missingRequirements(provider) : [...(await missingRequirements('virtualbox')), ...(await missingRequirements('libvirt'))].filter((m, i, all) => all.indexOf(m) === i);
  if (!missing.length) return;
  const need = given ? `needs the ${provider} provider` : 'names no provider and this machine has neither VirtualBox nor libvirt ready';
  throw new InvalidInputError(`cluster ${cluster} ${need}; this machine lacks:\n${missing.map((m) => `  - ${m}`).join('\n')}\nNothing was done.`);
}

/**
 * Validate → render into the cluster's working directory → Vagrant machines up (or the
 * existing hosts) → fetch pinned upstream files → every phase on every host →
 * kubeconfig → summary.
 */
export async function upCommand(flags: UpFlags): Promise<number> {
  const loaded = await loadClusterSpec(flags.file, chooseProvider);
  const { warnings, providerGiven } = loaded;
  printWarnings(warnings, flags);
  const provider = loaded.model.machines.provider;
  const bundle = await offlineBundle(loaded.model, flags);
  const model: ClusterModel = bundle ? { ...loaded.model, packages: { ...loaded.model.packages, source: 'bundle', bundle: bundle.localPath } } : loaded.model;
  // Rendered in memory first: a spec that cannot render stops here too, before anything exists.
  const files = renderCluster(model);
  await requireProvider(model.name, provider, providerGiven);
  const dir = workDir(model.name);
  await writeRender(dir, files);
  if (!providerGiven) await rememberProvider(model.name, provider);
  if (provider !== 'existing') {
    const stop = await machinesUp(model, provider, flags, () => hostPhases(model, files, { ignorePreflight: flags.ignorePreflight ?? [], ...(bundle ? { bundle } : {}) }));
    if (stop !== undefined) return stop;
  }
  const rook = !model.rook.enabled ? [] : bundle ? await bundledRookManifests(model, bundle) : await rookManifests(model, dir);
  const kubeconfigPath = join(dir, 'kubeconfig');
  const phases = upPhases(model, files, {
    ignorePreflight: flags.ignorePreflight ?? [],
    rookManifests: rook,
    ...(bundle ? { bundle } : {}),
    kubeconfigPath,
    saveKubeconfig: async (content, dryRun) => {
      if ((await currentHash(kubeconfigPath)) === sha256(content)) return false;
      if (!dryRun) await writeAtomic(kubeconfigPath, content, 0o600);
      return true;
    },
  });
  const { code } = await runOnCluster(model, phases, flags);
  const verify = phases.find((p): p is VerifyPhase => p instanceof VerifyPhase);
  if (code === 0 && !flags.json && !flags.dryRun) {
    process.stdout.write(
      `\n${verifyTable(verify?.summary ?? [])}\n\nCluster ${model.name} is up. Use it with:\n  export KUBECONFIG=${kubeconfigPath}\n  kubectl get nodes\n` +
        (provider === 'existing' ? '' : `Log in to a node: kubestrap ssh ${model.nodes[0]!.name}${specArgument(flags.file)}\nThrow it away: kubestrap destroy${specArgument(flags.file)}\n`),
    );
  }
  return code;
}

/** An offline lab's box file, added to Vagrant once (Vagrant would otherwise try to download the box). */
async function addLocalBox(model: Parameters<typeof renderCluster>[0], provider: Provider, driver: VagrantDriver, flags: UpFlags): Promise<void> {
  const { file, name } = model.machines.box;
  if (!file) return;
  const path = specRelative(flags, file);
  if ((await driver.boxes()).some((b) => b.name === name && b.provider === provider)) return;
  if (!existsSync(path)) throw new InvalidInputError(`spec.machines.box.file: ${path} does not exist, and Vagrant has no box ${name} for ${provider} — fix the path, or remove box.file to let Vagrant download ${name}. Nothing was done.`);
  if (flags.dryRun) return void process.stdout.write(`would add ${path} to Vagrant as box ${name}\n`);
  if (!flags.json) process.stdout.write(`Adding box ${name} (${provider}) from ${path}\n`);
  await driver.boxAdd(name, path);
}

/**
 * Starts the cluster's machines unless they all run already; Ctrl-C stops Vagrant
 * cleanly. Where machines boot one after another (VirtualBox, or --no-parallel), each
 * goes through the host phases as soon as it is up, while the next one boots.
 * Resolves undefined when the phases should follow, else the exit code.
 */
async function machinesUp(model: Parameters<typeof renderCluster>[0], provider: 'virtualbox' | 'libvirt', flags: UpFlags, prepPhases: () => Phase<NodeHost>[]): Promise<number | undefined> {
  const { bringUpMachines, vagrantDriver } = await import('../machines.js');
  const driver = vagrantDriver(model, flags.verbose ?? false);
  await addLocalBox(model, provider, driver, flags);
  const states = driver.hasMachines() ? await driver.status() : [];
  const stopped = model.nodes.filter((n) => states.find((s) => s.machine === n.name)?.state !== 'running').map((n) => n.name);
  if (!stopped.length) return undefined;
  if (flags.dryRun) {
    process.stdout.write(`would run vagrant up for ${stopped.join(', ')} (${provider}); the phases can be previewed once the machines run\n`);
    return EXIT.ok;
  }
  const parallel = provider === 'libvirt' && flags.parallel !== false;
  const mode = defaultOutputMode(flags.json ?? false);
  const pool = clusterPool(model, flags.file);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    await bringUpMachines(model, provider, driver, mode, {
      parallel,
      signal: controller.signal,
      prepare: async (machine, say) => {
        const hosts = await clusterHosts(model, pool, flags.verbose ?? false, [machine]);
        // Fresh phases per machine: preflight's verdict is about this machine alone.
        const result = await runPhases(prepPhases(), hosts, {
          output: 'silent',
          signal: controller.signal,
          onEvent: (event) => {
            // One `done` per command in the --json stream: the main run's.
            if (mode === 'json' && event.type !== 'done') process.stdout.write(jsonLine(event));
            if (event.type === 'host' && event.status === 'started') say(`preparing: ${event.phase}`);
            if (event.type === 'host' && event.status === 'failed') say(`failed: ${event.phase}`);
          },
        });
        if (!result.ok) throw new Error(failureSummary(result, (host) => pool.logPath(host)) || `preparing ${machine} failed`);
      },
    });
  } catch (error) {
    if (controller.signal.aborted) {
      process.stderr.write(`kubestrap: interrupted while Vagrant was starting machines; run kubestrap up again to continue\n`);
      return EXIT.interrupted;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    await pool.close();
  }
  return undefined;
}
