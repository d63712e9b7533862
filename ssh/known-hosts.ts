// Host keys: trust on first use into a kubestrap-owned known_hosts per cluster (OpenSSH
// format, 0600), checked together with OpenSSH's own files for existing hosts, read the
// way ssh(1) reads them (hashed names, wildcards, negation, [host]:port, @revoked).
//
// A host is known by every key recorded for it, of any type. A key of a type not
// recorded is a changed key, not a new one: otherwise a host known by its ed25519 key
// that offers only ssh-rsa would be trusted silently. Because ssh2's verifier sees only
// the negotiated key, `serverHostKeyAlgorithms` puts the recorded types first, so a
// host that still holds a recorded key always presents it.
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { writeAtomicSync } from '../base/atomic-write.js';

/** OpenSSH's name for a host: `addr` on port 22, `[addr]:port` elsewhere. */
export function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** The key type is the first string inside an SSH public-key blob. */
export function keyType(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

/** `SHA256:…`, as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** One key line of a known_hosts file. */
export interface KnownKey {
  /** The host field as written (a hashed `|1|…` entry stays hashed). */
  readonly pattern: string;
  readonly type: string;
  /** Base64 of the public-key blob. */
  readonly key: string;
  readonly marker?: 'revoked' | 'cert-authority';
  /** The node a kubestrap entry was recorded for. */
  readonly node?: string;
  /** `file:line`, for messages. */
  readonly where: string;
  readonly file: string;
}

export function describeKey(key: KnownKey): string {
  return `${key.type} ${fingerprint(Buffer.from(key.key, 'base64'))}`;
}

export type HostKeyVerdict =
  | { readonly status: 'known' }
  | { readonly status: 'new' }
  /** Keys are recorded for this host and the offered one is none of them (of any type). */
  | { readonly status: 'changed'; readonly recorded: readonly KnownKey[] }
  | { readonly status: 'revoked'; readonly entry: KnownKey };

const NODE_COMMENT = 'kubestrap-node=';

// ssh2 1.17's default host-key algorithms, in its order. An exact list is the only way
// to reorder them (its `prepend` leaves an algorithm already listed where it is).
const SSH2_HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** The signature algorithms a key type can be presented with (an RSA key: three). */
function algorithmsFor(type: string): ServerHostKeyAlgorithm[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const known = ([...SSH2_HOST_KEY_ALGORITHMS, 'ssh-dss'] as const).find((a) => a === type);
  return known ? [known] : [];
}

/** OpenSSH's `match_pattern`: `*` and `?` wildcards, case-insensitive (names are lowercased). */
function wildcardMatch(name: string, pattern: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(name);
}

/**
 * Does a known_hosts host field name `name` (`addr` or `[addr]:port`)? Hashed fields
 * are `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`; plain fields are comma lists of
 * patterns where a matching `!pattern` rules the line out.
 */
export function hostFieldMatches(field: string, name: string): boolean {
  const lower = name.toLowerCase();
  if (field.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = field.split('|');
    const expected = createHmac('sha1', Buffer.from(salt, 'base64')).update(lower).digest('base64');
    return expected === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(lower, pattern.slice(1))) return false;
    } else if (wildcardMatch(lower, pattern)) matched = true;
  }
  return matched;
}

/** Key lines of a known_hosts text; comments, blank and unreadable lines are skipped, as ssh does. */
export function parseKnownHosts(text: string, file: string): KnownKey[] {
  const keys: KnownKey[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    let marker: KnownKey['marker'];
    if (fields[0].startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [pattern, type, key, ...comment] = fields;
    if (!pattern || !type || !key) return;
    const node = comment.find((c) => c.startsWith(NODE_COMMENT))?.slice(NODE_COMMENT.length);
    keys.push({
      pattern,
      type,
      key,
      ...(marker ? { marker } : {}),
      ...(node ? { node } : {}),
      where: `${file}:${index + 1}`,
      file,
    });
  });
  return keys;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

export class KnownHosts {
  private openSsh: KnownKey[] | undefined;

  /**
   * `path`: the cluster's own file, the only one written. `openSshFiles`: OpenSSH's files
   * (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts), read only, for existing hosts only:
   * Vagrant machines share forwarded addresses (every VirtualBox VM is 127.0.0.1:2222).
   */
  constructor(
    readonly path: string,
    readonly openSshFiles: readonly string[] = [],
  ) {}

  private own(): KnownKey[] {
    return parseKnownHosts(readText(this.path), this.path);
  }

  /** Every line that names this host, from the cluster's file, then OpenSSH's files. */
  recorded(address: string, port: number): KnownKey[] {
    this.openSsh ??= this.openSshFiles.flatMap((file) => parseKnownHosts(readText(file), file));
    const name = hostPattern(address, port);
    return [...this.own(), ...this.openSsh].filter((k) => hostFieldMatches(k.pattern, name));
  }

  check(address: string, port: number, blob: Buffer): HostKeyVerdict {
    const key = blob.toString('base64');
    const lines = this.recorded(address, port);
    const revoked = lines.find((k) => k.marker === 'revoked' && k.key === key);
    if (revoked) return { status: 'revoked', entry: revoked };
    // ssh2 cannot check host certificates, so a @cert-authority line vouches for nothing
    // here; the host is then trusted on first use like any other.
    const plain = lines.filter((k) => k.marker === undefined);
    if (plain.some((k) => k.key === key)) return { status: 'known' };
    return plain.length ? { status: 'changed', recorded: plain } : { status: 'new' };
  }

  /**
   * The host-key algorithms to offer: those of the recorded keys first, then ssh2's
   * defaults, so a host that still has a recorded key negotiates it and any other key
   * it presents is one that was never recorded. Undefined (ssh2's default) for a new host.
   */
  serverHostKeyAlgorithms(address: string, port: number): ServerHostKeyAlgorithm[] | undefined {
    const recorded = this.recorded(address, port)
      .filter((k) => k.marker === undefined)
      .flatMap((k) => algorithmsFor(k.type));
    if (!recorded.length) return undefined;
    return [...new Set([...recorded, ...SSH2_HOST_KEY_ALGORITHMS])];
  }

  /** Records a key for a host in the cluster's file, with the node it belongs to. */
  trust(address: string, port: number, blob: Buffer, node?: string): void {
    const pattern = hostPattern(address, port);
    const type = keyType(blob);
    const entries = this.own().filter((e) => !(e.pattern === pattern && e.type === type));
    entries.push({ pattern, type, key: blob.toString('base64'), ...(node ? { node } : {}), where: '', file: '' });
    this.write(entries);
  }

  /**
   * Removes from the cluster's file every key recorded for `node` (whatever address was
   * dialled: a Vagrant machine's forwarded port) and every key of the given addresses.
   */
  forget(node: string | undefined, places: readonly (readonly [string, number])[]): KnownKey[] {
    const names = places.map(([address, port]) => hostPattern(address, port));
    const entries = this.own();
    const gone = (e: KnownKey) =>
      (node !== undefined && e.node === node) || names.some((name) => hostFieldMatches(e.pattern, name));
    const removed = entries.filter(gone);
    if (removed.length) this.write(entries.filter((e) => !gone(e)));
    return removed;
  }

  private write(entries: readonly KnownKey[]): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const line = (e: KnownKey) =>
      `${e.marker ? `@${e.marker} ` : ''}${e.pattern} ${e.type} ${e.key}${e.node ? ` ${NODE_COMMENT}${e.node}` : ''}\n`;
    writeAtomicSync(this.path, entries.map(line).join(''), 0o600);
  }
}
