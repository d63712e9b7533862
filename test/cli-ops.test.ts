// The built command line as an operator meets it around one cluster: one changing run
// at a time (the cluster lock, with real CLI processes), the state directory's modes
// and git-ignore, a dry run that leaves nothing behind, and --json as one object per
// line for every command. Runs dist/ (npm test builds first).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_DIR, REPO_ROOT } from './support/fixtures.js';
import { run } from './support/tools.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const env = { ...process.env, NO_COLOR: '1', CI: '1' };
const kubestrap = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [CLI, ...args], { cwd, env: { ...env, ...extra } });

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** A spec of one existing host whose "sshd" is `port` on this machine. */
function existingSpec(dir: string, port: number): string {
  const key = join(dir, 'key');
  if (!existsSync(key)) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const file = join(dir, 'spec.yaml');
  writeFileSync(
    file,
    `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: locked
spec:
  kubernetes:
    version: 1.36.5
  os:
    family: debian
  machines:
    provider: existing
    network: 127.0.0.0/8
    ssh:
      user: ops
      keyPath: ${key}
      port: ${port}
    nodes:
      - name: cp
        role: control-plane
        ip: 127.0.0.1
  storage:
    rook:
      enabled: false
`,
  );
  return file;
}

/** A VirtualBox spec (no machines exist), optionally with a box file that is not there. */
function virtualboxSpec(dir: string, boxFile?: string): string {
  const file = join(dir, 'vb.yaml');
  const box = boxFile ? `    box:\n      name: test/box\n      file: ${boxFile}\n` : '';
  writeFileSync(
    file,
    `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: vb
spec:
  kubernetes:
    version: 1.36.5
  machines:
    provider: virtualbox
${box}    network: 192.168.56.0/24
    nodes:
      - name: cp
        role: control-plane
        ip: 192.168.56.10
  storage:
    rook:
      enabled: false
`,
  );
  return file;
}

/**
 * A PATH for a VirtualBox cluster on a machine without VirtualBox: the VBoxManage
 * double (test/doubles) and the real Vagrant, or where Vagrant is not installed a
 * stand-in that answers only what these tests reach (its version, an empty box list)
 * and fails on anything else.
 */
function virtualboxPath(): NodeJS.ProcessEnv {
  const bin = mkdtempSync(join(tmpdir(), 'vb-path-'));
  const real = spawnSync('sh', ['-c', 'command -v vagrant'], { encoding: 'utf8' }).stdout.trim();
  if (!real) {
    writeFileSync(
      join(bin, 'vagrant'),
      '#!/bin/sh\ncase "$1 $2" in\n  "--version "*) echo "Vagrant 2.3.4" ;;\n  "box list") ;;\n' +
        '  *) echo "vagrant stand-in: unexpected call: $*" >&2; exit 1 ;;\nesac\n',
    );
    chmodSync(join(bin, 'vagrant'), 0o755);
  }
  return {
    PATH: `${join(REPO_ROOT, 'test', 'doubles')}:${bin}:${process.env.PATH}`,
    VAGRANT_HOME: mkdtempSync(join(tmpdir(), 'vagrant-home-')),
  };
}

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
  });
}

/** This process's start time as /proc/PID/stat gives it (field 22). */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('one changing run per cluster', () => {
  // An "sshd" that accepts and never speaks: a run connecting to it holds the lock for
  // as long as the test needs.
  let silent: Server;
  let port: number;
  beforeAll(async () => {
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as { port: number }).port;
  });
  afterAll(() => void silent.close());

  it('refuses a second run with exit 2 naming the holder; the first releases the lock on Ctrl-C', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'lock-'));
    const spec = existingSpec(cwd, port);
    const lock = join(cwd, '.kubestrap/locked/lock');
    const first = spawn(process.execPath, [CLI, 'up', '--dry-run', '-f', spec], { cwd, env, stdio: 'ignore' });
    try {
      await until('the first run to take the lock', () => existsSync(lock));
      const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; command: string; startedAt: string };
      expect(holder).toMatchObject({ pid: first.pid, command: 'up', processStart: startTime(first.pid!) });
      for (const args of [['up', '--dry-run'], ['reset', '--yes'], ['forget-host', 'cp'], ['render']]) {
        const second = kubestrap([...args, '-f', spec], cwd);
        expect(second.status, args.join(' ')).toBe(2);
        expect(second.stderr).toContain(
          `kubestrap: cluster locked is busy: kubestrap up (PID ${first.pid}, started ${holder.startedAt})`,
        );
        expect(second.stderr).toContain('Nothing was done.');
      }
      // With --json the refusal is a JSON line too.
      const json = kubestrap(['up', '--dry-run', '--json', '-f', spec], cwd);
      expect(json.status).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: expect.stringContaining('is busy') });
      // Read-only commands do not wait for it.
      expect(kubestrap(['validate', '-f', spec], cwd).status).toBe(0);
      expect(kubestrap(['render', '-o', 'elsewhere', '-f', spec], cwd).status).toBe(0);
      expect(readFileSync(lock, 'utf8')).toContain(`"pid":${first.pid}`);
      // Ctrl-C twice (the second ends the run at once): the lock goes with it.
      first.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 500));
      first.kill('SIGINT');
      expect(await exited(first)).toBe(130);
      expect(existsSync(lock)).toBe(false);
    } finally {
      first.kill('SIGKILL');
    }
  });

  it('releases the lock when the run is terminated (SIGTERM)', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'lock-'));
    const spec = existingSpec(cwd, port);
    const lock = join(cwd, '.kubestrap/locked/lock');
    const first = spawn(process.execPath, [CLI, 'reset', '--yes', '-f', spec], { cwd, env, stdio: 'ignore' });
    try {
      await until('the run to take the lock', () => existsSync(lock));
      first.kill('SIGTERM');
      await exited(first);
      expect(first.signalCode).toBe('SIGTERM');
      expect(existsSync(lock)).toBe(false);
    } finally {
      first.kill('SIGKILL');
    }
  });

  it("takes over a dead run's lock, and one whose PID now belongs to another process, saying so", () => {
    const cwd = mkdtempSync(join(tmpdir(), 'lock-'));
    const spec = existingSpec(cwd, 1);
    const lock = join(cwd, '.kubestrap/locked/lock');
    mkdirSync(join(cwd, '.kubestrap/locked'), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    const plant = (holder: object) =>
      writeFileSync(lock, JSON.stringify({ command: 'up', startedAt: '2026-01-01T00:00:00.000Z', ...holder }));

    plant({ pid: dead, host: hostname() });
    let result = kubestrap(['render', '-f', spec], cwd);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(
      'kubestrap: taking over the lock of cluster locked left by kubestrap up ' +
        `(started 2026-01-01T00:00:00.000Z): PID ${dead} no longer runs`,
    );
    expect(existsSync(lock)).toBe(false);

    // This test process is alive; with another start time its PID is a reused one.
    plant({ pid: process.pid, processStart: '1', host: hostname() });
    result = kubestrap(['forget-host', 'cp', '-f', spec], cwd);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`PID ${process.pid} now belongs to another process`);

    // With its real start time it holds the lock.
    plant({ pid: process.pid, processStart: startTime(process.pid), host: hostname() });
    result = kubestrap(['render', '-f', spec], cwd);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`kubestrap up (PID ${process.pid}, started 2026-01-01T00:00:00.000Z)`);
    expect(existsSync(lock)).toBe(true);
  });
});

describe("the cluster's state directory", () => {
  it('is private and ignores itself in a git repository, and render dirs are 0755, under umask 000', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'state-'));
    expect(spawnSync('git', ['init', '-q', cwd]).status).toBe(0);
    const result = spawnSync(
      'sh',
      ['-c', 'umask 000; exec "$0" "$@"', process.execPath, CLI, 'render', '-f', join(FIXTURE_DIR, 'ha.yaml')],
      { cwd, env, encoding: 'utf8' },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(mode(join(cwd, '.kubestrap'))).toBe('700');
    expect(mode(join(cwd, '.kubestrap/ha'))).toBe('700');
    expect(mode(join(cwd, '.kubestrap/ha/nodes/cp1/etc'))).toBe('755');
    expect(readFileSync(join(cwd, '.kubestrap/.gitignore'), 'utf8')).toMatch(/^\*$/m);
    const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd, encoding: 'utf8' });
    expect(status.stdout).toBe('');

    const out = spawnSync(
      'sh',
      [
        '-c',
        'umask 000; exec "$0" "$@"',
        process.execPath,
        CLI,
        'render',
        '-o',
        'out',
        '-f',
        join(FIXTURE_DIR, 'ha.yaml'),
      ],
      { cwd, env, encoding: 'utf8' },
    );
    expect(out.status, out.stderr).toBe(0);
    for (const dir of ['out', 'out/nodes', 'out/nodes/cp1/etc/kubernetes'])
      expect(mode(join(cwd, dir)), dir).toBe('755');
    // A narrower umask does not narrow them either: render dirs are for reading.
    const narrow = spawnSync(
      'sh',
      [
        '-c',
        'umask 077; exec "$0" "$@"',
        process.execPath,
        CLI,
        'render',
        '-o',
        'out2',
        '-f',
        join(FIXTURE_DIR, 'ha.yaml'),
      ],
      { cwd, env, encoding: 'utf8' },
    );
    expect(narrow.status, narrow.stderr).toBe(0);
    for (const dir of ['out2', 'out2/nodes/cp1/etc']) expect(mode(join(cwd, dir)), dir).toBe('755');
  });

  it("is in the project's .gitignore", () => {
    expect(readFileSync(join(REPO_ROOT, '.gitignore'), 'utf8').split('\n')).toContain('.kubestrap/');
  });

  it('is left untouched by an up --dry-run that stops with exit 2', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dry-'));
    const spec = virtualboxSpec(cwd, 'missing.box');
    const result = kubestrap(['up', '--dry-run', '-f', spec], cwd, virtualboxPath());
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain('missing.box does not exist');
    expect(existsSync(join(cwd, '.kubestrap/vb/Vagrantfile'))).toBe(false);
    expect(existsSync(join(cwd, '.kubestrap/vb/manifest.json'))).toBe(false);
    expect(existsSync(join(cwd, '.kubestrap/vb'))).toBe(false);
  });
});

describe('--json: one JSON object per line, for every command', () => {
  it.each([
    ['validate', () => ['validate', '-f', join(FIXTURE_DIR, 'ha.yaml')]],
    ['validate (invalid spec)', (d: string) => ['validate', '-f', join(d, 'bad.yaml')]],
    ['render', (d: string) => ['render', '-f', join(d, 'warn.yaml')]],
    ['render -o', (d: string) => ['render', '-o', 'out', '-f', join(d, 'warn.yaml')]],
    ['status (no machines)', (d: string) => ['status', '-f', join(d, 'vb.yaml')]],
    ['up --dry-run (no machines)', (d: string) => ['up', '--dry-run', '-f', join(d, 'vb.yaml')]],
    ['install without --bundle', (d: string) => ['install', '-f', join(d, 'vb.yaml')]],
    ['preflight (bad --concurrency)', (d: string) => ['preflight', '--concurrency', '0', '-f', join(d, 'vb.yaml')]],
    ['reset (bad --concurrency)', (d: string) => ['reset', '--concurrency', '0', '-f', join(d, 'vb.yaml')]],
    ['verify (bad --timeout)', (d: string) => ['verify', '--timeout', '5 minutes', '-f', join(d, 'vb.yaml')]],
    ['destroy (existing hosts)', () => ['destroy', '--yes', '-f', join(FIXTURE_DIR, 'existing.yaml')]],
    ['forget-host', (d: string) => ['forget-host', 'cp', '-f', join(d, 'vb.yaml')]],
    ['bundle (no -o)', (d: string) => ['bundle', '-f', join(d, 'vb.yaml')]],
    ['bundle verify (no file)', (d: string) => ['bundle', 'verify', join(d, 'none.tar')]],
  ])('%s', (_name, args) => {
    const cwd = mkdtempSync(join(tmpdir(), 'json-'));
    virtualboxSpec(cwd);
    writeFileSync(join(cwd, 'bad.yaml'), 'apiVersion: kubestrap.dev/v1alpha1\nkind: Cluster\nmetadata: {}\n');
    // A spec with a warning (a network VirtualBox does not allow by default), valid all the same.
    writeFileSync(
      join(cwd, 'warn.yaml'),
      readFileSync(join(cwd, 'vb.yaml'), 'utf8').replaceAll('192.168.56.', '10.20.0.'),
    );
    const result = kubestrap([...args(cwd), '--json'], cwd, virtualboxPath());
    const lines = result.stdout.split('\n').filter((l) => l !== '');
    expect(lines.length, `stdout: ${result.stdout}\nstderr: ${result.stderr}`).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    for (const line of lines) expect(typeof JSON.parse(line), line).toBe('object');
    if (args(cwd)[0] === 'render') {
      // The spec's warning is in the JSON, not dropped.
      expect(result.status).toBe(0);
      const report = JSON.parse(lines[0]!) as { issues: { severity: string; path: string[] }[] };
      expect(report.issues).toEqual([
        expect.objectContaining({ severity: 'warning', path: ['spec', 'machines', 'network'] }),
      ]);
    }
  });
});

describe('verify', () => {
  it('refuses a --timeout that is not a duration, before reading the spec or reaching a host (exit 2)', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'verify-'));
    const result = kubestrap(['verify', '--timeout', '5x', '-f', join(cwd, 'none.yaml')], cwd, virtualboxPath());
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--timeout must be a duration such as 90s, 5m or 1h (at most 24h), not 5x');
  });
});
