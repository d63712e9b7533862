// Bundle benchmarks (root, harness hosts), each measured side by side in one run:
//  (a) a 512 MiB bundle to 3 hosts at once with kubestrap's resumable upload (which
//      also hashes the whole file on each host) vs one `scp` per host, all three at once
//  (b) `bundle verify` (every member's sha256, one streaming pass) per GiB, next to
//      `sha256sum` of the same file as the floor
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { writeBundle } from '../bundle/archive.js';
import type { BundleManifest } from '../bundle/format.js';
import { verifyBundle } from '../bundle/verify.js';
import { SshPool } from '../ssh/pool.js';
import { resumableUpload } from '../ssh/resumable-upload.js';
import { Harness, harnessUnavailable } from '../test/harness/hosts.js';
import { sha256 as digestOf, sha256File } from '../base/digest.js';

const reason = harnessUnavailable();
if (reason) {
  console.log(`bundle bench skipped: ${reason}`);
  process.exit(0);
}

const run = promisify(execFile);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const work = mkdtempSync(join(tmpdir(), 'kubestrap-bench-bundle-'));
const harness = await Harness.start(3);
const pool = new SshPool({ knownHostsPath: join(work, 'known_hosts') });
try {
  // A bundle of 1 GiB: 16 members of 64 MiB (random: nothing compresses).
  const files: BundleManifest['files'] = [];
  const sources = new Map<string, string>();
  for (let i = 0; i < 16; i++) {
    const path = join(work, `member-${i}.bin`);
    const content = randomBytes(64 * 1024 * 1024);
    writeFileSync(path, content);
    const member = `images/member-${i}.tar`;
    files.push({ path: member, size: content.length, sha256: digestOf(content), kind: 'image' });
    sources.set(member, path);
  }
  const manifest: BundleManifest = {
    format: 2,
    createdBy: 'bench',
    cluster: 'bench',
    specDigest: '0'.repeat(64),
    kubernetesVersion: '1.34.2',
    os: { family: 'debian', architecture: 'amd64' },
    files,
    images: [],
    hostRequires: [],
    aptRepositories: [],
    rpmRepositories: [],
  };
  const bundle = join(work, 'bench.kubestrap.tar');
  await writeBundle(bundle, manifest, sources);
  for (let i = 0; i < 16; i++) rmSync(join(work, `member-${i}.bin`));
  const gib = statSync(bundle).size / 1024 ** 3;

  // (b) verify per GiB, and sha256sum of the same file.
  const verifies: number[] = [];
  const sums: number[] = [];
  for (let i = 0; i < 3; i++) {
    let start = performance.now();
    await verifyBundle(bundle);
    verifies.push((performance.now() - start) / 1000 / gib);
    start = performance.now();
    execFileSync('sha256sum', [bundle]);
    sums.push((performance.now() - start) / 1000 / gib);
  }

  // (a) 512 MiB to 3 hosts at once.
  const half = join(work, 'half.bin');
  execFileSync('sh', ['-c', `head -c ${512 * 1024 * 1024} "$1" > "$2"`, 'sh', bundle, half]);
  const size = statSync(half).size;
  const sha256 = await sha256File(half);
  const key = harness.clientKeyPath;
  const hosts = harness.hosts.map((h) =>
    pool.host({ name: h.name, address: h.ip, port: 22, user: 'root', privateKey: readFileSync(key) }),
  );
  const openssh = [
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-i',
    key,
  ];
  const ours: number[] = [];
  const scps: number[] = [];
  for (let i = 0; i < 3; i++) {
    await Promise.all(hosts.map((h) => h.exec('rm -f /var/tmp/bundle.tar /var/tmp/bundle.tar.part /var/tmp/scp.tar')));
    let start = performance.now();
    await Promise.all(hosts.map((h) => resumableUpload(h, half, '/var/tmp/bundle.tar', { size, sha256 })));
    ours.push((3 * size) / 1024 / 1024 / ((performance.now() - start) / 1000));
    start = performance.now();
    await Promise.all(harness.hosts.map((h) => run('scp', [...openssh, '-q', half, `root@${h.ip}:/var/tmp/scp.tar`])));
    scps.push((3 * size) / 1024 / 1024 / ((performance.now() - start) / 1000));
  }
  const up = median(ours);
  const scp = median(scps);
  console.log(
    `(a) 512 MiB to 3 hosts at once: kubestrap ${up.toFixed(0)} MiB/s in all, scp ×3 ${scp.toFixed(0)} MiB/s in all: ` +
      `ratio ${(up / scp).toFixed(2)} (kubestrap also hashes the whole file on each host)`,
  );
  console.log(
    `(b) bundle verify: ${median(verifies).toFixed(2)} s per GiB ` +
      `(sha256sum of the same file: ${median(sums).toFixed(2)} s per GiB; ` +
      `ratio ${(median(verifies) / median(sums)).toFixed(2)})`,
  );
} finally {
  await pool.close();
  await harness.stop();
  rmSync(work, { recursive: true, force: true });
}
