// The offline bundle, built from sources the test serves itself: a signed Debian
// repository with Debian's real containerd, runc and their dependencies, and a
// pkgs.k8s.io-shaped one whose kubelet/kubeadm/kubectl packages carry the test doubles;
// Rook's manifests from a local HTTP server; signed with a key `bundle keygen` made.
// Then `bundle verify` on the bundle and on damaged copies of it, each rejected naming
// the first bad member. (The resolver and
// the command's input checks, which need none of this, are in bundle.test.ts.)
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleManifest } from '../bundle/format.js';
import { ENDPOINT_PACKAGES } from '../spec/host-packages.js';
import { AptMirror } from './harness/apt-mirror.js';
import { harnessUnavailable } from './harness/hosts.js';
import { startBundleSources, type BundleSources } from './support/bundle-sources.js';
import { REPO_ROOT, SHARED_REFERENCE, sharedReferenceMissing } from './support/fixtures.js';
import { tarDataOffset, tarMembers, tarWithout } from './support/tar.js';
import { missingTools, run, runAsync } from './support/tools.js';
import { jsonResult } from './support/json-lines.js';

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const VERSION = '1.34.2';

const unavailable =
  harnessUnavailable() ??
  sharedReferenceMissing() ??
  missingTools('gpgv', 'gpg', 'apt-ftparchive', 'dpkg-deb', 'skopeo', 'docker-registry', 'busybox');

describe.skipIf(unavailable)(`bundle from local sources${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let mirror: AptMirror;
  let sources: BundleSources;
  let expectedImages: readonly string[];
  let work: string;
  let bundlePath: string;
  let manifest: BundleManifest;

  // Asynchronous: the sources are served from this process, which must stay responsive.
  const kubestrap = (args: string[]) =>
    runAsync(process.execPath, [CLI, ...args], {
      cwd: work,
      env: { ...process.env, NO_COLOR: '1' },
      timeoutMs: 600_000,
    });
  const specText = () => `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: offline
spec:
  kubernetes:
    version: ${VERSION}
  machines:
    provider: existing
    network: 10.214.0.0/24
    ssh:
      user: kube
    nodes:
      - name: cp
        role: control-plane
        ip: 10.214.0.10
        storage: false
      - name: w1
        role: worker
        ip: 10.214.0.11
        disks:
          - device: /dev/vdb
  storage:
    rook:
      enabled: true
      manifestBase: ${JSON.stringify(sources.rookUrl)}
${sources.packagesYaml}`;

  beforeAll(async () => {
    mirror = await AptMirror.start('127.0.0.1', VERSION);
    work = mkdtempSync(join(tmpdir(), 'bundle-'));
    sources = await startBundleSources(mirror, work, VERSION);
    expectedImages = sources.images;
    writeFileSync(join(work, 'cluster.yaml'), specText());
    bundlePath = join(work, 'offline.kubestrap.tar');
    const keygen = await kubestrap(['bundle', 'keygen', 'signing-key']);
    if (keygen.status !== 0) throw new Error(`bundle keygen: ${keygen.stderr}`);
  }, 900_000);

  afterAll(async () => {
    await sources?.stop();
    await mirror?.stop();
  });

  const members = tarMembers;
  const dataOffset = tarDataOffset;

  it(
    'builds a bundle with the exact packages, their dependencies, an apt index and Rook manifests',
    { timeout: 600_000 },
    async () => {
      const result = await kubestrap([
        'bundle',
        '-f',
        'cluster.yaml',
        '-o',
        bundlePath,
        '--sign-key',
        'signing-key',
        '--json',
      ]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const summary = jsonResult<{ packages: string[]; hostRequires: { name: string }[] }>(result.stdout);
      expect(summary.packages).toEqual(
        expect.arrayContaining([
          'kubeadm=1.34.2-1.1',
          'kubelet=1.34.2-1.1',
          'kubectl=1.34.2-1.1',
          'cri-tools=1.34.0-1.1',
          'kubernetes-cni=1.7.1-1.1',
        ]),
      );
      expect(summary.packages.some((p) => p.startsWith('containerd='))).toBe(true);
      expect(summary.packages.some((p) => p.startsWith('runc='))).toBe(true);
      // The test mirror carries only what the base root lacks: the rest is the hosts' own.
      expect(summary.hostRequires.map((r) => r.name)).toContain('libc6');
      // The mirror serves keepalived, haproxy and curl too: a spec whose endpoint kubestrap does not run gets none.
      const names = summary.packages.map((p) => p.split('=')[0]);
      for (const name of ENDPOINT_PACKAGES.debian) expect(names).not.toContain(name);
    },
  );

  it('lists every member with its size and sha256, each equal to what the sources published', async () => {
    const all = await members(bundlePath);
    expect(all[0]!.name).toBe('bundle.json');
    expect(all[1]!.name).toBe('bundle.json.sig');
    expect(all.at(-1)!.name).toBe('bundle.json.sha256');
    manifest = JSON.parse(all[0]!.data.toString('utf8')) as BundleManifest;
    expect(all.at(-1)!.data.toString()).toBe(
      `${createHash('sha256').update(all[0]!.data).digest('hex')}  bundle.json\n`,
    );
    expect(manifest).toMatchObject({
      format: 2,
      cluster: 'offline',
      kubernetesVersion: VERSION,
      os: { family: 'debian', architecture: 'amd64' },
    });
    expect(all.slice(2, -1).map((m) => m.name)).toEqual(manifest.files.map((f) => f.path));
    for (const m of all.slice(2, -1)) {
      const entry = manifest.files.find((f) => f.path === m.name)!;
      expect(m.data.length).toBe(entry.size);
      expect(createHash('sha256').update(m.data).digest('hex')).toBe(entry.sha256);
    }
    // The .debs are byte for byte the mirror's.
    const kubeadm = all.find((m) => m.name === 'debs/kubernetes/kubeadm_1.34.2-1.1_amd64.deb')!;
    expect(
      kubeadm.data.equals(readFileSync(join(mirror.dir, 'www/core:/stable:/v1.34/deb/kubeadm_1.34.2-1.1_amd64.deb'))),
    ).toBe(true);
    const debianDebs = readdirSync(join(mirror.dir, 'www/debian')).filter((f) => f.endsWith('.deb'));
    const runc = debianDebs.find((f) => f.startsWith('runc_'))!;
    expect(
      all.find((m) => m.name === `debs/os/${runc}`)!.data.equals(readFileSync(join(mirror.dir, 'www/debian', runc))),
    ).toBe(true);
    // Each repository's signed index and key as it published them, so the hosts' apt checks the .debs itself.
    const published = (member: string, file: string) =>
      expect(all.find((m) => m.name === member)!.data.equals(readFileSync(join(mirror.dir, file)))).toBe(true);
    published('debs/kubernetes/InRelease', 'www/core:/stable:/v1.34/deb/InRelease');
    published('debs/kubernetes/Packages', 'www/core:/stable:/v1.34/deb/Packages');
    published('debs/keys/kubernetes.asc', 'www/core:/stable:/v1.34/deb/Release.key');
    published('debs/os/InRelease', 'www/debian/InRelease');
    published('debs/os/Packages', 'www/debian/Packages');
    published('debs/keys/os.asc', 'www/debian/Release.key');
    expect(manifest.aptRepositories).toEqual([
      {
        path: 'debs/kubernetes',
        suite: '/',
        components: [],
        key: 'debs/keys/kubernetes.asc',
        source: mirror.kubernetesRepository.replace(/\/?$/, '/v1.34/deb/'),
      },
      { path: 'debs/os', suite: './', components: [], key: 'debs/keys/os.asc', source: `${mirror.url}/debian` },
    ]);
    // Every bundled .deb is where its repository's Packages says, under the repository's directory.
    for (const repo of ['kubernetes', 'os']) {
      const index = all.find((m) => m.name === `debs/${repo}/Packages`)!.data.toString();
      const listed = new Set([...index.matchAll(/^Filename: (?:\.\/)?(.*)$/gm)].map((m) => `debs/${repo}/${m[1]}`));
      const carried = manifest.files.filter((f) => f.kind === 'deb' && f.path.startsWith(`debs/${repo}/`));
      expect(carried.length).toBeGreaterThan(0);
      for (const f of carried) expect(listed).toContain(f.path);
    }
    expect(
      all
        .find((m) => m.name === 'manifests/rook-v1.20.6/operator.yaml')!
        .data.equals(readFileSync(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6/operator.yaml'))),
    ).toBe(true);
    expect(
      all
        .find((m) => m.name === 'binaries/kubeadm')!
        .data.equals(
          // The double stamped with its version, as the binary sources stamp it.
          Buffer.from(readFileSync(join(REPO_ROOT, 'test/doubles/kubeadm'), 'utf8').replaceAll('@VERSION@', VERSION)),
        ),
    ).toBe(true);
  });

  it('records what it carries; refused for a managed-endpoint spec (no keepalived, haproxy, curl)', async () => {
    expect(manifest.packages!.map((p) => `${p.name}=${p.version}`)).toEqual(
      expect.arrayContaining(['kubeadm=1.34.2-1.1', 'kubelet=1.34.2-1.1', 'kubectl=1.34.2-1.1']),
    );
    writeFileSync(
      join(work, 'managed.yaml'),
      specText().replace(
        `    version: ${VERSION}\n`,
        `    version: ${VERSION}\n    controlPlaneEndpoint:\n      address: 10.214.0.250\n` +
          '      managed: keepalived-haproxy\n',
      ),
    );
    const result = await kubestrap([
      'install',
      '--bundle',
      bundlePath,
      '--key',
      'signing-key.pub',
      '-f',
      'managed.yaml',
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'but the bundle lacks keepalived, haproxy, curl, which the control planes run for it',
    );
    expect(result.stderr).toContain('Nothing was done.');
  });

  it('carries every image the cluster runs, under its own name, with the digest the registry gave', async () => {
    expect(manifest.images.map((i) => i.reference)).toEqual(expectedImages);
    const all = await members(bundlePath);
    for (const image of manifest.images) {
      const digest = run('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--format',
        '{{.Digest}}',
        `docker://${sources.registry}/${image.reference}`,
      ]).stdout.trim();
      expect(image.digest).toBe(digest);
      // A docker-archive that names the image as the kubelet will ask for it.
      const archive = join(work, 'image.tar');
      writeFileSync(archive, all.find((m) => m.name === image.path)!.data);
      const tags = JSON.parse(run('tar', ['-xOf', archive, 'manifest.json']).stdout) as { RepoTags: string[] }[];
      expect(tags[0]!.RepoTags).toEqual([image.reference.replace(/^docker\.io\//, 'docker.io/')]);
    }
  });

  it('makes the same archive, byte for byte, from the same sources', { timeout: 600_000 }, async () => {
    const again = join(work, 'again.tar');
    expect((await kubestrap(['bundle', '-f', 'cluster.yaml', '-o', again, '--sign-key', 'signing-key'])).status).toBe(
      0,
    );
    expect(readFileSync(again).equals(readFileSync(bundlePath))).toBe(true);
  });

  it('bundle verify --key accepts the bundle as authentic', async () => {
    const result = await kubestrap(['bundle', 'verify', bundlePath, '--key', 'signing-key.pub']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/signed by signing-key\.pub \(key [0-9a-f]{64}\): authentic/);
    expect(result.stdout).toMatch(
      new RegExp(
        `ok — ${manifest.files.length} files, .* MiB, every size and sha256 as bundle.json lists them; ` +
          `Kubernetes ${VERSION} for cluster offline`,
      ),
    );
  });

  it('draws a progress bar in place on a terminal, and none when output is not one', async () => {
    const { CI: _ci, ...env } = process.env;
    // util-linux script(1) gives the command a pseudo-terminal, as a user's shell would.
    const command = [process.execPath, CLI, 'bundle', 'verify', bundlePath].map((a) => `'${a}'`).join(' ');
    const onTty = await runAsync('script', ['-qec', command, '/dev/null'], {
      cwd: work,
      env: { ...env, NO_COLOR: '1' },
    });
    expect(onTty.status).toBe(0);
    expect(onTty.stdout).toMatch(
      /\r\x1b\[K\[[#.]{30}\] \d+\.\d\/\d+\.\d MiB verify (debs|images|binaries|manifests)\//,
    );
    // The bar is wiped before the verdict, which stands on a clean line.
    expect(onTty.stdout).toMatch(/\r\x1b\[K[^\r]*: ok — /);
    const piped = await kubestrap(['bundle', 'verify', bundlePath]);
    expect(piped.stderr).not.toContain('\r');
  });

  const damaged = (name: string, change: (archive: Buffer) => Buffer): string => {
    const path = join(work, name);
    writeFileSync(path, change(Buffer.from(readFileSync(bundlePath))));
    return path;
  };

  it('rejects a flipped byte, naming the member', async () => {
    const path = damaged('flipped.tar', (a) => {
      const at = dataOffset(a, 'debs/kubernetes/kubeadm_1.34.2-1.1_amd64.deb') + 1000;
      a[at] = a[at]! ^ 0x01;
      return a;
    });
    const result = await kubestrap(['bundle', 'verify', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(
        'debs/kubernetes/kubeadm_1\\.34\\.2-1\\.1_amd64\\.deb is damaged: ' +
          'sha256 [0-9a-f]{64}, bundle\\.json says [0-9a-f]{64}',
      ),
    );
  });

  it('rejects a truncated archive', async () => {
    const path = damaged('truncated.tar', (a) => a.subarray(0, Math.floor(a.length * 0.6)));
    const result = await kubestrap(['bundle', 'verify', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/truncated/);
  });

  const without = async (name: string, drop: (member: string) => boolean): Promise<string> => {
    const path = join(work, name);
    writeFileSync(path, await tarWithout(bundlePath, drop));
    return path;
  };

  it('rejects an archive that lacks a listed package', async () => {
    const result = await kubestrap([
      'bundle',
      'verify',
      await without('missing-deb.tar', (m) => m.startsWith('debs/os/runc_')),
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/debs\/os\/runc_[^ ]+ is listed in bundle\.json but missing from the archive/);
  });

  it('rejects an archive that lacks an image', async () => {
    const result = await kubestrap([
      'bundle',
      'verify',
      await without('missing-image.tar', (m) => m === 'images/registry.k8s.io_etcd_3.6.5-0.tar'),
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /images\/registry\.k8s\.io_etcd_3\.6\.5-0\.tar is listed in bundle\.json but missing from the archive/,
    );
  });

  it('rejects an altered bundle.json by its seal', async () => {
    const path = damaged('altered.tar', (a) => {
      const at = dataOffset(a, 'bundle.json');
      const text = a.subarray(at, at + 4096).toString('latin1');
      const i = text.indexOf('"cluster": "offline"') + '"cluster": "'.length;
      a[at + i] = 'O'.charCodeAt(0);
      return a;
    });
    const result = await kubestrap(['bundle', 'verify', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/bundle\.json does not match its seal/);
  });

  it('rejects a member that is a link, not a plain file', async () => {
    const all = await members(bundlePath);
    const pack = tar.pack();
    pack.entry({ name: all[0]!.name, mtime: new Date(0) }, all[0]!.data);
    pack.entry({ name: all[1]!.name, type: 'symlink', linkname: '/etc/shadow', mtime: new Date(0) });
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const path = join(work, 'link.tar');
    writeFileSync(path, Buffer.concat(chunks));
    const result = await kubestrap(['bundle', 'verify', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${all[1]!.name} is a symlink, not a plain file`);
  });

  it('is a plain tar that standard tools read', () => {
    const listed = run('tar', ['-tf', bundlePath]);
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n').filter(Boolean)).toEqual([
      'bundle.json',
      'bundle.json.sig',
      ...manifest.files.map((f) => f.path),
      'bundle.json.sha256',
    ]);
    expect(statSync(bundlePath).size % 512).toBe(0);
  });
});
