// The bundle phase's unpack on a real host (root, GNU tar, sha256sum), given an archive
// whose members carry modes and owners kubestrap never writes: what `bundle verify`
// refuses on this machine must not survive on a host either, should it get that far.
import { createHash } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestText } from '../bundle/archive.js';
import type { BundleManifest } from '../bundle/format.js';
import { runPhases } from '../engine/index.js';
import { BundlePhase, bundleDir, type VerifiedBundle } from '../provisioners/bundle.js';
import { SshPool } from '../ssh/pool.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessModel, nodeHosts } from './support/cluster.js';
import { tarOf } from './support/tar.js';

const unavailable = harnessUnavailable();
const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe.skipIf(unavailable)(`the bundle unpacked on a host${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness;
  let pool: SshPool;
  let work: string;

  beforeAll(async () => {
    harness = await Harness.start(1, 'sshd');
    work = mkdtempSync(join(tmpdir(), 'bundle-unpack-'));
    pool = new SshPool({ knownHostsPath: join(work, 'known_hosts') });
  }, 900_000);

  afterAll(async () => {
    await pool?.close();
    await harness?.stop();
  });

  it('takes neither the setuid/world-writable modes nor the foreign owners the archive carries', async () => {
    const setuid = Buffer.from('#!/bin/sh\necho would run as its owner\n');
    const writable = Buffer.from('Package: x\n');
    const manifest: BundleManifest = {
      format: 1,
      createdBy: 'test',
      cluster: 'harness',
      specDigest: '0'.repeat(64),
      kubernetesVersion: '1.34.2',
      os: { family: 'debian', architecture: 'amd64' },
      files: [
        { path: 'binaries/kubeadm', size: setuid.length, sha256: sha(setuid), kind: 'binary' },
        { path: 'debs/Packages', size: writable.length, sha256: sha(writable), kind: 'deb-index' },
      ],
      images: [],
      hostRequires: [],
    };
    const text = manifestText(manifest);
    const archive = await tarOf([
      { name: 'bundle.json', data: text },
      { name: 'binaries/kubeadm', data: setuid, header: { mode: 0o4777, uid: 1234, gid: 1234 } },
      { name: 'debs/Packages', data: writable, header: { mode: 0o2666, uid: 0, gid: 4321 } },
      { name: 'bundle.json.sha256', data: `${sha(text)}  bundle.json\n` },
    ]);
    const localPath = join(work, 'hostile.tar');
    writeFileSync(localPath, archive);
    // As if it had got past this machine's verify: the host's own unpack is what is tested.
    const bundle: VerifiedBundle = { localPath, manifest, seal: sha(text), sha256: sha(archive), size: archive.length };

    const model = harnessModel(harness);
    const result = await runPhases([new BundlePhase(bundle)], nodeHosts(model, pool, harness));
    expect(result.ok).toBe(true);

    const dir = join(harness.host('h1').root, bundleDir(bundle));
    const seen = ['binaries/kubeadm', 'debs/Packages'].map((member) => {
      const s = statSync(join(dir, member));
      return { member, mode: (s.mode & 0o7777).toString(8), owner: `${s.uid}:${s.gid}` };
    });
    expect(seen).toEqual([
      { member: 'binaries/kubeadm', mode: '755', owner: '0:0' },
      { member: 'debs/Packages', mode: '644', owner: '0:0' },
    ]);
  });
});
