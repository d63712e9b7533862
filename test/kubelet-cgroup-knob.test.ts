// spec.kubernetes.kubelet.failCgroupV1: unset renders nothing (the kubelet's own
// default: true from 1.35); false renders failCgroupV1: false into the
// KubeletConfiguration and SystemVerification into ignorePreflightErrors of init and
// join (upstream's message: "You must also explicitly skip this validation"), and
// `validate` warns. The 1.35 kubelet double, given the rendered KubeletConfiguration,
// starts on this machine's cgroup v1 hierarchy only with the knob set.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpecText } from '../spec/load.js';
import { SpecError } from '../spec/issues.js';
import { renderCluster } from '../templates/render.js';
import { KUBEADM_CONF } from '../templates/node-paths.js';
import { REPO_ROOT } from './support/fixtures.js';
import { existingHostsSpec, node } from './support/spec-text.js';

const spec = (version: string, kubelet = '') =>
  existingHostsSpec({
    name: 'knob',
    version,
    kubernetes: kubelet,
    nodes: node('cp', 'control-plane', 11) + node('w', 'worker', 12, '        storage: false'),
    rook: false,
  });
const OFF = '    kubelet:\n      failCgroupV1: false\n';

function kubeadmDocs(text: string, node: string): Record<string, Record<string, unknown>> {
  const { model } = loadSpecText(text, 'knob.yaml');
  const file = renderCluster(model).find((f) => f.node === node && f.target === KUBEADM_CONF)!;
  return Object.fromEntries(
    parseAllDocuments(file.content).map((d) => {
      const o = d.toJSON() as Record<string, unknown>;
      return [o.kind as string, o];
    }),
  );
}
const registration = (doc: Record<string, unknown> | undefined) =>
  (doc?.nodeRegistration ?? {}) as Record<string, unknown>;

const work = mkdtempSync(join(tmpdir(), 'kubelet-knob-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('spec.kubernetes.kubelet.failCgroupV1', () => {
  it("unset: nothing rendered, the kubelet's default holds", () => {
    const docs = kubeadmDocs(spec('1.35.0'), 'cp');
    expect(docs.KubeletConfiguration).not.toHaveProperty('failCgroupV1');
    expect(registration(docs.InitConfiguration)).not.toHaveProperty('ignorePreflightErrors');
    expect(loadSpecText(spec('1.35.0'), 'knob.yaml').warnings).toEqual([]);
  });

  it('false: in the KubeletConfiguration, SystemVerification skipped by init and join, a warning', () => {
    const cp = kubeadmDocs(spec('1.35.0', OFF), 'cp');
    expect(cp.KubeletConfiguration).toMatchObject({ failCgroupV1: false });
    expect(registration(cp.InitConfiguration).ignorePreflightErrors).toEqual(['SystemVerification']);
    const worker = kubeadmDocs(spec('1.35.0', OFF), 'w');
    expect(registration(worker.JoinConfiguration).ignorePreflightErrors).toEqual(['SystemVerification']);
    const { warnings } = loadSpecText(spec('1.35.0', OFF), 'knob.yaml');
    expect(warnings.map((w) => w.path.join('.'))).toEqual(['spec.kubernetes.kubelet.failCgroupV1']);
    expect(warnings[0]!.message).toContain('cgroup v1');
  });

  it('is refused before 1.31, whose kubelet has no such setting', () => {
    let error: unknown;
    try {
      loadSpecText(spec('1.30.14', OFF), 'knob.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).issues.map((i) => i.message).join('\n')).toContain('has no failCgroupV1 setting');
  });

  const cgroupV1 = execFileSync('stat', ['-fc', '%T', '/sys/fs/cgroup'], { encoding: 'utf8' }).trim() !== 'cgroup2fs';
  it.skipIf(!cgroupV1)(
    'the 1.35 kubelet double refuses this cgroup v1 host with the default, starts with the knob',
    () => {
      const kubelet = join(work, 'kubelet');
      writeFileSync(
        kubelet,
        readFileSync(join(REPO_ROOT, 'test/doubles/kubelet'), 'utf8').replaceAll('@VERSION@', '1.35.0'),
        {
          mode: 0o755,
        },
      );
      const startWith = (text: string) => {
        const config = join(work, 'config.yaml');
        // As kubeadm writes it, pointed at a socket that does not exist so the run ends at the CRI check.
        const kc = {
          ...kubeadmDocs(text, 'cp').KubeletConfiguration,
          containerRuntimeEndpoint: 'unix:///nonexistent.sock',
        };
        writeFileSync(
          config,
          Object.entries(kc)
            .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
            .join('\n') + '\n',
        );
        const run = spawnSync(kubelet, [`--config=${config}`], {
          encoding: 'utf8',
          env: { ...process.env, KUBESTRAP_DOUBLE_LOG: work, KUBESTRAP_DOUBLE_HOOKS: work },
        });
        return run.stderr;
      };
      expect(startWith(spec('1.35.0'))).toContain('kubelet is configured to not run on a host using cgroup v1');
      const off = startWith(spec('1.35.0', OFF));
      expect(off).not.toContain('kubelet is configured to not run on a host using cgroup v1');
      expect(off).toContain('validate CRI v1 runtime API');
    },
  );
});
