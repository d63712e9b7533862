// The version table (spec/versions.ts) against what kubeadm of each minor says, and what
// follows from the table: the default version, end-of-life warnings, Rook's range and
// containerd's sandbox image. The kubeadm double's own table (test/doubles/kubeadm, from
// kubeadm's constants per minor) is kept apart from spec/versions.ts on purpose:
// comparing kubestrap with itself would catch nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecError } from '../spec/issues.js';
import { loadSpecText } from '../spec/load.js';
import {
  DEFAULT_KUBERNETES_VERSION,
  endOfLife,
  KUBERNETES_MINORS,
  parseKubernetesVersion,
  SUPPORTED_MINORS,
  versionsReport,
} from '../spec/versions.js';
import { renderCluster } from '../templates/render.js';
import { REPO_ROOT } from './support/fixtures.js';
import { existingHostsSpec, node } from './support/spec-text.js';

const work = mkdtempSync(join(tmpdir(), 'kubestrap-versions-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `kubeadm config images list` of the kubeadm double stamped with that version. */
function kubeadmImages(version: string): string[] {
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
  return out.split('\n').filter(Boolean);
}
const tagOf = (images: string[], name: string) =>
  images
    .find((i) => i.includes(`/${name}:`))
    ?.split(':')
    .at(-1);

const spec = (version: string, rook = false, nodes = node('cp', 'control-plane', 11)) =>
  existingHostsSpec({ name: 'versions', version, nodes, rook });

function issuesOf(text: string): { errors: string[]; warnings: string[] } {
  const line = (i: { path: readonly (string | number)[]; message: string }) => `${i.path.join('.')}: ${i.message}`;
  try {
    return { errors: [], warnings: loadSpecText(text, 'versions.yaml').warnings.map(line) };
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    return {
      errors: error.issues.filter((i) => i.severity === 'error').map(line),
      warnings: error.issues.filter((i) => i.severity === 'warning').map(line),
    };
  }
}

describe('the version table', () => {
  it.each(SUPPORTED_MINORS.map((minor) => [`1.${minor}.${KUBERNETES_MINORS[minor]!.newestPatch}`, minor] as const))(
    '%s: pause, CoreDNS and etcd are the tags kubeadm lists',
    (version, minor) => {
      const images = kubeadmImages(version);
      const known = KUBERNETES_MINORS[minor]!;
      expect({ pause: tagOf(images, 'pause'), coredns: tagOf(images, 'coredns'), etcd: tagOf(images, 'etcd') }).toEqual(
        { pause: known.pause, coredns: known.coredns, etcd: known.etcd },
      );
    },
  );

  it.each(SUPPORTED_MINORS.map((minor) => `1.${minor}.1`))(
    "%s: containerd's sandbox image is kubeadm's pause image",
    (version) => {
      const { model } = loadSpecText(spec(version), 'pause.yaml');
      const config = renderCluster(model).find((f) => f.target === '/etc/containerd/config.toml')!;
      const pause = kubeadmImages(version).find((line) => line.includes('/pause:'))!;
      expect(pause).toMatch(/^registry\.k8s\.io\/pause:3\.\d+(\.\d+)?$/);
      expect(model.runtime.sandboxImage).toBe(pause);
      expect(config.content).toContain(pause);
    },
  );

  it('end of life is judged on the date the table was checked, the last day included', () => {
    const v134 = parseKubernetesVersion('1.34.2')!;
    expect(endOfLife(v134, '2026-10-26')).toBeUndefined();
    expect(endOfLife(v134, '2026-10-27')).toBe('2026-10-27');
    expect(
      versionsReport()
        .minors.filter((m) => !m.maintained)
        .map((m) => m.minor),
    ).toEqual(['1.29', '1.30', '1.31', '1.32', '1.33', '1.34']);
  });
});

describe('the default version', () => {
  it('is what a spec without spec.kubernetes.version gets: maintained, and valid with Rook', () => {
    const text = spec(
      'DROP',
      true,
      node('cp', 'control-plane', 11, '        disks:', '          - device: /dev/vdb'),
    ).replace('  kubernetes:\n    version: DROP\n', '  kubernetes: {}\n');
    expect(issuesOf(text)).toEqual({ errors: [], warnings: [] });
    expect(loadSpecText(text, 'versions.yaml').model.kubernetes.version.text).toBe(DEFAULT_KUBERNETES_VERSION);
  });

  it('is what the embedded default cluster runs: `kubestrap validate` without a spec, no warning', () => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), 'validate'], {
      cwd: work,
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      `<default spec>: valid — cluster kubestrap, Kubernetes ${DEFAULT_KUBERNETES_VERSION} (kubeadm v1beta4), ` +
        '1 control-plane + 2 worker node(s) on virtualbox\n',
    );
    expect(result.stderr).toBe('');
  });

  it('is the newest patch of the newest minor the pinned Rook supports, not the newest minor', () => {
    const report = versionsReport();
    expect(report.minors.filter((m) => m.default).map((m) => m.newest)).toEqual([DEFAULT_KUBERNETES_VERSION]);
    const newestWithRook = report.minors.filter((m) => m.rook).at(-1)!;
    expect(newestWithRook.newest).toBe(DEFAULT_KUBERNETES_VERSION);
    expect(report.minors.at(-1)).toMatchObject({ minor: '1.37', rook: false, default: false });
  });
});

describe('validation against the table', () => {
  it('an end-of-life minor is a warning; a newer minor than Rook supports is an error unless Rook is off', () => {
    expect(issuesOf(spec('1.34.2')).warnings).toEqual([
      'spec.kubernetes.version: Kubernetes 1.34 reached end of life on 2026-10-27: upstream no longer fixes it, ' +
        'security fixes included',
    ]);
    const disks = node('cp', 'control-plane', 11, '        disks:', '          - device: /dev/vdb');
    expect(issuesOf(spec('1.37.1', true, disks)).errors).toEqual([
      'spec.kubernetes.version: Rook v1.20.6 supports Kubernetes 1.31-1.36, not 1.37.1',
    ]);
    expect(issuesOf(spec('1.37.1'))).toEqual({ errors: [], warnings: [] });
    const kubeadmConf = renderCluster(loadSpecText(spec('1.37.1'), 'versions.yaml').model).find(
      (f) => f.target === '/etc/kubernetes/kubeadm.conf',
    )!;
    expect(kubeadmConf.content).toContain('apiVersion: kubeadm.k8s.io/v1beta4');
  });
});

describe('kubestrap versions', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), 'versions', ...args], { encoding: 'utf8' });

  it('--json prints the table validate reads', () => {
    const result = cli('--json');
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(versionsReport());
  });

  it('prints one row per minor, the default and ended minors marked', () => {
    const result = cli();
    expect(result.status, result.stderr).toBe(0);
    const rows = result.stdout.split('\n').filter((line) => /^1\.\d+ /.test(line));
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(SUPPORTED_MINORS.map((m) => `1.${m}`));
    expect(rows.find((row) => row.includes('(default)'))).toMatch(
      new RegExp(`^1\\.\\d+ +${DEFAULT_KUBERNETES_VERSION.replaceAll('.', '\\.')} \\(default\\)`),
    );
    expect(rows.find((row) => row.startsWith('1.34 '))).toContain('2026-10-27 (ended)');
    expect(rows.find((row) => row.startsWith('1.37 '))).toMatch(/ no$/);
  });
});
