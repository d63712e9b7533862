// One SshHost per node for the whole run, sharing the cluster's known_hosts, the
// redactor and a log directory (one 0600 log file per host).
import { join } from 'node:path';
import { HostLog } from './host-log.js';
import { SshHost, type SshHostOptions, type SshTarget } from './host.js';
import { KnownHosts } from './known-hosts.js';
import { Redactor } from './redact.js';

export interface SshPoolOptions extends Partial<Omit<SshHostOptions, 'knownHosts' | 'log' | 'redactor'>> {
  readonly knownHostsPath: string;
  /** OpenSSH's known_hosts files, read as well (existing hosts only; see KnownHosts). */
  readonly openSshKnownHosts?: readonly string[];
  readonly logDir?: string;
  readonly redactor?: Redactor;
  /** Ctrl-C: every host (and every host made later) is interrupted: no command or connection after it. */
  readonly signal?: AbortSignal;
}

export class SshPool {
  readonly knownHosts: KnownHosts;
  readonly redactor: Redactor;
  private readonly hosts = new Map<string, SshHost>();
  private readonly logs: HostLog[] = [];

  constructor(private readonly options: SshPoolOptions) {
    this.knownHosts = new KnownHosts(options.knownHostsPath, options.openSshKnownHosts);
    this.redactor = options.redactor ?? new Redactor();
    // One listener for the pool, not one per host: a signal warns past ten listeners.
    options.signal?.addEventListener('abort', () => this.hosts.forEach((h) => h.interrupt()), { once: true });
  }

  /** The Ctrl-C signal the pool was given, for the other work of the same run. */
  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  logPath(name: string): string | undefined {
    return this.options.logDir ? join(this.options.logDir, `${name}.log`) : undefined;
  }

  host(target: SshTarget): SshHost {
    let host = this.hosts.get(target.name);
    if (!host) {
      const path = this.logPath(target.name);
      const log = path ? new HostLog(path, this.redactor) : undefined;
      if (log) this.logs.push(log);
      const { signal, ...options } = this.options;
      host = new SshHost(target, {
        ...options,
        knownHosts: this.knownHosts,
        redactor: this.redactor,
        ...(log ? { log } : {}),
      });
      this.hosts.set(target.name, host);
      if (signal?.aborted) host.interrupt();
    }
    return host;
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
    await Promise.all(this.logs.map((l) => l.close()));
    this.hosts.clear();
  }
}
