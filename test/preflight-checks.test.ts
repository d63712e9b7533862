// Preflight verdicts and host-prep edits as pure functions: every threshold and edit
// without a host. The same code runs against real hosts in hostprep.test.ts.
import { describe, expect, it } from 'vitest';
import { disableSwapInFstab, mergeHosts } from '../provisioners/hostprep/edits.js';
import { applyIgnores, evaluate, THRESHOLDS } from '../provisioners/preflight/checks.js';
import { factsScript, parseFacts, type Facts } from '../provisioners/preflight/facts.js';
import { loadSpecText } from '../spec/load.js';

const SPEC = `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: t
spec:
  machines:
    provider: existing
    network: 10.0.0.0/24
    ssh: {user: root, keyPath: /k}
    nodes:
      - {name: cp, role: control-plane, ip: 10.0.0.10}
      - {name: w, ip: 10.0.0.20, disks: [{device: /dev/sdb}]}
`;
const model = loadSpecText(SPEC, 't.yaml').model;
const [cp, worker] = model.nodes as [(typeof model.nodes)[0], (typeof model.nodes)[0]];
const GiB = 1024 ** 3;

const healthy: Facts = {
  os: { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  cpus: 4,
  memoryMiB: 16000,
  filesystems: Object.fromEntries(
    ['/var/lib/etcd', '/var/lib/containerd', '/var/lib/kubelet', '/var/lib/rook'].map((p) => [
      p,
      { sizeBytes: 100 * GiB, availBytes: 60 * GiB, usedPercent: 40, mount: '/' },
    ]),
  ),
  swapOn: false,
  selinux: 'absent',
  firewalls: [],
  listening: [{ proto: 'tcp', port: 22, process: 'sshd' }],
  timeSynced: true,
  capabilities: { overlay: true, brNetfilter: true, canLoadModules: [] },
  addresses: ['10.0.0.10', '10.0.0.20'],
  resolves: true,
  joined: false,
  kubeletVersion: null,
  signatures: {},
  disks: [
    {
      name: 'sda',
      path: '/dev/sda',
      sizeBytes: 40 * GiB,
      type: 'disk',
      fstype: null,
      mountpoint: null,
      hasChildren: true,
    },
    {
      name: 'sdb',
      path: '/dev/sdb',
      sizeBytes: 10 * GiB,
      type: 'disk',
      fstype: null,
      mountpoint: null,
      hasChildren: false,
    },
  ],
};

const verdicts = (facts: Partial<Facts>, node = cp, profile: 'lab' | 'production' = 'production') =>
  Object.fromEntries(
    evaluate({ ...healthy, ...facts }, node, model, THRESHOLDS[profile]).map((r) => [
      r.name,
      `${r.verdict}: ${r.detail}`,
    ]),
  );

describe('preflight checks', () => {
  it('passes a healthy control-plane node and a healthy storage worker', () => {
    expect(Object.values(verdicts({})).every((v) => v.startsWith('pass'))).toBe(true);
    expect(Object.values(verdicts({}, worker)).every((v) => v.startsWith('pass'))).toBe(true);
    expect(verdicts({}, worker)['rook-disk:/dev/sdb']).toBe('pass: /dev/sdb: 10 GiB, raw');
  });

  it.each<[string, Partial<Facts>, string, string]>([
    [
      'wrong OS family',
      { os: { id: 'rocky', idLike: ['rhel', 'centos', 'fedora'], versionId: '9.4', prettyName: 'Rocky Linux 9.4' } },
      'os',
      'fail: Rocky Linux 9.4 is not debian-like, as the spec says (spec.os.family)',
    ],
    [
      'untested release',
      { os: { id: 'debian', idLike: [], versionId: '10', prettyName: 'Debian GNU/Linux 10' } },
      'os',
      'warn: Debian GNU/Linux 10 (not a tested release)',
    ],
    ['one CPU', { cpus: 1 }, 'cpu', 'fail: 1 CPU; kubeadm needs 2 on a control-plane node'],
    [
      'too little memory',
      { memoryMiB: 1500 },
      'memory',
      'fail: 1500 MiB; kubeadm needs 1700 MiB on a control-plane node',
    ],
    [
      'memory below the production recommendation',
      { memoryMiB: 4096 },
      'memory',
      'warn: 4096 MiB; 8192 MiB or more recommended',
    ],
    [
      'disk over 80 %',
      {
        filesystems: {
          ...healthy.filesystems,
          '/var/lib/kubelet': { sizeBytes: 100 * GiB, availBytes: 15 * GiB, usedPercent: 85, mount: '/var' },
        },
      },
      'disk:/var/lib/kubelet',
      'fail: /var is 85% full; above 80% the kubelet soon evicts pods (85%)',
    ],
    [
      'little free space (production)',
      {
        filesystems: {
          ...healthy.filesystems,
          '/var/lib/containerd': { sizeBytes: 30 * GiB, availBytes: 20 * GiB, usedPercent: 33, mount: '/' },
        },
      },
      'disk:/var/lib/containerd',
      'fail: 20.0 GiB free on /; 30 GiB wanted',
    ],
    ['swap on', { swapOn: true }, 'swap', 'warn: swap is on; host prep turns it off now and at boot'],
    ['SELinux enforcing', { selinux: 'enforcing' }, 'selinux', 'warn: enforcing; host prep sets it to permissive'],
    [
      'firewall active',
      { firewalls: ['firewalld'] },
      'firewall',
      "warn: firewalld active; host prep opens the cluster's ports",
    ],
    [
      'port taken by something else',
      { listening: [{ proto: 'tcp', port: 6443, process: 'haproxy' }] },
      'ports',
      'fail: in use: tcp/6443 (haproxy)',
    ],
    [
      'clock not synchronised',
      { timeSynced: false },
      'time-sync',
      'warn: clock not synchronised; host prep enables time sync (certificates need agreeing clocks)',
    ],
    [
      'no br_netfilter',
      { capabilities: { overlay: true, brNetfilter: false, canLoadModules: [] } },
      'kernel-modules',
      "fail: cannot load br_netfilter; install the kernel's extra modules package",
    ],
    [
      'private IP missing',
      { addresses: ['10.0.2.15'] },
      'private-ip',
      'fail: 10.0.0.10 is on no interface (found 10.0.2.15); check the private network',
    ],
    [
      'hostname does not resolve',
      { resolves: false },
      'hostname',
      'warn: cp does not resolve yet; host prep adds it to /etc/hosts',
    ],
  ])('%s', (_name, facts, check, expected) => {
    expect(verdicts(facts)[check]).toBe(expected);
  });

  it('a lab VM warns on free space that production fails on', () => {
    const small = {
      filesystems: {
        ...healthy.filesystems,
        '/var/lib/kubelet': { sizeBytes: 20 * GiB, availBytes: 8 * GiB, usedPercent: 60, mount: '/' },
      },
    };
    expect(verdicts(small, cp, 'lab')['disk:/var/lib/kubelet']).toBe('warn: 8.0 GiB free on /; 10 GiB wanted');
    expect(verdicts(small, cp, 'production')['disk:/var/lib/kubelet']).toBe('fail: 8.0 GiB free on /; 30 GiB wanted');
  });

  it('a node already in the cluster may hold its ports, whatever the process', () => {
    expect(verdicts({ joined: true, listening: [{ proto: 'tcp', port: 6443, process: 'haproxy' }] }).ports).toBe(
      'pass: node already in the cluster; its components hold the ports',
    );
  });

  it('our own components holding the ports on a re-run are not a conflict', () => {
    expect(
      verdicts({
        listening: [
          { proto: 'tcp', port: 6443, process: 'kube-apiserver' },
          { proto: 'tcp', port: 10250, process: 'kubelet' },
        ],
      }).ports,
    ).toMatch(/^pass/);
  });

  it.each<[string, Partial<Facts['disks'][0]>, string]>([
    [
      'partitioned',
      { hasChildren: true },
      'fail: /dev/sdb is not raw (partitioned); ' +
        'Rook only uses empty disks — wipe it (wipefs -a) if its data is not needed',
    ],
    [
      'formatted',
      { fstype: 'ext4' },
      'fail: /dev/sdb is not raw (has a ext4 filesystem); ' +
        'Rook only uses empty disks — wipe it (wipefs -a) if its data is not needed',
    ],
    ['too small', { sizeBytes: 4 * GiB }, 'fail: /dev/sdb is 4.0 GiB; Rook needs 5 GiB or more'],
  ])('Rook disk %s', (_name, change, expected) => {
    const disks = healthy.disks.map((d) => (d.name === 'sdb' ? { ...d, ...change } : d));
    expect(verdicts({ disks }, worker)['rook-disk:/dev/sdb']).toBe(expected);
  });

  it("Rook disk with a BlueStore label (blkid's; lsblk may lack udev): this node's OSD, or a stale one", () => {
    const labelled = { signatures: { '/dev/sdb': 'ceph_bluestore' } };
    expect(verdicts({ ...labelled, joined: true, kubeletVersion: '1.34.2' }, worker)['rook-disk:/dev/sdb']).toBe(
      'pass: /dev/sdb: a Ceph OSD already (BlueStore label), on a node in the cluster',
    );
    expect(verdicts(labelled, worker)['rook-disk:/dev/sdb']).toBe(
      'fail: /dev/sdb holds a Ceph OSD of an earlier cluster (BlueStore label); Rook skips it — ' +
        '`kubestrap reset` wipes the disks the spec names, or wipefs -a it if its data is not needed',
    );
    // blkid's answer wins over lsblk's (udev's) FSTYPE; another filesystem is never "ours".
    expect(verdicts({ signatures: { '/dev/sdb': 'xfs' }, joined: true }, worker)['rook-disk:/dev/sdb']).toMatch(
      /^fail: \/dev\/sdb is not raw \(has a xfs filesystem\)/,
    );
  });

  it('the facts script asks blkid for the spec disks only, and parses its answer', () => {
    const script = factsScript('w', ['/dev/sdb']);
    expect(script).toContain("blkid -c /dev/null -p -o value -s TYPE '/dev/sdb'");
    expect(factsScript('w')).not.toContain('blkid');
    const output = '@@signatures\n/dev/sdb ceph_bluestore\n/dev/sdc\n@@joined\nyes\n';
    expect(parseFacts(output)).toMatchObject({
      signatures: { '/dev/sdb': 'ceph_bluestore', '/dev/sdc': '' },
      joined: true,
    });
  });

  it('Rook disk missing', () => {
    expect(verdicts({ disks: healthy.disks.slice(0, 1) }, worker)['rook-disk:/dev/sdb']).toBe(
      'fail: /dev/sdb does not exist on this host; lsblk shows /dev/sda',
    );
  });

  it('--ignore-preflight turns a named failure into a warning, by name or prefix', () => {
    const results = evaluate({ ...healthy, cpus: 1, disks: [] }, worker, model, THRESHOLDS.production);
    const ignored = applyIgnores(results, ['rook-disk']);
    expect(ignored.find((r) => r.name === 'rook-disk:/dev/sdb')).toMatchObject({
      verdict: 'warn',
      detail: expect.stringMatching(/\(ignored\)$/),
    });
  });
});

describe("a node already in the cluster at another version than the spec's", () => {
  const spec = model.kubernetes.version.text;

  it('fails kubernetes-version, naming both versions and upgrade; --ignore-preflight cannot waive it', () => {
    const results = evaluate({ ...healthy, joined: true, kubeletVersion: '1.34.2' }, worker, model, THRESHOLDS.lab);
    const check = results.find((r) => r.name === 'kubernetes-version');
    expect(check).toEqual({
      name: 'kubernetes-version',
      verdict: 'fail',
      detail:
        `this node runs Kubernetes 1.34.2 and the spec says ${spec}: up never changes the version of a running ` +
        'cluster; run kubestrap upgrade, or set spec.kubernetes.version back to 1.34.2',
    });
    expect(applyIgnores(results, ['kubernetes-version']).find((r) => r.name === 'kubernetes-version')!.verdict).toBe(
      'fail',
    );
  });

  it("passes at the spec's version, and is not asked of a node outside the cluster", () => {
    expect(verdicts({ joined: true, kubeletVersion: spec })['kubernetes-version']).toBe(
      `pass: node in the cluster at ${spec}`,
    );
    expect(verdicts({ joined: false, kubeletVersion: null })['kubernetes-version']).toBeUndefined();
  });
});

describe('preflight facts', () => {
  it("reads a joined node's kubelet version", () => {
    const facts = parseFacts('@@joined\nyes\n@@kubelet\nKubernetes v1.34.2\n');
    expect([facts.joined, facts.kubeletVersion]).toEqual([true, '1.34.2']);
    expect(parseFacts('@@joined\nno\n@@kubelet\n').kubeletVersion).toBeNull();
  });

  it('parses the facts script output', () => {
    const disks =
      '{"blockdevices": [{"name":"sda","path":"/dev/sda","size":42949672960,"type":"disk",' +
      '"fstype":null,"mountpoint":null,"children":[{"name":"sda1","path":"/dev/sda1","size":42948624384,' +
      '"type":"part","fstype":"ext4","mountpoint":"/"}]}]}';
    const facts = parseFacts(`@@os
PRETTY_NAME="Ubuntu 24.04.1 LTS"
ID=ubuntu
ID_LIKE=debian
VERSION_ID="24.04"
@@cpus
2
@@mem
MemTotal:        4025840 kB
@@df
/var/lib/etcd 41555521536 30000000000 26% /
/var/lib/kubelet 41555521536 30000000000 26% /
@@swap
/swap.img                               file		2097148		0		-2
@@selinux
absent
@@firewall
ufw
@@listen
tcp   LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*    users:(("systemd-resolve",pid=600,fd=14))
udp   UNCONN 0      0          0.0.0.0:6784      0.0.0.0:*    users:(("weaver",pid=1,fd=3))
@@time
yes
@@caps
overlay
loadable:br_netfilter
@@addr
127.0.0.1/8
192.168.56.10/24
@@resolve
yes
@@disks
${disks}
`);
    expect(facts.os).toEqual({
      id: 'ubuntu',
      idLike: ['debian'],
      versionId: '24.04',
      prettyName: 'Ubuntu 24.04.1 LTS',
    });
    expect(facts.memoryMiB).toBe(3931);
    expect(facts.swapOn).toBe(true);
    expect(facts.firewalls).toEqual(['ufw']);
    expect(facts.listening).toEqual([
      { proto: 'tcp', port: 53, process: 'systemd-resolve' },
      { proto: 'udp', port: 6784, process: 'weaver' },
    ]);
    expect(facts.capabilities).toEqual({ overlay: true, brNetfilter: false, canLoadModules: ['br_netfilter'] });
    expect(facts.addresses).toEqual(['127.0.0.1', '192.168.56.10']);
    expect(facts.filesystems['/var/lib/etcd']).toEqual({
      sizeBytes: 41555521536,
      availBytes: 30000000000,
      usedPercent: 26,
      mount: '/',
    });
    expect(facts.joined).toBe(false);
    expect(facts.disks).toEqual([
      {
        name: 'sda',
        path: '/dev/sda',
        sizeBytes: 42949672960,
        type: 'disk',
        fstype: null,
        mountpoint: null,
        hasChildren: true,
      },
    ]);
  });
});

describe('host prep edits', () => {
  it("replaces kubestrap's /etc/hosts block and drops loopback lines for the node's own names", () => {
    const current =
      '127.0.0.1\tlocalhost\n127.0.1.1\tcp.lab cp\n10.9.9.9 other\n' +
      '# BEGIN kubestrap cluster t\n10.0.0.99\told\n# END kubestrap cluster t\n\n';
    const block = '# BEGIN kubestrap cluster t\n10.0.0.10\tcp\n# END kubestrap cluster t\n';
    const merged = mergeHosts(current, block, ['cp.lab', 'cp']);
    expect(merged).toBe(
      '127.0.0.1\tlocalhost\n10.9.9.9 other\n# BEGIN kubestrap cluster t\n10.0.0.10\tcp\n# END kubestrap cluster t\n',
    );
    expect(mergeHosts(merged, block, ['cp'])).toBe(merged);
  });

  it('comments out swap in fstab, once', () => {
    const fstab = 'UUID=1 / ext4 defaults 0 1\n/swap.img none swap sw 0 0\n# /old none swap sw 0 0\n';
    const once = disableSwapInFstab(fstab);
    expect(once).toBe(
      'UUID=1 / ext4 defaults 0 1\n' +
        '# disabled by kubestrap (kubelet needs swap off): /swap.img none swap sw 0 0\n' +
        '# /old none swap sw 0 0\n',
    );
    expect(disableSwapInFstab(once)).toBe(once);
  });
});
