// The sandbox image containerd is configured with must be the pause image kubeadm of that
// minor deploys, or the kubelet pulls a second pause image and kubeadm's preflight warns.
// kubestrap's table (spec/versions.ts) is checked against the kubeadm double's own table
// (test/doubles/kubeadm, from kubeadm's constants per minor), which is kept apart from it
// on purpose: comparing kubestrap with itself would catch nothing.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpecText } from '../spec/load.js';
import { SUPPORTED_MINORS } from '../spec/versions.js';
import { renderCluster } from '../templates/render.js';
import { existingHostsSpec, node } from './support/spec-text.js';

const work = mkdtempSync(join(tmpdir(), 'kubestrap-pause-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `kubeadm config images list` of the kubeadm double of that version. */
function kubeadmPause(version: string): string {
  const kubeadm = join(work, `kubeadm-${version}`);
  writeFileSync(
    kubeadm,
    readFileSync(new URL('./doubles/kubeadm', import.meta.url), 'utf8').replaceAll('@VERSION@', version),
  );
  chmodSync(kubeadm, 0o755);
  const out = execFileSync(kubeadm, ['config', 'images', 'list', '--kubernetes-version', `v${version}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'], // the double's call log, unwritable here without root
  });
  return out.split('\n').find((line) => line.includes('/pause:'))!;
}

const spec = (version: string) =>
  existingHostsSpec({ name: 'pause', version, nodes: node('cp', 'control-plane', 11), rook: false });

describe("containerd's sandbox image is kubeadm's pause image", () => {
  it.each(SUPPORTED_MINORS.map((minor) => `1.${minor}.1`))('%s', (version) => {
    const { model } = loadSpecText(spec(version), 'pause.yaml');
    const config = renderCluster(model).find((f) => f.target === '/etc/containerd/config.toml')!;
    const pause = kubeadmPause(version);
    expect(pause).toMatch(/^registry\.k8s\.io\/pause:3\.\d+(\.\d+)?$/);
    expect(model.runtime.sandboxImage).toBe(pause);
    expect(config.content).toContain(pause);
  });
});
