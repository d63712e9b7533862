// The built command line, as users run it: exit codes, error format, --json, and the
// JSON Schema it prints. Runs dist/ (npm test builds first).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC_PATH } from '../spec/load.js';
import { FIXTURE_DIR, FIXTURES, REPO_ROOT } from './support/fixtures.js';
import { HOSTILE_SPECS } from './support/hostile-specs.js';
import { run } from './support/tools.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');

function kubestrap(args: string[], cwd = REPO_ROOT) {
  return run(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
}

const INVALID = `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  machines:
    nodes:
      - name: cp
        role: control-plane
        ip: 192.168.56.10
        cpus: 1
      - name: cp
        ip: 192.168.99.5
        storage: false
`;

describe('kubestrap validate', () => {
  it('exits 0 on a valid spec and summarises it', () => {
    const result = kubestrap(['validate', '-f', join(FIXTURE_DIR, 'ha.yaml')]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /valid — cluster ha, Kubernetes 1\.36\.0 \(kubeadm v1beta4\), 3 control-plane \+ 3 worker/,
    );
  });

  it('exits 2 and prints file:line:col field: problem — fix for every error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, INVALID);
    const result = kubestrap(['validate', '-f', file]);
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${file}:6:3 spec.storage.rook: Rook is enabled but no node stores data ` +
        '— set storage: true and add a disk on at least one node, or set enabled: false',
      `${file}:11:15 spec.machines.nodes[0].cpus: ` +
        'control-plane node cp has 1 CPU, kubeadm requires 2 — set cpus: 2 or more',
      `${file}:12:15 spec.machines.nodes[1].name: name cp is used twice (also by cp) — give each node its own name`,
      `${file}:13:13 spec.machines.nodes[1].ip: ` +
        '192.168.99.5 (node cp) is outside the node network 192.168.56.0/24 ' +
        '— use an address inside 192.168.56.0/24 or change spec.machines.network',
      'kubestrap: 4 error(s) in the spec; nothing was changed.',
    ]);
  });

  it('reports the same problems as JSON with --json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, INVALID);
    const result = kubestrap(['validate', '--json', '-f', file]);
    expect(result.status).toBe(2);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      issues: { line: number; column: number; path: (string | number)[] }[];
    };
    expect(report.ok).toBe(false);
    expect(report.issues.map((i) => [i.line, i.column, i.path.join('.')])).toEqual([
      [6, 3, 'spec.storage.rook'],
      [11, 15, 'spec.machines.nodes.0.cpus'],
      [12, 15, 'spec.machines.nodes.1.name'],
      [13, 13, 'spec.machines.nodes.1.ip'],
    ]);
  });

  it('exits 2 with a clear message for a missing file', () => {
    const result = kubestrap(['validate', '-f', '/nonexistent/spec.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('cannot read /nonexistent/spec.yaml: ENOENT');
  });

  it('exits 2 on an unknown option', () => {
    const result = kubestrap(['validate', '--fiel', 'x']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown option '--fiel'");
  });
});

describe('kubestrap render', () => {
  it('renders the embedded default into .kubestrap/<cluster> with no arguments', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
    const result = kubestrap(['render'], cwd);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/rendered 29 files for cluster kubestrap/);
    expect(existsSync(join(cwd, '.kubestrap/kubestrap/Vagrantfile'))).toBe(true);
    const again = kubestrap(['render'], cwd);
    expect(again.stdout).toMatch(/0 written, 29 unchanged/);
  });

  it('writes nothing when the spec is invalid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    writeFileSync(join(dir, 'bad.yaml'), INVALID);
    const result = kubestrap(['render', '-f', 'bad.yaml', '-o', 'out'], dir);
    expect(result.status).toBe(2);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('reports written files as JSON with --json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const result = kubestrap(['render', '--json', '-f', join(FIXTURE_DIR, 'existing.yaml'), '-o', dir]);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; written: string[] };
    expect(report.written).toContain('nodes/m1/etc/kubernetes/kubeadm.conf');
    expect(report.written).not.toContain('Vagrantfile');
  });
});

describe('kubestrap up on the embedded default, on a machine with no provider', () => {
  it('stops before doing anything, saying exactly what to install', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
    // A PATH with nothing on it: no vagrant, VBoxManage or virsh.
    const empty = mkdtempSync(join(tmpdir(), 'empty-path-'));
    const result = run(process.execPath, [CLI, 'up'], { cwd, env: { ...process.env, NO_COLOR: '1', PATH: empty } });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'cluster kubestrap names no provider and this machine has neither VirtualBox nor libvirt ready; ' +
        'this machine lacks:',
    );
    expect(result.stderr).toContain('  - Vagrant is not installed: install Vagrant 2.3 or later');
    expect(result.stderr).toContain('  - VirtualBox is not installed (no VBoxManage on PATH): install VirtualBox 7.0');
    expect(result.stderr).toContain(
      '  - libvirt is not installed (no virsh on PATH): ' +
        'apt install libvirt-daemon-system libvirt-clients qemu-system-x86',
    );
    expect(result.stderr).toContain('Nothing was done.');
    expect(existsSync(join(cwd, '.kubestrap'))).toBe(false);
  });
});

describe('the provider of a spec that names none', () => {
  it('is VirtualBox for render and validate, and the one kubestrap up chose once it has run', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
    expect(kubestrap(['validate'], cwd).stdout).toContain('on virtualbox');
    expect(kubestrap(['render', '-o', 'vbox'], cwd).status).toBe(0);
    expect(readFileSync(join(cwd, 'vbox/cluster/rook-cluster.yaml'), 'utf8')).toMatch(/- name: sdb\n/);
    mkdirSync(join(cwd, '.kubestrap/kubestrap'), { recursive: true });
    writeFileSync(join(cwd, '.kubestrap/kubestrap/state.json'), '{"provider": "libvirt"}\n');
    expect(kubestrap(['validate'], cwd).stdout).toContain('on libvirt');
    expect(kubestrap(['render'], cwd).status).toBe(0);
    // libvirt disks are virtio: Rook is told /dev/vdb, not VirtualBox's /dev/sdb.
    const rook = readFileSync(join(cwd, '.kubestrap/kubestrap/cluster/rook-cluster.yaml'), 'utf8');
    expect(rook).toMatch(/- name: vdb\n/);
    expect(rook).not.toContain('sdb');
  });
});

describe('kubestrap forget-host', () => {
  it("removes that node's keys as they were stored (the dialled address) and shows what it removed", () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cli-'));
    const path = join(cwd, '.kubestrap/kubestrap/known_hosts');
    mkdirSync(join(cwd, '.kubestrap/kubestrap'), { recursive: true });
    // Vagrant's forwarded port, recorded with the node; an older entry by the node's IP; another node's key.
    const worker1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIOlVSpYZ3xBvq1o3NbEVc4B1gJ3EatnJBdsBkBKRzIN1';
    const byIp = 'AAAAC3NzaC1lZDI1NTE5AAAAIA1';
    const worker2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIA2';
    writeFileSync(
      path,
      `[127.0.0.1]:2222 ssh-ed25519 ${worker1} kubestrap-node=worker1\n` +
        `192.168.56.21 ssh-ed25519 ${byIp}\n` +
        `[127.0.0.1]:2200 ssh-ed25519 ${worker2} kubestrap-node=worker2\n`,
    );
    const sha = (key: string) =>
      `SHA256:${createHash('sha256').update(Buffer.from(key, 'base64')).digest('base64').replace(/=+$/, '')}`;
    const result = kubestrap(['forget-host', 'worker1'], cwd);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      `forgot 2 host key(s) of worker1 in ${path}:\n` +
        `  [127.0.0.1]:2222 ssh-ed25519 ${sha(worker1)}\n` +
        `  192.168.56.21 ssh-ed25519 ${sha(byIp)}\n`,
    );
    expect(readFileSync(path, 'utf8')).toBe(`[127.0.0.1]:2200 ssh-ed25519 ${worker2} kubestrap-node=worker2\n`);
    const again = kubestrap(['forget-host', 'worker1', '--json'], cwd);
    expect(JSON.parse(again.stdout)).toEqual({ ok: true, node: 'worker1', path, removed: [] });
  });

  it('exits 2 for an unknown node, listing the nodes', () => {
    const result = kubestrap(['forget-host', 'nope'], mkdtempSync(join(tmpdir(), 'cli-')));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no node nope in cluster kubestrap; nodes: cp, worker1, worker2');
  });
});

describe('kubestrap schema', () => {
  const result = kubestrap(['schema']);
  const schema = JSON.parse(result.stdout) as Record<string, unknown>;
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);

  it('prints a JSON Schema (draft 2020-12) with descriptions for editors', () => {
    expect(result.status).toBe(0);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(JSON.stringify(schema)).toContain('Exact Kubernetes release');
  });

  it.each([...FIXTURES.map((f) => join(FIXTURE_DIR, `${f}.yaml`)), DEFAULT_SPEC_PATH])('accepts %s', (path) => {
    expect(validate(parse(readFileSync(path, 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects what validate rejects at the field level (the schema can fail)', () => {
    const spec = parse(
      INVALID.replace('role: control-plane', 'role: master').replace('cpus: 1', 'cpus: one'),
    ) as object;
    expect(validate(spec)).toBe(false);
    expect(validate.errors!.map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(['/spec/machines/nodes/0/role', '/spec/machines/nodes/0/cpus']),
    );
  });
});

// Speed and memory are measured by bench/hostile-spec.ts, never asserted here.
describe('kubestrap validate on hostile specs', () => {
  it.each(HOSTILE_SPECS.map((spec) => [spec.name, spec] as const))(
    '%s: exit 2 with the file, line and column',
    (_name, spec) => {
      let file = spec.path;
      if (!file) {
        file = join(mkdtempSync(join(tmpdir(), 'hostile-')), 'spec.yaml');
        writeFileSync(file, spec.content!());
      }
      const result = kubestrap(['validate', '-f', file]);
      expect(result.status, result.stderr).toBe(2);
      const line = result.stderr.split('\n').find((l) => l.startsWith(`${file}:${spec.at} `));
      expect(line, result.stderr.slice(0, 2000)).toMatch(spec.message);
      // A value is echoed cut short: no error line carries more than a few hundred characters.
      for (const l of result.stderr.split('\n')) expect(l.length).toBeLessThan(600);
    },
  );
});
