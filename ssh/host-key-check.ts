// One handshake's host-key check: which key types to offer, the verdict on the key the
// host presents, the error that explains a refusal, and the key to record once the
// connection is up (never before: ssh2 consults the verifier before it has checked the
// host's signature).
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { shellQuote } from '../base/quote.js';
import { HostKeyMismatchError, HostKeyRevokedError, type SshError } from './errors.js';
import { describeKey, fingerprint, hostPattern, keyType, type KnownHosts, type KnownKey } from './known-hosts.js';

interface Place {
  readonly address: string;
  readonly port: number;
}

export interface HostKeyCheckOptions {
  /** The name errors use (the node). */
  readonly host: string;
  /** Recorded with a new key, so that forget-host finds it by node whatever address was dialled. */
  readonly node: string | undefined;
  /** The command that forgets this host's keys in the cluster's file; undefined for a bastion. */
  readonly forget: string | undefined;
}

export class HostKeyCheck {
  /** The host-key algorithms to offer (recorded types first); undefined for a new host. */
  readonly algorithms: ServerHostKeyAlgorithm[] | undefined;
  private error: SshError | undefined;
  private newKey: Buffer | undefined;

  constructor(
    private readonly known: KnownHosts,
    private readonly place: Place,
    private readonly options: HostKeyCheckOptions,
  ) {
    this.algorithms = known.serverHostKeyAlgorithms(place.address, place.port);
  }

  readonly verify = (key: Buffer): boolean => {
    const { address, port } = this.place;
    const verdict = this.known.check(address, port, key);
    const offered = `${keyType(key)} ${fingerprint(key)}`;
    switch (verdict.status) {
      case 'known':
        return true;
      case 'new':
        this.newKey = key;
        return true;
      case 'revoked':
        this.error = new HostKeyRevokedError(this.options.host, this.name, offered, verdict.entry.where);
        return false;
      case 'changed':
        this.error = this.mismatch(verdict.recorded, offered);
        return false;
    }
  };

  private get name(): string {
    return hostPattern(this.place.address, this.place.port);
  }

  private mismatch(recorded: readonly KnownKey[], offered: string): HostKeyMismatchError {
    const fixes = new Set<string>();
    for (const key of recorded) {
      if (key.file === this.known.path && this.options.forget) fixes.add(this.options.forget);
      else {
        // OpenSSH's files, and a bastion's key in ours: ssh-keygen edits them (hashed lines too).
        fixes.add(`ssh-keygen -f ${shellQuote(key.file)} -R ${shellQuote(this.name)}`);
      }
    }
    return new HostKeyMismatchError(
      this.options.host,
      this.name,
      recorded.map((k) => `${describeKey(k)} (${k.where})`),
      offered,
      [...fixes],
    );
  }

  /**
   * The error to report for a failed handshake, if it is about the host key: the verdict,
   * or a known host that could not agree on any recorded key type (it has none of them).
   */
  failure(error: Error): SshError | undefined {
    if (this.error) return this.error;
    if (this.algorithms && /no matching host key format/.test(error.message)) {
      const { address, port } = this.place;
      const recorded = this.known.recorded(address, port).filter((k) => k.marker === undefined);
      return this.mismatch(recorded, `no key of the recorded types or any other type kubestrap can check`);
    }
    return undefined;
  }

  /** Records a first-seen key once the connection is up; its fingerprint, or undefined. */
  trustIfNew(): string | undefined {
    if (!this.newKey) return undefined;
    this.known.trust(this.place.address, this.place.port, this.newKey, this.options.node);
    return `${keyType(this.newKey)} ${fingerprint(this.newKey)}`;
  }
}
