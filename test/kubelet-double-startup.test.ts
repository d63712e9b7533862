// The kubelet double's start-up checks, run here as a plain script (no host needed): each
// input the real kubelet of that minor refuses makes it exit 1 with the real error, and
// each it accepts gets past that check. The socket is always one that does not exist, so
// a run that passes every check ends at the CRI check instead of starting its loop.
// test/kubelet-double.test.ts runs the same double under systemd on a real host.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'kubelet-double-'));
const hooks = join(work, 'hooks');
mkdirSync(hooks);
const NO_SOCKET = 'unix:///nonexistent/containerd.sock';
const CGROUP_V2 = execFileSync('stat', ['-fc', '%T', '/sys/fs/cgroup'], { encoding: 'utf8' }).trim() === 'cgroup2fs';

const CONFIG = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
containerRuntimeEndpoint: ${NO_SOCKET}
staticPodPath: /etc/kubernetes/manifests
`;

function kubelet(version: string): string {
  const path = join(work, `kubelet-${version}`);
  writeFileSync(path, readFileSync(join(REPO_ROOT, 'test/doubles/kubelet'), 'utf8').replaceAll('@VERSION@', version), {
    mode: 0o755,
  });
  return path;
}

function config(name: string, content: string): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

/** Runs the double; its exit status and what it logged. */
function start(version: string, args: string[]): { code: number | null; log: string } {
  const result = spawnSync(kubelet(version), args, {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, KUBESTRAP_DOUBLE_LOG: join(work, 'log'), KUBESTRAP_DOUBLE_HOOKS: hooks },
  });
  return { code: result.status, log: `${result.stdout}${result.stderr}` };
}

const CRI_ERROR = `validate CRI v1 runtime API for endpoint \\"${NO_SOCKET}\\": rpc error: code = Unavailable`;
/** Every check before the CRI one passed. */
const pastStartUpChecks = (run: { code: number | null; log: string }) => {
  expect(run.code).toBe(1);
  expect(run.log).toContain(CRI_ERROR);
};

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('kubelet double: flags', () => {
  const good = () => config('good.yaml', CONFIG);

  it('refuses an unknown flag as pflag does', () => {
    const run = start('1.34.2', [`--config=${good()}`, '--no-such-flag=1']);
    expect(run.code).toBe(1);
    expect(run.log).toContain('"command failed" err="failed to parse kubelet flag: unknown flag: --no-such-flag"');
  });

  it('takes --pod-infra-container-image up to 1.34 and refuses it from 1.35 (removed)', () => {
    pastStartUpChecks(
      start('1.34.2', [`--config=${good()}`, '--pod-infra-container-image=registry.k8s.io/pause:3.10.1']),
    );
    const run = start('1.35.0', [`--config=${good()}`, '--pod-infra-container-image', 'registry.k8s.io/pause:3.10.1']);
    expect(run.code).toBe(1);
    expect(run.log).toContain('failed to parse kubelet flag: unknown flag: --pod-infra-container-image');
  });

  it('refuses a bool flag with a value that is not a bool, and a value flag without one', () => {
    expect(start('1.34.2', ['--fail-swap-on=maybe']).log).toContain(
      'invalid argument \\"maybe\\" for \\"--fail-swap-on\\" flag',
    );
    expect(start('1.34.2', ['--node-ip']).log).toContain('flag needs an argument: --node-ip');
  });

  it('refuses a --node-ip that is not an IP address', () => {
    const run = start('1.34.2', [`--config=${good()}`, '--node-ip=10.0.2']);
    expect(run.code).toBe(1);
    expect(run.log).toContain('failed to run Kubelet: bad --node-ip \\"10.0.2\\"');
  });
});

describe('kubelet double: the config file', () => {
  it('exits when the file is missing (the crash loop before kubeadm init)', () => {
    const run = start('1.34.2', ['--config=/nonexistent/config.yaml']);
    expect(run.code).toBe(1);
    expect(run.log).toContain(
      'failed to load kubelet config file, path: /nonexistent/config.yaml, error: ' +
        'failed to load Kubelet config file /nonexistent/config.yaml, error failed to read kubelet config file',
    );
  });

  it('exits without a kubeconfig unless a bootstrap kubeconfig exists to get one with', () => {
    const cfg = config('bootstrap.yaml', CONFIG);
    const none = start('1.34.2', [`--config=${cfg}`, '--kubeconfig=/nonexistent/kubelet.conf']);
    expect(none.code).toBe(1);
    expect(none.log).toContain('no kubeconfig /nonexistent/kubelet.conf and no --bootstrap-kubeconfig');
    const missing = start('1.34.2', [
      `--config=${cfg}`,
      '--kubeconfig=/nonexistent/kubelet.conf',
      '--bootstrap-kubeconfig=/nonexistent/bootstrap-kubelet.conf',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.log).toContain(
      'unable to load bootstrap kubeconfig: stat /nonexistent/bootstrap-kubelet.conf: no such file or directory',
    );
    const present = start('1.34.2', [
      `--config=${cfg}`,
      '--kubeconfig=/nonexistent/kubelet.conf',
      `--bootstrap-kubeconfig=${config('bootstrap-kubelet.conf', 'apiVersion: v1\nkind: Config\n')}`,
    ]);
    pastStartUpChecks(present);
  });

  it('logs unknown and duplicate fields (strict decoding) and goes on leniently', () => {
    const run = start('1.34.2', [
      `--config=${config('unknown.yaml', `${CONFIG}cgroupDrivr: cgroupfs\nstaticPodPath: /x\n`)}`,
    ]);
    expect(run.log).toContain('"Using lenient decoding as strict decoding failed"');
    expect(run.log).toContain('unknown field \\"cgroupDrivr\\"');
    expect(run.log).toContain('duplicate field \\"staticPodPath\\"');
    pastStartUpChecks(run);
  });

  it.each([
    [
      'a wrong type',
      `${CONFIG}failSwapOn: "false"\n`,
      'json: cannot unmarshal string into Go struct field KubeletConfiguration.failSwapOn of type bool',
    ],
    [
      'a number for a string',
      `${CONFIG}clusterDomain: 42\n`,
      'cannot unmarshal number into Go struct field KubeletConfiguration.clusterDomain of type string',
    ],
    ['a bad duration', `${CONFIG}syncFrequency: 10 minutes\n`, 'time: invalid duration \\"10 minutes\\"'],
    [
      'a scalar for a list',
      `${CONFIG.replace('clusterDNS:\n- 10.96.0.10', 'clusterDNS: 10.96.0.10')}`,
      'cannot unmarshal string into Go struct field KubeletConfiguration.clusterDNS of type slice',
    ],
    [
      'malformed YAML (a tab)',
      `${CONFIG}authorization:\n\tmode: Webhook\n`,
      'yaml: line 12: found character that cannot start any token',
    ],
    ['no apiVersion', CONFIG.replace(/^apiVersion.*\n/, ''), "Object 'apiVersion' is missing"],
    [
      'another kind',
      CONFIG.replace('kind: KubeletConfiguration', 'kind: KubeProxyConfiguration'),
      'no kind \\"KubeProxyConfiguration\\" is registered',
    ],
  ])('exits on %s', (_what, content, error) => {
    const run = start('1.34.2', [`--config=${config('bad.yaml', content)}`]);
    expect(run.code).toBe(1);
    expect(run.log).toContain('failed to load kubelet config file, path:');
    expect(run.log).toContain(error);
  });
});

describe('kubelet double: the host', () => {
  it('exits on swap with failSwapOn (the default), goes on with failSwapOn: false', () => {
    writeFileSync(join(hooks, 'proc-swaps'), 'Filename\tType\tSize\tUsed\tPriority\n/dev/zram0 partition 507408 0 5\n');
    try {
      const run = start('1.34.2', [`--config=${config('swap.yaml', CONFIG)}`]);
      expect(run.code).toBe(1);
      expect(run.log).toContain(
        'failed to run Kubelet: running with swap on is not supported, ' +
          'please disable swap or set --fail-swap-on flag to false',
      );
      pastStartUpChecks(start('1.34.2', [`--config=${config('noswap.yaml', `${CONFIG}failSwapOn: false\n`)}`]));
      pastStartUpChecks(start('1.34.2', [`--config=${config('swap.yaml', CONFIG)}`, '--fail-swap-on=false']));
    } finally {
      rmSync(join(hooks, 'proc-swaps'));
    }
  });

  it.skipIf(CGROUP_V2)('on a cgroup v1 host: 1.34 warns, 1.35 exits unless failCgroupV1: false', () => {
    const v134 = start('1.34.2', [`--config=${config('v1.yaml', CONFIG)}`]);
    expect(v134.log).toContain('cgroup v1 support is in maintenance mode');
    pastStartUpChecks(v134);
    const v135 = start('1.35.0', [`--config=${config('v1.yaml', CONFIG)}`]);
    expect(v135.code).toBe(1);
    expect(v135.log).toContain('failed to run Kubelet: kubelet is configured to not run on a host using cgroup v1');
    pastStartUpChecks(start('1.35.0', [`--config=${config('v1-off.yaml', `${CONFIG}failCgroupV1: false\n`)}`]));
  });

  it('dials the endpoint from the flag over the config file', () => {
    const run = start('1.34.2', [
      `--config=${config('ep.yaml', CONFIG)}`,
      '--container-runtime-endpoint=unix:///elsewhere.sock',
    ]);
    expect(run.code).toBe(1);
    expect(run.log).toContain('for endpoint \\"unix:///elsewhere.sock\\"');
    expect(run.log).toContain('dial unix /elsewhere.sock: connect: no such file or directory');
  });
});
