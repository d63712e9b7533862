// Golden files for every fixture (review diffs like code; `npx vitest run test/render.test.ts -u`
// rewrites them; -u takes a value, so it goes last; without it a missing golden file fails),
// plus the properties the rest of kubestrap relies on: determinism, modes, a manifest that
// matches the files, no secret material.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeRender } from '../operations/render-dir.js';
import { parseAllDocuments, parseDocument } from 'yaml';
import { loadSpec, loadSpecText } from '../spec/load.js';
import { sha256 } from '../base/digest.js';
import { MANIFEST_PATH, renderCluster, type RenderManifest } from '../templates/render.js';
import { FIXTURE_DIR, FIXTURES, renderFixture } from './support/fixtures.js';

describe.each(FIXTURES)('render %s', (name) => {
  it('matches the golden files', async () => {
    const { files } = await renderFixture(name);
    for (const file of files) {
      await expect(
        file.content,
        `test/golden/${name}/${file.path} (missing or different; ` +
          '`npx vitest run test/render.test.ts -u` rewrites it: review the diff like code)',
      ).toMatchFileSnapshot(`golden/${name}/${file.path}`);
    }
  });

  it('renders byte-identical output twice, in memory and on disk', async () => {
    const first = await renderFixture(name);
    const second = await renderFixture(name);
    expect(second.files).toEqual(first.files);
    for (const file of first.files) {
      expect(readFileSync(join(second.dir, file.path))).toEqual(readFileSync(join(first.dir, file.path)));
    }
  });

  it('lists every file in the manifest with its sha256 and mode', async () => {
    const { files, dir } = await renderFixture(name);
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_PATH), 'utf8')) as RenderManifest;
    const rendered = files.filter((f) => f.path !== MANIFEST_PATH);
    expect(manifest.files.map((f) => f.path)).toEqual(rendered.map((f) => f.path));
    for (const entry of manifest.files) {
      expect(sha256(readFileSync(join(dir, entry.path), 'utf8'))).toBe(entry.sha256);
    }
  });
});

describe('render output', () => {
  it('renders the embedded default with no spec: 1 control plane, 2 workers, Weave, Rook, VirtualBox', async () => {
    const { model } = await loadSpec();
    const paths = renderCluster(model).map((f) => f.path);
    expect(model.machines.provider).toBe('virtualbox');
    expect(model.nodes.map((n) => `${n.name}:${n.role}`)).toEqual([
      'cp:control-plane',
      'worker1:worker',
      'worker2:worker',
    ]);
    expect(paths).toContain('Vagrantfile');
    expect(paths).toContain('cluster/weave-net.yaml');
    expect(paths).toContain('cluster/rook-cluster.yaml');
  });

  it("gives kubeadm.conf mode 0600 on disk, keepalived's check script 0755 and everything else 0644", async () => {
    const { files, dir } = await renderFixture('ha');
    const { statSync } = await import('node:fs');
    const special: [RegExp, number][] = [
      [/\/kubeadm\.conf$/, 0o600],
      [/\/kubestrap-check-apiserver\.sh$/, 0o755],
    ];
    for (const [pattern] of special)
      expect(
        files.some((f) => pattern.test(f.path)),
        String(pattern),
      ).toBe(true);
    for (const file of files) {
      const mode = statSync(join(dir, file.path)).mode & 0o777;
      expect(mode, file.path).toBe(special.find(([pattern]) => pattern.test(file.path))?.[1] ?? 0o644);
    }
  });

  it('writes nothing for existing hosts but node files and cluster manifests (no Vagrantfile)', async () => {
    const { files } = await renderFixture('existing');
    expect(files.map((f) => f.path).filter((p) => !p.startsWith('nodes/') && !p.startsWith('cluster/'))).toEqual([
      MANIFEST_PATH,
    ]);
  });

  it('pins the kubelet and API server to the private address, never the NAT one', async () => {
    const { files, loaded } = await renderFixture('source-lab');
    for (const node of loaded.model.nodes) {
      const kubeadm = files.find((f) => f.path === `nodes/${node.name}/etc/kubernetes/kubeadm.conf`)!.content;
      expect(kubeadm).toContain(`value: ${node.ip}`);
      expect(kubeadm).not.toContain('10.0.2.15');
      const defaults = files.find((f) => f.path === `nodes/${node.name}/etc/sysconfig/kubelet`)!.content;
      expect(defaults).toContain(`--node-ip=${node.ip}`);
    }
  });

  it('never writes a join token, CA hash, certificate key or Weave password', async () => {
    for (const name of FIXTURES) {
      const { files } = await renderFixture(name);
      for (const file of files) {
        expect(file.content, file.path).not.toMatch(/[a-z0-9]{6}\.[a-z0-9]{16}/);
        expect(file.content, file.path).not.toMatch(/sha256:[0-9a-f]{64}/);
        expect(file.content, file.path).not.toMatch(
          /certificateKey|WEAVE_PASSWORD\s*=|value:\s*[A-Za-z0-9+/]{20,}={0,2}$/m,
        );
      }
    }
  });

  it('removes files an earlier render made that this one does not, and nothing else', async () => {
    const big = await renderFixture('ha');
    const { writeFileSync, existsSync } = await import('node:fs');
    writeFileSync(join(big.dir, 'notes.txt'), 'mine');
    const smaller = big.files.filter((f) => !f.path.startsWith('nodes/cp2/'));
    const summary = await writeRender(big.dir, smaller, big.loaded.model.name);
    expect(summary.removed).toContain('nodes/cp2/etc/kubernetes/kubeadm.conf');
    expect(existsSync(join(big.dir, 'nodes/cp2/etc/kubernetes/kubeadm.conf'))).toBe(false);
    expect(existsSync(join(big.dir, 'notes.txt'))).toBe(true);
  });

  it('removes nothing a planted or foreign manifest.json lists but our own unchanged files', async () => {
    const { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const outside = mkdtempSync(join(tmpdir(), 'render-outside-'));
    const dir = mkdtempSync(join(tmpdir(), 'render-planted-'));
    const victims = {
      parent: join(outside, 'parent.txt'),
      absolute: join(outside, 'absolute.txt'),
      viaLink: join(outside, 'via-link.txt'),
    };
    for (const path of Object.values(victims)) writeFileSync(path, 'keep');
    writeFileSync(join(dir, 'notes.txt'), 'keep');
    writeFileSync(join(dir, 'edited.txt'), 'the user changed this');
    writeFileSync(join(dir, 'ours.txt'), 'as rendered');
    mkdirSync(join(dir, 'sub'));
    symlinkSync(outside, join(dir, 'link'));
    const entry = (path: string, content = 'keep') => ({ path, mode: '0644', sha256: sha256(content) });
    const manifest = (cluster: string) =>
      JSON.stringify({
        kind: 'RenderManifest',
        cluster,
        files: [
          entry(`../${outside.split('/').pop()}/parent.txt`),
          entry(`sub/../../${outside.split('/').pop()}/parent.txt`),
          entry(victims.absolute),
          entry('link/via-link.txt'),
          entry('edited.txt', 'as rendered'),
          entry('ours.txt', 'as rendered'),
        ],
      });
    const files = renderCluster((await loadSpec(join(FIXTURE_DIR, 'ha.yaml'))).model);
    // Another cluster's manifest: nothing of it is ours to remove.
    writeFileSync(join(dir, MANIFEST_PATH), manifest('another'));
    expect((await writeRender(dir, files, 'ha')).removed).toEqual([]);
    expect(existsSync(join(dir, 'ours.txt'))).toBe(true);
    // Our cluster's name: only the file still exactly as the manifest says goes.
    writeFileSync(join(dir, MANIFEST_PATH), manifest('ha'));
    expect((await writeRender(dir, files, 'ha')).removed).toEqual(['ours.txt']);
    for (const path of [...Object.values(victims), join(dir, 'notes.txt'), join(dir, 'edited.txt')])
      expect(existsSync(path), path).toBe(true);
  });

  it('refuses to write through a symlink planted inside the directory', async () => {
    const { mkdtempSync, symlinkSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const outside = mkdtempSync(join(tmpdir(), 'render-outside-'));
    const dir = mkdtempSync(join(tmpdir(), 'render-link-'));
    symlinkSync(outside, join(dir, 'nodes'));
    const files = renderCluster((await loadSpec(join(FIXTURE_DIR, 'ha.yaml'))).model);
    await expect(writeRender(dir, files, 'ha')).rejects.toThrow(/nodes is a symbolic link/);
    expect(existsSync(join(outside, 'cp1'))).toBe(false);
  });
});

// Ruby's Psych (vagrant_config.yml) and go-yaml v2 under sigs.k8s.io/yaml (kubeadm,
// kubectl, kubelet) read YAML 1.1, where a plain on, off, yes or 2024-01-01 is not a string.
describe('rendered YAML means the same to a YAML 1.1 reader', () => {
  const SPEC = `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  machines:
    box:
      version: 2024-01-01
    nodes:
      - name: on
        role: control-plane
        ip: 192.168.56.10
        labels:
          tier: "yes"
      - name: off
        ip: 192.168.56.11
        disks:
          - size: 10
`;

  it('every YAML file reads the same as YAML 1.1 and 1.2 (node names on/off, box version 2024-01-01)', () => {
    const { model } = loadSpecText(SPEC, 'spec.yaml');
    expect(model.nodes.map((n) => n.name)).toEqual(['on', 'off']);
    const files = renderCluster(model).filter((f) => /\.ya?ml$|kubeadm\.conf$|kubeconfig$/.test(f.path));
    expect(files.map((f) => f.path)).toContain('vagrant_config.yml');
    for (const file of files) {
      const read = (version: '1.1' | '1.2') => parseAllDocuments(file.content, { version }).map((d) => d.toJS());
      expect(read('1.1'), file.path).toEqual(read('1.2'));
    }
    const config = parseDocument(files.find((f) => f.path === 'vagrant_config.yml')!.content, { version: '1.1' });
    expect(config.toJS()).toMatchObject({ box: { version: '2024-01-01' }, nodes: [{ name: 'on' }, { name: 'off' }] });
  });
});
