// Host prep and containerd on a real kernel: a qemu VM (TCG) booted from the test root
// with Debian's cloud kernel. Kernel modules are really loaded, sysctls really set and
// still set after a reboot, and containerd with runc really runs a container. The VM
// boots with the mirror's containerd and runc preinstalled, so the runtime phase only
// configures them: apt takes 1–2 minutes under TCG, test/runtime-packages.test.ts
// proves the online install, and the last test here purges them and proves the install
// from a bundle on this real kernel.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostprepPhase } from '../provisioners/hostprep.js';
import { ResetPhase } from '../provisioners/reset.js';
import { BundlePhase, ImagesPhase } from '../provisioners/bundle.js';
import { PackagesPhase } from '../provisioners/packages.js';
import { readPublicKey } from '../bundle/signing.js';
import { verifyBundle } from '../bundle/verify.js';
import { failureSummary, runPhases } from '../engine/index.js';
import { RuntimePhase } from '../provisioners/runtime.js';
import { loadSpecText } from '../spec/load.js';
import type { ClusterModel } from '../spec/model.js';
import { SshPool } from '../ssh/pool.js';
import { renderCluster } from '../templates/render.js';
import { AptMirror, withMirrorPackages } from './harness/apt-mirror.js';
import { baseRoot, harnessUnavailable } from './harness/hosts.js';
import { buildProbeImage, PROBE_IMAGE } from './harness/oci-image.js';
import { TestVm, VM_PACKAGES, vmUnavailable } from './harness/vm.js';
import { missingTools, runAsync } from './support/tools.js';
import { startBundleSources } from './support/bundle-sources.js';
import { kubestrapIn } from './support/kubestrap-cli.js';
import type { DoctorCheck } from '../provisioners/doctor/check.js';
import { REPO_ROOT, sharedReferenceMissing } from './support/fixtures.js';

const unavailable =
  harnessUnavailable() ??
  vmUnavailable() ??
  sharedReferenceMissing() ??
  missingTools('busybox', 'skopeo', 'docker-registry', 'gpgv');

describe.skipIf(unavailable)(
  `host prep and containerd in a VM${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let vm: TestVm;
    let mirror: AptMirror;
    let pool: SshPool;
    let model: ClusterModel;
    const work = mkdtempSync(join(tmpdir(), 'vm-test-'));

    beforeAll(async () => {
      mirror = await AptMirror.start('127.0.0.1', '1.34.2');
      const seenFromGuest = mirror.url.replace('127.0.0.1', TestVm.HOST_IP);
      // Two blank disks: /dev/vdb for Rook (the spec names it), /dev/vdc that no spec names.
      vm = await TestVm.start(
        (root) => mirror.configureRoot(root, seenFromGuest),
        ['6G', '6G'],
        await withMirrorPackages(await baseRoot(VM_PACKAGES)),
      );
      model = loadSpecText(vmSpec(false), 'vm.yaml').model;
      pool = new SshPool({
        knownHostsPath: join(work, 'known_hosts'),
        logDir: join(work, 'logs'),
        connectAttempts: 10,
        connectBackoffMs: 1000,
      });
    }, 900_000);

    afterAll(async () => {
      await pool?.close();
      await vm?.stop();
      await mirror?.stop();
    });

    const vmSpec = (rook: boolean) => `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: vm
spec:
  kubernetes:
    version: 1.34.2
  machines:
    provider: existing
    network: 10.0.2.0/24
    nodes:
      - name: vm1
        role: control-plane
        ip: ${TestVm.GUEST_IP}
        address: 127.0.0.1
        ssh:
          user: root
          port: ${vm.port}
          keyPath: ${vm.clientKeyPath}
${rook ? '        disks:\n          - device: /dev/vdb\n' : ''}  storage:
    rook:
      enabled: ${rook}
`;
    const host = () =>
      pool.host({ name: 'vm1', address: '127.0.0.1', port: vm.port, user: 'root', privateKey: readKey() });
    const readKey = () => readFileSync(vm.clientKeyPath);
    const hosts = () => [{ name: 'vm1', node: model.nodes[0]!, ssh: host() }];
    const sh = async (command: string) => (await host().exec(command, { timeoutMs: 120_000 })).stdout.trim();

    it('loads the kernel modules, sets the sysctls and runs containerd', { timeout: 900_000 }, async () => {
      const files = renderCluster(model);
      const result = await runPhases([new HostprepPhase(model, files), new RuntimePhase(model, files)], hosts());
      expect(failureSummary(result)).toBe('');
      expect(await sh('lsmod | awk \'{ print $1 }\' | grep -x -E "br_netfilter|overlay" | sort | tr "\\n" " "')).toBe(
        'br_netfilter overlay',
      );
      expect(
        await sh(
          'sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables ' +
            'net.bridge.bridge-nf-call-ip6tables | tr "\\n" " "',
        ),
      ).toBe('1 1 1');
      expect(await sh('systemctl is-active containerd')).toBe('active');
    });

    it(
      "doctor finds the clock 10 minutes off and br_netfilter unloaded (this kernel is the VM's own), with the fixes",
      { timeout: 600_000 },
      async () => {
        const dir = join(work, 'doctor');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'vm.yaml'), vmSpec(false));
        const doctor = async () => {
          const result = await kubestrapIn(dir, 300_000)('doctor', '-f', 'vm.yaml', '--json');
          const report = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { checks: DoctorCheck[] };
          return (check: string) => report.checks.find((c) => c.scope === 'vm1' && c.check === check)!;
        };
        const before = await doctor();
        expect(before('kernel-modules')).toMatchObject({ status: 'ok', seen: 'overlay and br_netfilter loaded' });
        expect(before('clock-skew').status).not.toBe('fail');
        await sh("date -s '+10 min' > /dev/null && rmmod br_netfilter");
        try {
          const after = await doctor();
          expect(after('clock-skew').status).toBe('fail');
          expect(after('clock-skew').seen).toMatch(/^\+(59\d|60\d)\.\d{3} s against this machine/);
          expect(after('clock-skew').fix).toContain('same time server');
          expect(after('kernel-modules')).toMatchObject({ status: 'fail', seen: 'not loaded: br_netfilter' });
          expect(after('kernel-modules').fix).toContain('modprobe br_netfilter');
          expect(after('sysctls').seen).toContain('net.bridge.bridge-nf-call-iptables = absent (want 1)');
        } finally {
          await sh("date -s '-10 min' > /dev/null && modprobe br_netfilter && sysctl --system > /dev/null");
        }
      },
    );

    it(
      'containerd and runc run a container, with the systemd cgroup driver from our config',
      { timeout: 600_000 },
      async () => {
        const archive = buildProbeImage(join(work, 'probe.tar'));
        await host().upload({ path: archive }, '/root/probe.tar', { mode: 0o600 });
        await sh('ctr -n k8s.io images import /root/probe.tar');
        expect(await sh(`ctr -n k8s.io images ls -q | grep -x ${PROBE_IMAGE}`)).toBe(PROBE_IMAGE);
        expect(
          await sh(`ctr -n k8s.io run --rm ${PROBE_IMAGE} kubestrap-probe /bin/busybox echo hello-from-a-container`),
        ).toBe('hello-from-a-container');
        expect(await sh('containerd config dump | grep -E "^\\s*SystemdCgroup"')).toBe('SystemdCgroup = true');
      },
    );

    it(
      'after a reboot the modules and sysctls are back, and a re-run changes nothing',
      { timeout: 900_000 },
      async () => {
        await host()
          .exec('systemctl reboot', { check: false })
          .catch(() => undefined);
        await vm.boot();
        expect(await sh('lsmod | awk \'{ print $1 }\' | grep -x -E "br_netfilter|overlay" | sort | tr "\\n" " "')).toBe(
          'br_netfilter overlay',
        );
        expect(await sh('sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables | tr "\\n" " "')).toBe('1 1');
        const files = renderCluster(model);
        const again = await runPhases([new HostprepPhase(model, files), new RuntimePhase(model, files)], hosts());
        expect(again.phases.map((p) => `${p.title}: ${p.hosts[0]!.status}`)).toEqual([
          'Host preparation: unchanged',
          'Container runtime (containerd): unchanged',
        ]);
      },
    );

    it(
      'reset wipes the Rook disk the spec names (refusing while it is mounted) and leaves every other disk alone',
      { timeout: 600_000 },
      async () => {
        const rookModel = loadSpecText(vmSpec(true), 'vm-rook.yaml').model;
        expect(rookModel.nodes[0]!.disks.map((d) => d.device)).toEqual(['/dev/vdb']);
        const rookHosts = () => [{ name: 'vm1', node: rookModel.nodes[0]!, ssh: host() }];
        // What an OSD leaves: a filesystem signature (Ceph's bluestore label sits in the first MiBs as well).
        await sh(
          'mkfs.ext4 -q -F /dev/vdb && mkfs.ext4 -q -F /dev/vdc && mkdir -p /mnt/osd && mount /dev/vdb /mnt/osd',
        );
        const mounted = await runPhases([new ResetPhase(rookModel)], rookHosts());
        expect(failureSummary(mounted)).toMatch(/\/dev\/vdb is mounted; refusing to wipe a disk in use/);
        expect(await sh('wipefs -n /dev/vdb | tail -n +2 | wc -l')).not.toBe('0');

        await sh('umount /mnt/osd');
        const reset = await runPhases([new ResetPhase(rookModel)], rookHosts());
        expect(failureSummary(reset)).toBe('');
        expect(reset.phases[0]!.hosts[0]!.changes.map((c) => c.description)).toContain('wipe Rook disk /dev/vdb');
        expect(await sh('wipefs -n /dev/vdb | wc -l')).toBe('0');
        expect(await sh('cmp -n 104857600 /dev/vdb /dev/zero && echo zeroed')).toBe('zeroed');
        expect(await sh('blkid -o value -s TYPE /dev/vdc')).toBe('ext4');

        const again = await runPhases([new ResetPhase(rookModel)], rookHosts());
        expect(again.phases[0]!.hosts[0]!.status).toBe('unchanged');
      },
    );

    it(
      'installs from a bundle with its outbound traffic dropped; containerd runs an image from the bundle',
      { timeout: 900_000 },
      async () => {
        const sources = await startBundleSources(mirror, work, '1.34.2');
        try {
          writeFileSync(join(work, 'bundle.yaml'), `${vmSpec(false)}${sources.packagesYaml}`);
          const cli = (...args: string[]) =>
            runAsync(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), ...args], {
              cwd: work,
              timeoutMs: 600_000,
            });
          const keygen = await cli('bundle', 'keygen', 'bundle-key');
          expect(keygen.status, keygen.stderr).toBe(0);
          const built = await cli('bundle', '-f', 'bundle.yaml', '-o', 'vm.kubestrap.tar', '--sign-key', 'bundle-key');
          expect(built.status, built.stderr).toBe(0);
        } finally {
          await sources.stop();
        }
        // Back to a host without containerd (the VM booted with it), then airgapped.
        await sh(
          'systemctl stop containerd; apt-get purge -y -q containerd runc >/dev/null 2>&1; rm ' +
            '-rf /var/lib/containerd; dpkg-query -W containerd 2>/dev/null || echo gone',
        );
        await sh(
          'iptables -A OUTPUT -o lo -j ACCEPT && iptables -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED ' +
            '-j ACCEPT && iptables -A OUTPUT -p tcp --syn -j DROP && iptables -P OUTPUT DROP',
        );
        const synDropped = async () =>
          Number((await sh("iptables -L OUTPUT -v -x -n | awk '/DROP/ && /flags:0x17\\/0x02/ { print $1 }'")) || 'NaN');
        expect(
          await sh(
            `timeout 5 /usr/lib/apt/apt-helper download-file ` +
              `${mirror.url.replace('127.0.0.1', TestVm.HOST_IP)}/debian/Release ` +
              `/tmp/r >/dev/null 2>&1; echo $?`,
          ),
        ).not.toBe('0');
        await sh('iptables -Z OUTPUT');

        const localPath = join(work, 'vm.kubestrap.tar');
        const trusted = { key: readPublicKey(join(work, 'bundle-key.pub')), path: 'bundle-key.pub' };
        const bundle = { localPath, ...(await verifyBundle(localPath, undefined, trusted)) };
        expect(bundle.authenticated).toBe(true);
        const offline: ClusterModel = {
          ...model,
          packages: { ...model.packages, source: 'bundle', bundle: localPath },
        };
        const files = renderCluster(offline);
        const result = await runPhases(
          [
            new BundlePhase(bundle),
            new HostprepPhase(offline, files),
            new RuntimePhase(offline, files),
            new ImagesPhase(bundle),
            new PackagesPhase(offline, files),
          ],
          [{ name: 'vm1', node: offline.nodes[0]!, ssh: host() }],
        );
        expect(failureSummary(result)).toBe('');
        expect(await sh("dpkg-query -W -f='${Package} ${Version}\\n' containerd kubeadm | sort")).toMatch(
          /^containerd \S+\nkubeadm 1\.34\.2-1\.1$/,
        );
        expect(await sh('systemctl is-active containerd')).toBe('active');
        // A real kernel unpacks the bundled image and runs it (every test image carries busybox).
        expect(
          await sh(
            'ctr -n k8s.io run --rm registry.k8s.io/pause:3.10.1 bundle-probe /bin/busybox echo from-the-bundle',
          ),
        ).toBe('from-the-bundle');
        expect(await synDropped()).toBe(0);
      },
    );
  },
);
