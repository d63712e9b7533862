#!/usr/bin/env node
// The kubestrap command line: parse flags, call one command, map the outcome to an
// exit code. Commands are imported on use so `kubestrap --help` starts fast.
import { Command, Option } from 'commander';
import { EXIT } from './exit-codes.js';

type Action = (options: Record<string, unknown>) => Promise<number>;

async function run(options: Record<string, unknown>, load: () => Promise<Action>): Promise<void> {
  const { reportFailure } = await import('./report.js');
  try {
    process.exitCode = await (await load())(options);
  } catch (error) {
    process.exitCode = reportFailure(error, options);
  }
}

// `kubestrap render | head` closes our stdout early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

const fileOption = () =>
  new Option('-f, --file <spec>', 'cluster spec (YAML); without it the embedded default cluster');
const jsonOption = () => new Option('--json', 'print one JSON document instead of text');

const program = new Command('kubestrap')
  .description('One YAML cluster spec to a working Kubernetes cluster on Vagrant VMs or existing hosts.')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError()
  // Usage errors are invalid input; --help and --version are not errors. Set before
  // the subcommands are added so that they inherit it.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.invalidInput))
  .addHelpText(
    'after',
    `\nExit codes: ${EXIT.ok} ok, ${EXIT.failure} failure, ` +
      `${EXIT.invalidInput} invalid input (nothing was changed), ${EXIT.interrupted} interrupted.`,
  );

program
  .command('validate')
  .description('check a cluster spec and report every problem with file:line:column')
  .addOption(fileOption())
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/validate.js')).validateCommand as Action));

program
  .command('render')
  .description('write every artifact (Vagrantfile, kubeadm.conf, units, manifests) into a directory')
  .addOption(fileOption())
  .option('-o, --output <dir>', 'output directory (default: .kubestrap/<cluster>)')
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/render.js')).renderCommand as Action));

const collect = (value: string, previous: string[] = []) => [...previous, value];

program
  .command('preflight')
  .description('read-only checks on every host; exits 1 if any check fails')
  .addOption(fileOption())
  .option(
    '--ignore-preflight <check>',
    'report this failed check as a warning (repeatable; a prefix such as rook-disk matches all)',
    collect,
  )
  .option('--concurrency <n>', 'hosts worked on at once', '10')
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/preflight.js')).preflightCommand as Action));

const verboseOption = () => new Option('--verbose', "show Vagrant's raw output");
const noParallelOption = () =>
  new Option(
    '--no-parallel',
    'libvirt: boot the machines one after another, each prepared (preflight to packages) as soon as it is up, ' +
      'as VirtualBox always does; for small hosts',
  );

/** What `up` and `rebuild` (which ends in an up) both take. */
const withUpOptions = (command: Command) =>
  command
    .addOption(fileOption())
    .option('--ignore-preflight <check>', 'report this failed preflight check as a warning (repeatable)', collect)
    .option('--concurrency <n>', 'hosts worked on at once', '10')
    .addOption(noParallelOption())
    .addOption(verboseOption())
    .option('--bundle <file>', 'install offline from this bundle (made by kubestrap bundle): no host needs the network')
    .option('--key <file>', 'the public key the bundle must be signed with (kubestrap bundle keygen FILE.pub)')
    .option('--insecure-unsigned', 'install from a bundle without checking who made it (no --key): not for production')
    .option(
      '--no-workload-check',
      'verify only that nodes are Ready and kube-system runs, not the storage/pod network/DNS workload ' +
        '(kubestrap verify runs it later)',
    )
    .addOption(jsonOption());

withUpOptions(
  program
    .command('up')
    .description(
      'bring the cluster up: Vagrant machines (or existing hosts) → ' +
        'preflight → host prep → containerd → packages → init → join → Weave → Rook → verify',
    )
    .option(
      '--dry-run',
      'go through every phase and print what would change (commands, file diffs) without changing anything',
    ),
).action((options) => run(options, async () => (await import('./commands/up.js')).upCommand as Action));

withUpOptions(
  program
    .command('install')
    .description(
      'the airgapped install: up with every package, image and manifest from --bundle FILE; ' +
        'the bundle is checked before any host is touched',
    )
    .option('--dry-run', 'go through every phase and print what would change without changing anything'),
).action((options) => run(options, async () => (await import('./commands/up.js')).installCommand as Action));

program
  .command('destroy')
  .description(
    "delete the cluster's Vagrant machines and disks, check the provider holds nothing of them, " +
      "and remove the cluster's local state",
  )
  .addOption(fileOption())
  .option('--yes', 'do not ask for confirmation')
  .addOption(verboseOption())
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/destroy.js')).destroyCommand as Action));

withUpOptions(
  program
    .command('rebuild')
    .description('destroy, then up from the same spec')
    .option('--yes', 'do not ask for confirmation'),
).action((options) => run(options, async () => (await import('./commands/rebuild.js')).rebuildCommand as Action));

program
  .command('status')
  .description('per node: machine state, SSH reachable, Kubernetes node Ready; exits 1 unless all are')
  .addOption(fileOption())
  .addOption(verboseOption())
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/status.js')).statusCommand as Action));

program
  .command('doctor')
  .description(
    'read-only checks of every node (disks, memory, clock, services, node IP, modules, sysctls, certificates, ' +
      'ports), of the cluster through its API, and of Vagrant here; exits 0 all ok, 3 warnings only, 1 on a failure',
  )
  .addOption(fileOption())
  .addOption(verboseOption())
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/doctor.js')).doctorCommand as Action));

program
  .command('support-bundle')
  .description(
    'one archive (0600, secrets redacted) of what shows a problem: per node its journals, disks, network, ' +
      'kubelet and containerd configs, /etc/kubernetes without keys and the rendered files against the host; ' +
      "the cluster's nodes, pods and events; the spec, the last runs' logs and doctor's result",
  )
  .addOption(fileOption())
  .option('-o, --output <file>', 'the archive to write (default: kubestrap-support-<time>.tar.gz here)')
  .addOption(verboseOption())
  .addOption(jsonOption())
  .action((options) =>
    run(options, async () => (await import('./commands/support-bundle.js')).supportBundleCommand as Action),
  );

program
  .command('verify')
  .description(
    'check the running cluster: nodes Ready on their spec addresses, kube-system running, and pods that ' +
      'use a Rook volume on each worker, reach a pod on another node and resolve a Service in cluster DNS',
  )
  .addOption(fileOption())
  .option('--timeout <duration>', 'how long each wait may take, e.g. 90s or 5m', '5m')
  .addOption(verboseOption())
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/verify.js')).verifyCommand as Action));

program
  .command('upgrade')
  .description(
    "upgrade the cluster to the spec's kubernetes.version: one step per minor, control planes first, " +
      'workers drained and upgraded in batches; the plan is shown and confirmed first, a re-run resumes',
  )
  .addOption(fileOption())
  .option('--to <version>', "the target; must equal the spec's kubernetes.version")
  .option('--max-unavailable <n>', 'workers drained and upgraded at once', '1')
  .option('--drain-timeout <duration>', 'how long a drain may take, e.g. 90s or 5m', '5m')
  .option(
    '--bundle <file>',
    'airgapped: a bundle per step (repeatable), each made by kubestrap bundle from the spec at that version',
    collect,
  )
  .option('--key <file>', 'the public key every bundle must be signed with')
  .option('--insecure-unsigned', 'upgrade from bundles without checking who made them (no --key): not for production')
  .option('--yes', 'do not ask for confirmation')
  .option('--dry-run', 'print the plan and change nothing')
  .addOption(verboseOption())
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/upgrade.js')).upgradeCommand as Action));

program
  .command('ssh')
  .description('a shell on a node, or run a command there: kubestrap ssh NODE -- CMD…')
  .argument('<node>', 'node name or hostname')
  .argument('[command...]', 'command to run instead of a shell (after --)')
  .addOption(fileOption())
  .addOption(verboseOption())
  .action((node: string, command: string[], options) =>
    run(
      options,
      async () =>
        (async (o: Record<string, unknown>) =>
          (await import('./commands/ssh.js')).sshCommand(node, command, o)) as Action,
    ),
  );

program
  .command('kubeconfig')
  .description("print the cluster's admin kubeconfig")
  .addOption(fileOption())
  .option('--path', 'print where the kubeconfig is instead of its content')
  .action((options) =>
    run(options, async () => (await import('./commands/kubeconfig.js')).kubeconfigCommand as Action),
  );

program
  .command('reset')
  .description('take Kubernetes off every host (kubeadm reset and what it leaves), wiping Rook disks the spec names')
  .addOption(fileOption())
  .option('--yes', 'do not ask for confirmation')
  .option('--dry-run', 'print what would be removed without removing it')
  .option('--concurrency <n>', 'hosts worked on at once', '10')
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/reset.js')).resetCommand as Action));

program
  .command('forget-host')
  .description("forget a node's SSH host keys (after the machine was recreated)")
  .argument('<node>', 'node name or hostname')
  .addOption(fileOption())
  .addOption(jsonOption())
  .action((node: string, options) =>
    run(
      options,
      async () =>
        (async (o: Record<string, unknown>) =>
          (await import('./commands/forget-host.js')).forgetHostCommand(node, o)) as Action,
    ),
  );

const bundle = program
  .command('bundle')
  .description(
    'on a connected machine: the packages, binaries, images and manifests of an offline install, ' +
      'with checksums, in one archive',
  )
  .addOption(fileOption())
  .option('-o, --output <file>', 'the bundle to write (e.g. cluster.kubestrap.tar)')
  .option('--sign-key <file>', 'sign the bundle with this private key (made by kubestrap bundle keygen)')
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/bundle.js')).bundleCommand as Action));

bundle
  .command('verify')
  .description(
    "check every member's size and sha256 against bundle.json, exits 1 naming the first bad one; " +
      'with --key, that the bundle is signed by that key (exit 2 if not)',
  )
  .argument('<file>', 'the bundle')
  .option('--key <file>', 'the public key the bundle must be signed with')
  .addOption(jsonOption())
  // `bundle` has --json too and commander hands it to the parent: read both.
  .action((file: string, _options, command: Command) =>
    run(
      command.optsWithGlobals(),
      async () =>
        (async (o: Record<string, unknown>) =>
          (await import('./commands/bundle.js')).bundleVerifyCommand(file, o)) as Action,
    ),
  );

bundle
  .command('keygen')
  .description('make a key pair for signing bundles: FILE (private, 0600) and FILE.pub; prints the key id')
  .argument('<file>', 'where to write the private key')
  .addOption(jsonOption())
  // `bundle` has --json too: commander hands it to the parent, so the parent's count here.
  .action((file: string, _options, command: Command) =>
    run(
      command.optsWithGlobals(),
      async () =>
        (async (o: Record<string, unknown>) =>
          (await import('./commands/bundle.js')).bundleKeygenCommand(file, o)) as Action,
    ),
  );

program
  .command('versions')
  .description('list the Kubernetes minors kubestrap supports: newest patch, kubeadm API, images, end of life')
  .addOption(jsonOption())
  .action((options) => run(options, async () => (await import('./commands/versions.js')).versionsCommand as Action));

program
  .command('schema')
  .description("print the cluster spec's JSON Schema")
  .action((options) => run(options, async () => (await import('./commands/schema.js')).schemaCommand as Action));

await program.parseAsync(process.argv);
