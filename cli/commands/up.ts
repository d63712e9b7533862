// `kubestrap up` and `kubestrap install --bundle FILE` (an up that must be offline).
import { InvalidInputError, specArgument } from '../../operations/errors.js';
import { checksTable, up, verifyTable, type UpResult } from '../../operations/up.js';
import { EXIT } from '../exit-codes.js';
import { concurrencyFlag, runExit, withSession } from '../session.js';

export interface UpFlags {
  readonly file?: string;
  readonly json?: boolean;
  readonly dryRun?: boolean;
  readonly concurrency?: string;
  readonly verbose?: boolean;
  readonly ignorePreflight?: string[];
  readonly parallel?: boolean;
  readonly bundle?: string;
  readonly key?: string;
  readonly insecureUnsigned?: boolean;
  readonly workloadCheck?: boolean;
}

export function upOptions(flags: UpFlags) {
  const { concurrency, json: _json, ...rest } = flags;
  return { ...rest, concurrency: concurrencyFlag(concurrency) };
}

/** The outcome of an up, printed; its exit code. */
export function printUp(result: UpResult, flags: UpFlags): number {
  if (result.kind === 'machines-not-running') {
    const { machines, provider } = result;
    if (flags.json)
      process.stdout.write(`${JSON.stringify({ type: 'dry-run', ok: true, wouldBoot: machines, provider })}\n`);
    else
      process.stdout.write(
        `would run vagrant up for ${result.machines.join(', ')} (${result.provider}); ` +
          `the phases can be previewed once the machines run\n`,
      );
    return EXIT.ok;
  }
  const code = runExit(result, flags);
  if (code !== EXIT.ok || flags.json || flags.dryRun) return code;
  const table = verifyTable(result.nodes) + (result.checks.length ? `\n\n${checksTable(result.checks)}` : '');
  const vagrant =
    `Log in to a node: kubestrap ssh ${result.firstNode}${specArgument(flags.file)}\n` +
    `Throw it away: kubestrap destroy${specArgument(flags.file)}\n`;
  process.stdout.write(
    `\n${table}\n\nCluster ${result.cluster} is up. Use it with:\n` +
      `  export KUBECONFIG=${result.kubeconfigPath}\n  kubectl get nodes\n` +
      `${result.provider === 'existing' ? '' : vagrant}`,
  );
  return code;
}

export async function upCommand(flags: UpFlags): Promise<number> {
  const options = upOptions(flags);
  if (flags.insecureUnsigned)
    process.stderr.write(
      'warning: --insecure-unsigned: the bundle is installed without checking who made it; ' +
        'anyone who could change it chooses what runs as root on every host\n',
    );
  return printUp(await withSession(flags.json ?? false, (context) => up(options, context)), flags);
}

export async function installCommand(flags: UpFlags): Promise<number> {
  if (!flags.bundle) {
    throw new InvalidInputError(
      'kubestrap install needs --bundle FILE (made with kubestrap bundle on a connected machine). Nothing was done.',
    );
  }
  return upCommand(flags);
}
