// known_hosts as OpenSSH reads it, checked against files the real ssh-keygen writes
// (hashed with -H) and against ssh-keygen -F's own lookups; the cluster's file, where a
// key of an unrecorded type is a changed key; forgetting by node; private key modes.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, hostFieldMatches, KnownHosts, parseKnownHosts } from '../ssh/known-hosts.js';
import { readPrivateKey, unprotectedKeyWarning } from '../ssh/private-key.js';

let dir: string;
const keys: Record<string, { line: string; blob: Buffer; path: string }> = {};

function makeKey(name: string, type: string): void {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', path]);
  const line = readFileSync(`${path}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  keys[name] = { line, blob: Buffer.from(line.split(' ')[1]!, 'base64'), path };
}

const key = (name: string) => keys[name]!;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'known-hosts-'));
  makeKey('a', 'ed25519');
  makeKey('b', 'ed25519');
  makeKey('rsa', 'rsa');
  makeKey('ecdsa', 'ecdsa');
});

describe("OpenSSH's known_hosts", () => {
  /** A known_hosts file written plain, then hashed by the real ssh-keygen -H. */
  function hashed(text: string): string {
    const path = join(dir, `known_hosts-${Math.random().toString(36).slice(2)}`);
    writeFileSync(path, text);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', path], { stdio: 'ignore' });
    return path;
  }

  it('matches hashed names, [host]:port for other ports, as ssh-keygen -F finds them', () => {
    const path = hashed(
      `10.0.0.5 ${key('a').line}\n[10.0.0.6]:2222 ${key('b').line}\nweb.example.com,10.0.0.7 ${key('rsa').line}\n`,
    );
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('10.0.0.');
    const known = new KnownHosts(join(dir, 'cluster-1'), [path]);
    for (const [address, port, name] of [
      ['10.0.0.5', 22, 'a'],
      ['10.0.0.6', 2222, 'b'],
      ['10.0.0.7', 22, 'rsa'],
      ['WEB.example.com', 22, 'rsa'],
    ] as const) {
      expect(known.check(address, port, key(name).blob), `${address}:${port}`).toEqual({ status: 'known' });
      const lookup = port === 22 ? address.toLowerCase() : `[${address}]:${port}`;
      const found = execFileSync('ssh-keygen', ['-F', lookup, '-f', path], { encoding: 'utf8' });
      expect(found).toContain(key(name).line.split(' ')[1]);
    }
    // The same address on port 22 is another host; so is 10.0.0.5 on 2222.
    expect(known.check('10.0.0.6', 22, key('b').blob)).toEqual({ status: 'new' });
    expect(known.check('10.0.0.5', 2222, key('a').blob)).toEqual({ status: 'new' });
  });

  it('calls a key of another type than the recorded ones changed, naming file and line', () => {
    const path = hashed(`# comment\n10.0.0.5 ${key('a').line}\n`);
    const verdict = new KnownHosts(join(dir, 'cluster-2'), [path]).check('10.0.0.5', 22, key('rsa').blob);
    expect(verdict.status).toBe('changed');
    if (verdict.status !== 'changed') return;
    expect(verdict.recorded.map((k) => [k.type, k.key, k.where])).toEqual([
      ['ssh-ed25519', key('a').line.split(' ')[1], `${path}:2`],
    ]);
  });

  it('reads wildcards and negated patterns as OpenSSH does', () => {
    expect(hostFieldMatches('*.lab,!db?.lab', 'web1.lab')).toBe(true);
    expect(hostFieldMatches('*.lab,!db?.lab', 'db1.lab')).toBe(false);
    expect(hostFieldMatches('[10.0.0.*]:2222', '[10.0.0.9]:2222')).toBe(true);
    expect(hostFieldMatches('10.0.0.*', '[10.0.0.9]:2222')).toBe(false);
    expect(hostFieldMatches('10.0.0.1', '10.0.0.10')).toBe(false);
  });

  it('refuses a @revoked key, and lets @cert-authority lines vouch for nothing (ssh2 has no host certificates)', () => {
    const path = join(dir, 'markers');
    writeFileSync(path, `@revoked * ${key('a').line}\n@cert-authority *.lab ${key('b').line}\n`);
    const known = new KnownHosts(join(dir, 'cluster-3'), [path]);
    expect(known.check('10.0.0.5', 22, key('a').blob)).toMatchObject({
      status: 'revoked',
      entry: { where: `${path}:1`, marker: 'revoked' },
    });
    expect(known.check('web.lab', 22, key('rsa').blob)).toEqual({ status: 'new' });
    expect(known.serverHostKeyAlgorithms('web.lab', 22)).toBeUndefined();
  });
});

describe("the cluster's known_hosts", () => {
  it('a host known by ed25519 that offers ssh-rsa is changed, not new', () => {
    const known = new KnownHosts(join(dir, 'cluster-4'));
    known.trust('10.0.0.5', 22, key('a').blob, 'cp');
    expect(known.check('10.0.0.5', 22, key('a').blob)).toEqual({ status: 'known' });
    expect(known.check('10.0.0.5', 22, key('rsa').blob)).toMatchObject({
      status: 'changed',
      recorded: [{ type: 'ssh-ed25519', node: 'cp', where: `${known.path}:1` }],
    });
  });

  it('offers the recorded key types first (every signature algorithm of an RSA key), then the rest', () => {
    const known = new KnownHosts(join(dir, 'cluster-5'));
    expect(known.serverHostKeyAlgorithms('10.0.0.5', 22)).toBeUndefined();
    known.trust('10.0.0.5', 22, key('rsa').blob, 'cp');
    known.trust('10.0.0.5', 22, key('ecdsa').blob, 'cp');
    expect(known.serverHostKeyAlgorithms('10.0.0.5', 22)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ecdsa-sha2-nistp256',
      'ssh-ed25519',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
    ]);
  });

  it('forgets what was stored for a node, whatever address was dialled, and returns it', () => {
    const known = new KnownHosts(join(dir, 'cluster-6'));
    known.trust('127.0.0.1', 2222, key('a').blob, 'cp');
    known.trust('127.0.0.1', 2200, key('b').blob, 'worker1');
    writeFileSync(known.path, `${readFileSync(known.path, 'utf8')}192.168.56.10 ${key('rsa').line}\n`);
    const removed = known.forget('cp', [['192.168.56.10', 22]]);
    expect(removed.map((k) => [k.pattern, k.type, fingerprint(Buffer.from(k.key, 'base64'))])).toEqual([
      ['[127.0.0.1]:2222', 'ssh-ed25519', fingerprint(key('a').blob)],
      ['192.168.56.10', 'ssh-rsa', fingerprint(key('rsa').blob)],
    ]);
    expect(readFileSync(known.path, 'utf8')).toBe(`[127.0.0.1]:2200 ${key('b').line} kubestrap-node=worker1\n`);
    expect(parseKnownHosts(readFileSync(known.path, 'utf8'), known.path)[0]?.node).toBe('worker1');
  });
});

describe('private key permissions', () => {
  it('warns about a key group or others may read, naming the file and chmod 600, as OpenSSH refuses it', () => {
    const path = key('a').path;
    chmodSync(path, 0o644);
    const warnings: string[] = [];
    expect(readPrivateKey(path, (w) => warnings.push(w))).toEqual(readFileSync(path));
    expect(warnings).toEqual([
      `warning: private key ${path} is accessible by others (mode 0644); OpenSSH refuses such a key ` +
        `("UNPROTECTED PRIVATE KEY FILE!"). Fix: chmod 600 ${path}`,
    ]);
    chmodSync(path, 0o600);
    readPrivateKey(path, (w) => warnings.push(w));
    expect(warnings).toHaveLength(1);
    expect(unprotectedKeyWarning(path, 0o100640)).toContain('(mode 0640)');
    expect(unprotectedKeyWarning(path, 0o100400)).toBeUndefined();
  });
});
