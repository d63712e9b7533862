// The kubelet and containerd must use the same cgroup driver. Upstream does not stop a
// mismatch at start-up: with containerd 1.x (no RuntimeConfig RPC) the kubelet takes
// cgroupDriver from its config, with containerd 2.x it takes the runtime's, and either way
// a mismatch shows up later as pods failing (kubeadm-behaviour.md §6; the kubelet double
// models exactly that and no more). So kubestrap checks its own render: for every fixture
// and node, the KubeletConfiguration's cgroupDriver and containerd's SystemdCgroup agree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadSpecText } from '../spec/load.js';
import { renderCluster } from '../templates/render.js';
import { CONTAINERD_CONFIG, KUBEADM_CONF } from '../templates/node-paths.js';
import { REPO_ROOT } from './support/fixtures.js';

const FIXTURES = ['appliance', 'existing', 'ha', 'libvirt', 'source-lab'];

describe('the kubelet and containerd agree on the cgroup driver', () => {
  it.each(FIXTURES)('%s', (fixture) => {
    const path = join(REPO_ROOT, 'test/fixtures/specs', `${fixture}.yaml`);
    const { model } = loadSpecText(readFileSync(path, 'utf8'), path);
    const files = renderCluster(model);
    // kubeadm init uploads its KubeletConfiguration (ConfigMap kubelet-config); joins take it from there.
    const kubelet = files
      .filter((f) => f.target === KUBEADM_CONF)
      .flatMap((f) => parseAllDocuments(f.content).map((d) => d.toJSON() as Record<string, unknown>))
      .find((d) => d.kind === 'KubeletConfiguration');
    expect(kubelet, fixture).toBeDefined();
    for (const node of model.nodes) {
      const containerd = files.find((f) => f.node === node.name && f.target === CONTAINERD_CONFIG)!.content;
      const systemd = /^\s*SystemdCgroup\s*=\s*true\s*$/m.test(containerd);
      expect(kubelet?.cgroupDriver ?? 'cgroupfs', `${fixture}/${node.name}`).toBe(systemd ? 'systemd' : 'cgroupfs');
    }
  });
});
