// The kubeadm and API-server doubles against kubestrap on real hosts (systemd, real
// containerd, real apt): each input the real kubeadm rejects is rejected here with
// kubeadm's words — a misspelt config field (config validate), ip_forward off (preflight),
// a discovery kubeconfig with the wrong CA and an endpoint the serving certificate does
// not cover (TLS verified as client-go verifies it), a second Ready node of the same name —
// and swap on is only a warning. What init and join leave is kubeadm's file set.
import { doubleCalls } from './support/kubestrap-cli.js';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureSummary, runPhases } from '../engine/index.js';
import { hostPhases } from '../provisioners/index.js';
import { InitPhase } from '../provisioners/init.js';
import { JoinPhase } from '../provisioners/join.js';
import type { ClusterModel } from '../spec/model.js';
import { SshPool } from '../ssh/pool.js';
import { renderCluster, type RenderedFile } from '../templates/render.js';
import { KUBEADM_CONF } from '../templates/node-paths.js';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable } from './harness/hosts.js';
import { harnessModel, nodeHosts } from './support/cluster.js';
import { REPO_ROOT, sharedReferenceMissing } from './support/fixtures.js';

const unavailable = harnessUnavailable() ?? sharedReferenceMissing();
const VERSION = '1.34.2';
const API_CALL = '/usr/libexec/kubeadm-double/api-call';

describe.skipIf(unavailable)(
  `the kubeadm and API server doubles${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let harness: Harness;
    let mirror: AptMirror;
    let pool: SshPool;
    let work: string;
    let model: ClusterModel;
    let files: RenderedFile[];

    beforeAll(async () => {
      harness = await Harness.start(2, 'systemd');
      mirror = await AptMirror.start(harness, VERSION);
      for (const host of harness.hosts) mirror.configureHost(host);
      work = mkdtempSync(join(tmpdir(), 'kubeadm-double-'));
      pool = new SshPool({ knownHostsPath: join(work, 'known_hosts'), logDir: join(work, 'logs') });
      model = harnessModel(harness, { version: VERSION, kubernetesRepository: mirror.kubernetesRepository });
      files = renderCluster(model);
      // A fresh Debian or EL host forwards nothing; a new network namespace inherits the
      // machine's setting. Host preparation must be what turns it on.
      for (const host of harness.hosts) harness.inside(host, 'sysctl -qw net.ipv4.ip_forward=0');
      const prepared = await runPhases(hostPhases(model, files, {}), nodeHosts(model, pool, harness));
      expect(failureSummary(prepared)).toBe('');
    }, 900_000);

    afterAll(async () => {
      await pool?.close();
      await mirror?.stop();
      await harness?.stop();
    });

    const h1 = () => harness.host('h1');
    const h2 = () => harness.host('h2');
    const inside = (host: 'h1' | 'h2', command: string) => harness.inside(harness.host(host), command);
    const hosts = () => nodeHosts(model, pool, harness);
    const calls = (host: string) => doubleCalls(harness, host);
    const logs = () =>
      readdirSync(join(work, 'logs'))
        .map((f) => readFileSync(join(work, 'logs', f), 'utf8'))
        .join('\n');
    const file = (host: 'h1' | 'h2', path: string) => readFileSync(join(harness.host(host).root, path), 'utf8');

    it('an unknown field in the rendered kubeadm config stops the run at config validate, before init', async () => {
      const mutated = files.map((f) =>
        f.node === 'h1' && f.target === KUBEADM_CONF
          ? { ...f, content: f.content.replace('  bindPort: 6443\n', '  bindPort: 6443\n  bindPrt: 6443\n') }
          : f,
      );
      expect(mutated).not.toEqual(files);
      const result = await runPhases([new InitPhase(model, mutated)], hosts());
      expect(failureSummary(result)).toContain('strict decoding error: unknown field "localAPIEndpoint.bindPrt"');
      expect(calls('h1')).toContain('kubeadm config validate --config /etc/kubernetes/kubeadm.conf');
      expect(calls('h1').filter((c) => c.startsWith('kubeadm init'))).toEqual([]);
    });

    it('ip_forward off fails init preflight with the upstream check name; nothing is written', async () => {
      // Put back what host preparation left, not a 1 of our own: that would hide a host prep that never set it.
      const before = inside('h1', 'sysctl -n net.ipv4.ip_forward').trim();
      inside('h1', 'sysctl -qw net.ipv4.ip_forward=0');
      try {
        const result = await runPhases([new InitPhase(model, files)], hosts());
        const summary = failureSummary(result);
        expect(summary).toContain(
          '[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1',
        );
        expect(summary).toContain('--ignore-preflight-errors=...');
        expect(inside('h1', 'ls /etc/kubernetes/pki 2>/dev/null | wc -l').trim()).toBe('0');
      } finally {
        inside('h1', `sysctl -qw net.ipv4.ip_forward=${before}`);
      }
    });

    it('swap on is only a warning: init goes on and writes kubeadm file set', { timeout: 300_000 }, async () => {
      // /proc/swaps is the machine's; a host of its own sees a swap line only through this bind mount.
      inside('h1', 'printf "Filename Type Size Used Priority\\n/swapfile file 1048572 0 -2\\n" > /run/swaps');
      inside('h1', 'mount --bind /run/swaps /proc/swaps');
      try {
        const result = await runPhases([new InitPhase(model, files)], hosts());
        expect(failureSummary(result)).toBe('');
      } finally {
        inside('h1', 'umount /proc/swaps');
      }
      expect(logs()).toContain('[WARNING Swap]: swap is supported for cgroup v2 only.');

      const pki = inside('h1', 'cd /etc/kubernetes/pki && find . -type f | sort').trim().split('\n');
      expect(pki).toEqual(
        [
          'apiserver-etcd-client.crt',
          'apiserver-etcd-client.key',
          'apiserver-kubelet-client.crt',
          'apiserver-kubelet-client.key',
          'apiserver.crt',
          'apiserver.key',
          'ca.crt',
          'ca.key',
          'etcd/ca.crt',
          'etcd/ca.key',
          'etcd/healthcheck-client.crt',
          'etcd/healthcheck-client.key',
          'etcd/peer.crt',
          'etcd/peer.key',
          'etcd/server.crt',
          'etcd/server.key',
          'front-proxy-ca.crt',
          'front-proxy-ca.key',
          'front-proxy-client.crt',
          'front-proxy-client.key',
          'sa.key',
          'sa.pub',
        ].map((f) => `./${f}`),
      );
      // GetAPIServerAltNames: node name, the kubernetes names, the first service IP, the advertise address.
      const sans = inside('h1', 'openssl x509 -in /etc/kubernetes/pki/apiserver.crt -noout -ext subjectAltName');
      expect(sans).toContain(
        'DNS:h1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, ' +
          `DNS:kubernetes.default.svc.cluster.local, IP Address:10.96.0.1, IP Address:${h1().ip}`,
      );
      for (const [conf, subject] of [
        ['admin.conf', 'O = kubeadm:cluster-admins, CN = kubernetes-admin'],
        ['super-admin.conf', 'O = system:masters, CN = kubernetes-super-admin'],
        ['kubelet.conf', 'O = system:nodes, CN = system:node:h1'],
        ['controller-manager.conf', 'CN = system:kube-controller-manager'],
        ['scheduler.conf', 'CN = system:kube-scheduler'],
      ]) {
        // A real client certificate, signed by the cluster CA.
        const out = inside(
          'h1',
          `f=/etc/kubernetes/${conf}; stat -c %a $f; ` +
            `awk '$1 == "client-certificate-data:" { print $2 }' $f | base64 -d > /run/c.pem; ` +
            'openssl x509 -in /run/c.pem -noout -subject; openssl verify -CAfile /etc/kubernetes/pki/ca.crt /run/c.pem',
        );
        expect(out, conf).toBe(`600\nsubject=${subject}\n/run/c.pem: OK\n`);
      }
      // Ours sets cgroupDriver; kubeadm adds the staticPodPath it defaults.
      const kubeletConfig = file('h1', 'var/lib/kubelet/config.yaml');
      expect(kubeletConfig).toContain('kind: KubeletConfiguration\ncgroupDriver: systemd\n');
      expect(kubeletConfig).toMatch(/\nstaticPodPath: \/etc\/kubernetes\/manifests\n/);
      // 1.34: the runtime endpoint moved to instance-config.yaml; the pause flag is still there.
      expect(file('h1', 'var/lib/kubelet/kubeadm-flags.env')).toBe(
        'KUBELET_KUBEADM_ARGS="--node-ip=' + h1().ip + ' --pod-infra-container-image=registry.k8s.io/pause:3.10.1"\n',
      );
      expect(file('h1', 'var/lib/kubelet/instance-config.yaml')).toContain(
        'containerRuntimeEndpoint: unix:///run/containerd/containerd.sock',
      );
      const images = inside('h1', 'kubeadm config images list --kubernetes-version v1.34.2');
      const manifests = inside('h1', 'grep -h "image:" /etc/kubernetes/manifests/*.yaml | sort');
      expect(manifests).toBe(
        ['etcd:3.6.5-0', 'kube-apiserver:v1.34.2', 'kube-controller-manager:v1.34.2', 'kube-scheduler:v1.34.2']
          .map((i) => `    image: registry.k8s.io/${i}\n`)
          .join(''),
      );
      for (const line of manifests.split('\n').filter(Boolean))
        expect(images.split('\n')).toContain(line.replace(/^\s*image: /, ''));
    });

    it('the API server double speaks TLS with the serving certificate; api-call verifies CA and SANs', () => {
      const call = (kubeconfig: string, request: string) =>
        inside('h1', `${API_CALL} ${kubeconfig} '${request}' 2>&1; echo "rc=$?"`);
      expect(call('/etc/kubernetes/admin.conf', 'LIST DaemonSet')).toBe('END\nrc=0\n');
      // Another CA in the kubeconfig: Go's UnknownAuthorityError.
      inside(
        'h1',
        'openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=kubernetes ' +
          '-keyout /run/other.key -out /run/other.crt 2>/dev/null; ' +
          'sed "s|certificate-authority-data: .*|certificate-authority-data: $(base64 -w0 /run/other.crt)|" ' +
          '/etc/kubernetes/admin.conf > /run/wrong-ca.conf',
      );
      expect(call('/run/wrong-ca.conf', 'LIST DaemonSet')).toBe(
        'tls: failed to verify certificate: x509: certificate signed by unknown authority\nrc=1\n',
      );
      // An address the serving certificate does not name: Go's HostnameError.
      inside('h1', 'sed "s|server: .*|server: https://127.0.0.1:6443|" /etc/kubernetes/admin.conf > /run/san.conf');
      expect(call('/run/san.conf', 'LIST DaemonSet')).toBe(
        'tls: failed to verify certificate: x509: certificate is valid for 10.96.0.1, ' +
          `${h1().ip}, not 127.0.0.1\nrc=1\n`,
      );
      // The kubelet's verbs: NODE keeps role/ip, POD is stored.
      expect(call('/etc/kubernetes/admin.conf', `NODE h1 False KubeletNotReady ${h1().ip} v1.34.2`)).toBe('OK\nrc=0\n');
      const node = file('h1', 'var/lib/kubestrap-doubles/api/nodes/h1');
      expect(node).toMatch(new RegExp(`^role=control-plane\nip=${h1().ip.replaceAll('.', '\\.')}\nready=False\n`));
      expect(node).toContain('kubeletVersion=v1.34.2\n');
      expect(call('/etc/kubernetes/admin.conf', 'POD kube-system weave-net-abcde h1 Running')).toBe('OK\nrc=0\n');
      expect(file('h1', 'var/lib/kubestrap-doubles/api/pods/kube-system/weave-net-abcde')).toMatch(
        /^node=h1\nphase=Running\nupdated=\d+\n$/,
      );
    });

    it(
      'join with a discovery kubeconfig holding the wrong CA fails with x509 wording',
      { timeout: 300_000 },
      async () => {
        // kubestrap reads the CA for the discovery kubeconfig from the init node: a stale one there.
        inside('h1', 'cp /etc/kubernetes/pki/ca.crt /run/ca.crt.real && cp /run/other.crt /etc/kubernetes/pki/ca.crt');
        try {
          const result = await runPhases([new JoinPhase(model, files, 'worker')], hosts());
          expect(failureSummary(result)).toContain(
            'couldn\'t validate the identity of the API Server: Get "https://' +
              `${h1().ip}:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": ` +
              'tls: failed to verify certificate: x509: certificate signed by unknown authority',
          );
        } finally {
          inside('h1', 'cp /run/ca.crt.real /etc/kubernetes/pki/ca.crt');
        }
        expect(inside('h2', 'ls /etc/kubernetes/kubelet.conf 2>&1 || true')).toMatch(/No such file/);
      },
    );

    it(
      "join to an endpoint missing from the serving certificate's SANs fails with x509 wording",
      { timeout: 300_000 },
      async () => {
        // The same cluster reached at an address of h1 that init did not put in the certificate.
        const alias = h1().ip.replace(/\.\d+$/, '.251');
        inside('h1', `ip addr add ${alias}/32 dev eth0`);
        try {
          const elsewhere = harnessModel(harness, {
            version: VERSION,
            kubernetesRepository: mirror.kubernetesRepository,
            controlPlaneEndpoint: `${alias}:6443`,
          });
          const result = await runPhases(
            [new JoinPhase(elsewhere, renderCluster(elsewhere), 'worker')],
            nodeHosts(elsewhere, pool, harness),
          );
          expect(failureSummary(result)).toContain(
            `tls: failed to verify certificate: x509: certificate is valid for 10.96.0.1, ${h1().ip}, not ${alias}`,
          );
        } finally {
          inside('h1', `ip addr del ${alias}/32 dev eth0`);
        }
      },
    );

    it(
      'a worker joins: ca.crt, a kubelet.conf with a CA-signed client certificate, no bootstrap-kubelet.conf',
      { timeout: 300_000 },
      async () => {
        const result = await runPhases([new JoinPhase(model, files, 'worker')], hosts());
        expect(failureSummary(result)).toBe('');
        expect(file('h2', 'etc/kubernetes/pki/ca.crt')).toBe(file('h1', 'etc/kubernetes/pki/ca.crt'));
        expect(
          inside(
            'h2',
            `awk '$1 == "client-certificate-data:" { print $2 }' /etc/kubernetes/kubelet.conf ` +
              '| base64 -d > /run/c.pem; ' +
              'openssl x509 -in /run/c.pem -noout -subject; ' +
              'openssl verify -CAfile /etc/kubernetes/pki/ca.crt /run/c.pem; ' +
              'ls /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/super-admin.conf 2>&1 | wc -l',
          ),
        ).toBe('subject=O = system:nodes, CN = system:node:h2\n/run/c.pem: OK\n2\n');
        expect(file('h2', 'var/lib/kubelet/config.yaml')).toBe(file('h1', 'var/lib/kubelet/config.yaml'));
        expect(file('h2', 'var/lib/kubelet/kubeadm-flags.env')).toBe(
          `KUBELET_KUBEADM_ARGS="--node-ip=${h2().ip} --pod-infra-container-image=registry.k8s.io/pause:3.10.1"\n`,
        );
        expect(calls('h2')).toContain('kubeadm config validate --config /etc/kubernetes/kubeadm.conf');
      },
    );

    it('preflight names busy ports and existing files; --ignore-preflight-errors by name in any case, or all', () => {
      // A second init on h1: the API server (6443) is up and the manifests are there; etcd's
      // data directory is not empty, one CPU is all it may use (nproc follows the affinity),
      // and its config has a misspelt field, which init only warns about.
      const init = inside(
        'h1',
        'mkdir -p /var/lib/etcd/member && ' +
          "sed 's/^  bindPort: 6443$/  bindPort: 6443\\n  bindPrt: 1/' " +
          '/etc/kubernetes/kubeadm.conf > /run/typo.conf && ' +
          'taskset -c 0 kubeadm init --config /run/typo.conf 2>&1; echo "rc=$?"; rm -rf /var/lib/etcd',
      );
      expect(init).toContain('strict decoding error: unknown field "localAPIEndpoint.bindPrt"');
      expect(init).toContain('\t[ERROR NumCPU]: the number of available CPUs 1 is less than the required 2\n');
      expect(init).toContain('\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty\n');
      expect(init).toContain('\t[ERROR Port-6443]: Port 6443 is in use\n');
      expect(init).toContain(
        '\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: ' +
          '/etc/kubernetes/manifests/kube-apiserver.yaml already exists\n',
      );
      expect(init).toMatch(/rc=1\n$/);
      // A second join on h2: kubelet.conf and ca.crt are there (worker checks) and the
      // running kubelet holds its port (a check every node gets).
      const join = (flags: string) =>
        inside('h2', `kubeadm join --config /etc/kubernetes/kubeadm.conf ${flags} 2>&1; echo "rc=$?"`);
      const plain = join('');
      expect(plain).toContain(
        '\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists\n',
      );
      expect(plain).toContain(
        '\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists\n',
      );
      expect(plain).toContain('\t[ERROR Port-10250]: Port 10250 is in use\n');
      const ignored = join(
        '--ignore-preflight-errors=fileavailable--etc-kubernetes-kubelet.conf,' +
          'FILEAVAILABLE--ETC-KUBERNETES-PKI-CA.CRT,port-10250',
      );
      expect(ignored).toContain('\t[WARNING FileAvailable--etc-kubernetes-kubelet.conf]: ');
      expect(ignored).toContain('\t[WARNING FileAvailable--etc-kubernetes-pki-ca.crt]: ');
      expect(ignored).toContain('\t[WARNING Port-10250]: Port 10250 is in use\n');
      expect(ignored).not.toContain('[ERROR');
      // Past preflight, discovery finds no discovery kubeconfig (kubestrap removed it after the join).
      expect(ignored).toContain('open /etc/kubernetes/kubestrap-discovery.conf: no such file or directory');
      expect(join('--ignore-preflight-errors=all')).not.toContain('[ERROR');
    });

    // What a second init on the running h1 meets anyway, ignored to see the checks under test.
    const RUNNING_CLUSTER = [
      'Port-6443',
      'Port-10259',
      'Port-10257',
      'Port-2379',
      'Port-2380',
      'Port-10250',
      'DirAvailable--var-lib-etcd',
      ...['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map(
        (m) => `FileAvailable--etc-kubernetes-manifests-${m}.yaml`,
      ),
    ].join(',');

    it('preflight: Mem below 1700 MB is an error on a control plane, an unresolvable node name a warning', () => {
      // The host's memory as /proc/meminfo shows it, 1 GiB (a private mount for this one
      // command); a node name that /etc/hosts and DNS do not know.
      const init = inside(
        'h1',
        "grep -v '^MemTotal:' /proc/meminfo > /run/meminfo && " +
          "echo 'MemTotal:        1048576 kB' >> /run/meminfo && " +
          "sed 's/^  name: h1$/  name: ghost-node/' /etc/kubernetes/kubeadm.conf > /run/ghost.conf && " +
          'unshare -m sh -c "mount --bind /run/meminfo /proc/meminfo && ' +
          `kubeadm init --config /run/ghost.conf --ignore-preflight-errors=${RUNNING_CLUSTER} 2>&1"; echo "rc=$?"`,
      );
      expect(init).toContain('\t[ERROR Mem]: the system RAM (1024 MB) is less than the minimum 1700 MB\n');
      expect(init).toContain('\t[WARNING Hostname]: hostname "ghost-node" could not be reached\n');
      expect(init).toMatch(/rc=1\n$/);
    });

    it('preflight: not root fails first and alone; a disabled kubelet unit warns; 1.35 refuses cgroup v1', () => {
      const asUser = inside(
        'h1',
        'su -s /bin/sh kube -c "kubeadm init --config /etc/kubernetes/kubeadm.conf" 2>&1; echo "rc=$?"',
      );
      expect(asUser).toContain('\t[ERROR IsPrivilegedUser]: user is not running as root\n');
      expect(asUser).not.toContain('[ERROR Port-6443]');
      expect(asUser).toMatch(/rc=1\n$/);
      const disabled = inside(
        'h1',
        'systemctl disable --quiet kubelet && kubeadm init --config /etc/kubernetes/kubeadm.conf 2>&1; ' +
          'echo "rc=$?"; systemctl enable --quiet kubelet',
      );
      expect(disabled).toContain(
        "\t[WARNING Service-Kubelet]: kubelet service is not enabled, please run 'systemctl enable kubelet.service'\n",
      );
      // The same double as kubeadm 1.35 on these cgroup v1 hosts: SystemVerification turns
      // from a warning (1.34, above) into an error (kubeadm-behaviour.md §1).
      writeFileSync(
        join(harness.host('h1').root, 'usr/local/sbin/kubeadm-1.35'),
        readFileSync(join(REPO_ROOT, 'test/doubles/kubeadm'), 'utf8').replaceAll('@VERSION@', '1.35.0'),
        { mode: 0o755 },
      );
      const v135 = inside(
        'h1',
        '/usr/local/sbin/kubeadm-1.35 init --config /etc/kubernetes/kubeadm.conf 2>&1; echo "rc=$?"; ' +
          'rm /usr/local/sbin/kubeadm-1.35',
      );
      expect(v135).toContain('\t[ERROR SystemVerification]: cgroups v1 support is deprecated');
      expect(v135).toMatch(/rc=1\n$/);
      expect(disabled).toContain('[WARNING SystemVerification]: cgroups v1 support is in maintenance mode');
    });

    it(
      'a second node under the name of a Ready node is refused by join, as upstream',
      { timeout: 300_000 },
      async () => {
        // h2 is wiped (reset stops its kubelet, so no report of its own overwrites the next
        // line), its Node reported Ready as the first h2's kubelet would have, then h2 joins
        // again under the same name.
        inside('h2', 'kubeadm reset -f >/dev/null');
        expect(inside('h2', 'systemctl is-active kubelet || true').trim()).toBe('inactive');
        expect(
          inside('h1', `${API_CALL} /etc/kubernetes/admin.conf 'NODE h2 True KubeletReady ${h2().ip} v1.34.2'`),
        ).toBe('OK\n');
        const result = await runPhases([new JoinPhase(model, files, 'worker')], hosts());
        expect(failureSummary(result)).toContain(
          'error execution phase kubelet-start: a Node with name "h2" and status "Ready" ' +
            'already exists in the cluster. ' +
            'You must delete the existing Node or change the name of this new joining Node',
        );
      },
    );

    /** The kubeadm double stamped with another version, as kubestrap unpacks a target kubeadm. */
    const kubeadmOf = (version: string) => {
      writeFileSync(
        join(harness.host('h1').root, `usr/local/sbin/kubeadm-${version}`),
        readFileSync(join(REPO_ROOT, 'test/doubles/kubeadm'), 'utf8').replaceAll('@VERSION@', version),
        { mode: 0o755 },
      );
      return `/usr/local/sbin/kubeadm-${version}`;
    };
    const clusterState = () =>
      inside(
        'h1',
        'grep -h "image:" /etc/kubernetes/manifests/*.yaml | sort; ' +
          'grep kubernetesVersion /var/lib/kubestrap-doubles/api/kubeadm-config',
      );

    it('upgrade apply refuses what kubeadm refuses, before it changes anything (policy.go, §8)', () => {
      const before = clusterState();
      expect(before).toContain('kubernetesVersion: v1.34.2');
      const run = (command: string) => inside('h1', `${command} </dev/null 2>&1; echo "rc=$?"`);
      // No pod network here: h1's kubelet reports NotReady, which CheckClusterHealth refuses.
      expect(run('kubeadm upgrade apply v1.34.2 -y')).toContain(
        '\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [h1]\n',
      );
      const ignore = '--ignore-preflight-errors=ControlPlaneNodesReady';
      // A skipped minor, and a target above kubeadm's own minor: mandatory, --force or not.
      // A kubeadm two minors ahead cannot even read the cluster's config (NormalizeKubernetesVersion).
      const tooNew = run(`${kubeadmOf('1.36.5')} upgrade apply v1.36.5 -y ${ignore},SystemVerification`);
      expect(tooNew).toContain(
        'this version of kubeadm only supports deploying clusters with the control plane version >= 1.35.0. ' +
          'Current version: v1.34.2',
      );
      // A skipped minor with the next minor's kubeadm: mandatory, --force or not, both reasons listed.
      const skipped = run(`${kubeadmOf('1.35.9')} upgrade apply v1.36.5 --force ${ignore},SystemVerification`);
      expect(skipped).toContain(
        'the version argument is invalid due to these fatal errors:\n\n' +
          '\t- Specified version to upgrade to "v1.36.5" is too high; ' +
          'kubeadm can upgrade only 1 minor version at a time\n' +
          '\t- Specified version to upgrade to "v1.36.5" is at least one minor release higher than the kubeadm minor ' +
          'release (36 > 35). Such an upgrade is not supported\n',
      );
      expect(skipped).toContain('Please fix the misalignments highlighted above and try upgrading again');
      // kubeadm 1.35's upgrade preflight on these cgroup v1 hosts: SystemVerification first.
      expect(run(`${kubeadmOf('1.35.9')} upgrade apply v1.35.9 -y ${ignore}`)).toContain(
        '\t[ERROR SystemVerification]: cgroups v1 support is deprecated',
      );
      // A newer patch than kubeadm's own: skippable, only with --force.
      const patch = run(`kubeadm upgrade apply v1.34.10 -y ${ignore}`);
      expect(patch).toContain(
        'the version argument is invalid due to these errors:\n\n\t- Specified version to upgrade to "v1.34.10" is ' +
          'higher than the kubeadm version "v1.34.2". ' +
          'Upgrade kubeadm first using the tool you used to install kubeadm\n' +
          '\nCan be bypassed if you pass the --force flag\n',
      );
      // Without -y it asks, and a closed stdin is no.
      expect(run(`${kubeadmOf('1.34.10')} upgrade apply v1.34.10 ${ignore}`)).toContain(
        "won't proceed; the user didn't answer (Y|y) in order to continue",
      );
      for (const out of [tooNew, skipped, patch]) expect(out).toMatch(/rc=1\n$/);
      expect(clusterState()).toBe(before);
    });

    it(
      "upgrade apply with the target's kubeadm moves the static pods and kubeadm-config; the kubelet is not restarted",
      { timeout: 120_000 },
      () => {
        const kubeletPid = inside('h1', 'systemctl show -p MainPID --value kubelet').trim();
        expect(kubeletPid).not.toBe('0');
        const out = inside(
          'h1',
          `${kubeadmOf('1.34.10')} upgrade apply v1.34.10 -y --ignore-preflight-errors=ControlPlaneNodesReady 2>&1`,
        );
        expect(out).toContain(
          '[upgrade/versions] Cluster version: v1.34.2\n[upgrade/versions] kubeadm version: v1.34.10\n',
        );
        expect(out).toContain('[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "v1.34.10".');
        expect(clusterState()).toBe(
          ['etcd:3.6.5-0', 'kube-apiserver:v1.34.10', 'kube-controller-manager:v1.34.10', 'kube-scheduler:v1.34.10']
            .map((i) => `    image: registry.k8s.io/${i}\n`)
            .join('') + 'kubernetesVersion: v1.34.10\n',
        );
        expect(inside('h1', 'ls /etc/kubernetes/tmp/kubeadm-kubelet-config-*/config.yaml | wc -l').trim()).toBe('1');
        expect(inside('h1', 'systemctl show -p MainPID --value kubelet').trim()).toBe(kubeletPid);
      },
    );

    it('upgrade node reads the cluster over TLS; a kubeadm two minors ahead of the cluster is refused', () => {
      const ahead = inside('h1', `${kubeadmOf('1.36.5')} upgrade node 2>&1; echo "rc=$?"`);
      expect(ahead).toContain(
        'unable to fetch the kubeadm-config ConfigMap: this version of kubeadm only supports deploying clusters ' +
          'with the control plane version >= 1.35.0. Current version: v1.34.10',
      );
      expect(ahead).toMatch(/rc=1\n$/);
      const out = inside('h1', `${kubeadmOf('1.34.10')} upgrade node 2>&1`);
      expect(out).toContain(
        '[upgrade/control-plane] The control plane instance for this node was successfully upgraded!',
      );
      expect(out).toContain(
        '[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!',
      );
      expect(calls('h1')).toContain('apiserver CLUSTERCONFIG kubeadm-config');
    });
  },
);
