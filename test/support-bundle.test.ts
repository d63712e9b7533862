// support-bundle's parts that need no host: the collectors' bounds, which files of
// /etc/kubernetes are read (run against a scratch copy with the real find), and which pods
// count as failing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failingPods } from '../operations/support-bundle.js';
import { hostCollectors } from '../provisioners/support/collectors.js';
import { loadSpecText } from '../spec/load.js';
import { readFileSync } from 'node:fs';
import { FIXTURE_DIR } from './support/fixtures.js';

const model = loadSpecText(readFileSync(join(FIXTURE_DIR, 'existing.yaml'), 'utf8'), 'existing.yaml').model;

describe('support-bundle collectors', () => {
  it('every host collector is capped on the host and has a time limit', () => {
    for (const c of hostCollectors(model)) {
      expect(c.command, c.name).toMatch(new RegExp(`\\| head -c ${c.capBytes}$`));
      expect(c.timeoutMs, c.name).toBeGreaterThan(0);
    }
    expect(hostCollectors(model).find((c) => c.name === 'journal-kubelet.txt')!.command).toContain(
      '-n 10000 --since -24h',
    );
  });

  it('reads every file of /etc/kubernetes but private keys', () => {
    const root = mkdtempSync(join(tmpdir(), 'support-etc-'));
    mkdirSync(join(root, 'pki/etcd'), { recursive: true });
    for (const f of [
      'admin.conf',
      'pki/ca.crt',
      'pki/ca.key',
      'pki/sa.key',
      'pki/sa.pub',
      'pki/etcd/peer.key',
      'x.pem',
    ])
      writeFileSync(join(root, f), `content of ${f}\n`);
    const command = hostCollectors(model)
      .find((c) => c.name === 'etc-kubernetes.txt')!
      .command.replaceAll("'/etc/kubernetes'", root);
    const out = execFileSync('sh', ['-c', command], { encoding: 'utf8' });
    const read = [...out.matchAll(/^==> (\S+) <==$/gm)].map((m) => m[1]!.slice(root.length + 1));
    expect(read).toEqual(['admin.conf', 'pki/ca.crt', 'pki/sa.pub', 'x.pem']);
    expect(out).not.toContain('.key\n');
  });

  it('failing pods: neither Running nor Completed, from kubectl get pods -A -o wide', () => {
    const table = [
      'NAMESPACE     NAME        READY   STATUS             RESTARTS   AGE   IP          NODE',
      'kube-system   coredns-1   1/1     Running            0          1h    10.32.0.2   h1',
      'apps          web-1       0/1     CrashLoopBackOff   9          1h    10.32.0.3   h2',
      'apps          job-1       0/1     Completed          0          1h    10.32.0.4   h2',
      'rook-ceph     osd-0       0/1     Pending            0          1h    <none>      <none>',
    ].join('\n');
    expect(failingPods(table)).toEqual([
      ['apps', 'web-1'],
      ['rook-ceph', 'osd-0'],
    ]);
    expect(failingPods('error: the server does not allow this method\nline two with many fields in it')).toEqual([]);
  });
});
