// From the spec's idea of a host (model) to an SSH target the transport can dial.
// Where the spec is silent, the user's ~/.ssh/config speaks (HostName, User, Port,
// IdentityFile, ProxyJump), matched on the address as OpenSSH would match the name
// typed on its command line; then OpenSSH-like defaults (port 22, user root, the SSH
// agent). Pure: file contents come in as arguments.
import SSHConfig from 'ssh-config';
import type { SshTarget as SpecTarget } from '../spec/model.js';
import type { Endpoint, SshTarget } from './host.js';

export interface TargetInputs {
  /** Text of ~/.ssh/config, if there is one. */
  readonly sshConfig?: string;
  readonly home: string;
  /** SSH_AUTH_SOCK, if an agent runs. */
  readonly agent?: string;
  readonly passphrase?: string;
  readonly readKey: (path: string) => Buffer;
  readonly keyExists: (path: string) => boolean;
}

export class TargetError extends Error {
  readonly exitCode = 2;
}

function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? `${home}${path.slice(1)}` : path;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function endpoint(
  name: string,
  address: string,
  user: string | undefined,
  port: number | undefined,
  keyPath: string | undefined,
  config: Record<string, string | string[]>,
  inputs: TargetInputs,
): Endpoint {
  const identity =
    keyPath ??
    (Array.isArray(config.IdentityFile) ? config.IdentityFile : config.IdentityFile ? [config.IdentityFile] : [])
      .map((p) => expandHome(p, inputs.home))
      .find(inputs.keyExists);
  const path = identity ? expandHome(identity, inputs.home) : undefined;
  if (!path && !inputs.agent) {
    throw new TargetError(
      `${name}: no SSH key for ${address}: set keyPath in the spec, an IdentityFile in ~/.ssh/config, ` +
        `or start ssh-agent with your key loaded`,
    );
  }
  let privateKey: Buffer | undefined;
  if (path) {
    try {
      privateKey = inputs.readKey(path);
    } catch (error) {
      throw new TargetError(
        `${name}: cannot read SSH key ${path}: ` +
          `${(error as NodeJS.ErrnoException).code ?? (error as Error).message} — fix keyPath in the spec`,
      );
    }
  }
  return {
    address: first(config.HostName) ?? address,
    port: port ?? Number(first(config.Port) ?? 22),
    user: user ?? first(config.User) ?? 'root',
    ...(privateKey ? { privateKey } : {}),
    ...(inputs.passphrase !== undefined ? { passphrase: inputs.passphrase } : {}),
    ...(inputs.agent ? { agent: inputs.agent } : {}),
  };
}

/** ProxyJump `[user@]host[:port]`; only a single jump is supported (the spec's bastion). */
function parseJump(jump: string, name: string): { address: string; user?: string; port?: number } {
  if (jump.includes(','))
    throw new TargetError(
      `${name}: ~/.ssh/config gives ProxyJump ${jump}; kubestrap supports one jump host — set spec bastion instead`,
    );
  const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(jump);
  if (!match) throw new TargetError(`${name}: cannot read ProxyJump ${jump} in ~/.ssh/config`);
  return {
    address: match[2]!.replace(/^\[|\]$/g, ''),
    ...(match[1] ? { user: match[1] } : {}),
    ...(match[3] ? { port: Number(match[3]) } : {}),
  };
}

export function resolveTarget(name: string, spec: SpecTarget, inputs: TargetInputs): SshTarget {
  const config = inputs.sshConfig ? SSHConfig.parse(inputs.sshConfig) : undefined;
  const compute = (host: string) => (config ? config.compute(host) : {});
  const own = compute(spec.address);
  const target = endpoint(name, spec.address, spec.user, spec.port, spec.keyPath, own, inputs);
  let bastion: Endpoint | undefined;
  if (spec.bastion) {
    const b = spec.bastion;
    bastion = endpoint(
      name,
      b.address,
      b.user ?? spec.user,
      b.port,
      b.keyPath ?? spec.keyPath,
      compute(b.address),
      inputs,
    );
  } else if (first(own.ProxyJump) && first(own.ProxyJump) !== 'none') {
    const jump = parseJump(first(own.ProxyJump)!, name);
    bastion = endpoint(name, jump.address, jump.user, jump.port, undefined, compute(jump.address), inputs);
  }
  return { name, ...target, ...(bastion ? { bastion } : {}) };
}
