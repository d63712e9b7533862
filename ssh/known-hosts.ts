// Trust on first use, into a kubestrap-owned known_hosts per cluster (OpenSSH format,
// 0600). A changed key is a hard error; `forget` drops a host's keys (destroy and
// rebuild recreate VMs on the same addresses).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
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

interface Entry {
  pattern: string;
  type: string;
  key: string;
}

export type HostKeyVerdict = { status: 'known' } | { status: 'new' } | { status: 'changed'; known: string };

export class KnownHosts {
  constructor(readonly path: string) {}

  private read(): Entry[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('#'))
      .map((line) => {
        const [pattern = '', type = '', key = ''] = line.trim().split(/\s+/);
        return { pattern, type, key };
      });
  }

  private write(entries: Entry[]): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    writeAtomicSync(this.path, entries.map((e) => `${e.pattern} ${e.type} ${e.key}\n`).join(''), 0o600);
  }

  check(address: string, port: number, blob: Buffer): HostKeyVerdict {
    const pattern = hostPattern(address, port);
    const type = keyType(blob);
    const key = blob.toString('base64');
    const same = this.read().filter((e) => e.pattern === pattern && e.type === type);
    if (same.length === 0) return { status: 'new' };
    if (same.some((e) => e.key === key)) return { status: 'known' };
    return { status: 'changed', known: fingerprint(Buffer.from(same[0]!.key, 'base64')) };
  }

  trust(address: string, port: number, blob: Buffer): void {
    const pattern = hostPattern(address, port);
    const type = keyType(blob);
    const entries = this.read().filter((e) => !(e.pattern === pattern && e.type === type));
    entries.push({ pattern, type, key: blob.toString('base64') });
    this.write(entries);
  }

  /** Removes every key of a host; returns how many were removed. */
  forget(address: string, port: number): number {
    const pattern = hostPattern(address, port);
    const entries = this.read();
    const kept = entries.filter((e) => e.pattern !== pattern);
    if (kept.length !== entries.length) this.write(kept);
    return entries.length - kept.length;
  }
}
