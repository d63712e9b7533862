// A real-kernel test host: a qemu VM (TCG — KVM does not work on these machines)
// booting the cached Debian root with a cloud kernel, reached over SSH through a
// forwarded loopback port. For what namespace hosts cannot show: kernel modules,
// sysctls that survive a reboot, containerd running a container.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  symlinkSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { baseRoot, ROOT_PACKAGES } from './hosts.js';
import { assertHostTier } from '../support/tier.js';

export const VM_PACKAGES = `${ROOT_PACKAGES},linux-image-cloud-amd64,initramfs-tools,e2fsprogs,iptables`;

/**
 * qemu's accelerator for every test VM. TCG's default translation cache is 1 GiB (≈ 1.5 GB
 * of host memory per VM); at 64 MB, Go programs (containerd, ctr) outgrow it and are
 * translated again and again: at 256 MB a `ctr` command runs ~40 % faster here (measured:
 * an image import 4–5 s instead of 7–8 s) for ≈ 200 MB more per VM; 512 MB gains nothing more.
 */
export const TCG_ACCEL = 'tcg,tb-size=256';

/** Four to ten times the usual boot; a boot that takes longer has hung. */
const BOOT_TIMEOUT_MS = 240_000;

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** systemd-networkd asks for an address on eth0 (net.ifnames=0) without holding up boot. */
export function dhcpOnEth0(root: string): void {
  mkdirSync(join(root, 'etc/systemd/network'), { recursive: true });
  writeFileSync(join(root, 'etc/systemd/network/10-eth0.network'), '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n');
  const wants = join(root, 'etc/systemd/system/multi-user.target.wants');
  mkdirSync(wants, { recursive: true });
  if (!existsSync(join(wants, 'systemd-networkd.service')))
    symlinkSync('/lib/systemd/system/systemd-networkd.service', join(wants, 'systemd-networkd.service'));
  symlinkSync('/dev/null', join(root, 'etc/systemd/system/systemd-networkd-wait-online.service'));
}

/** `root` as an ext4 disk image labelled root, and its kernel and initrd as `bootDir`/vmlinuz and initrd.img. */
export function rootDisk(root: string, disk: string, size: string, bootDir: string): void {
  sh('truncate', ['-s', size, disk]);
  sh('mkfs.ext4', ['-q', '-L', 'root', '-d', root, disk]);
  const boot = readdirSync(join(root, 'boot'));
  const kernel = boot.find((f) => f.startsWith('vmlinuz-'));
  const initrd = boot.find((f) => f.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new Error(`no kernel/initrd in the VM root's /boot: ${boot.join(', ')}`);
  copyFileSync(join(root, 'boot', kernel), join(bootDir, 'vmlinuz'));
  copyFileSync(join(root, 'boot', initrd), join(bootDir, 'initrd.img'));
}

export function vmUnavailable(): string | undefined {
  assertHostTier('test VMs');
  const missing = ['qemu-system-x86_64', 'mkfs.ext4', 'ssh-keygen'].filter((tool) => {
    try {
      sh('sh', ['-c', `command -v ${tool}`]);
      return false;
    } catch {
      return true;
    }
  });
  if (process.getuid?.() !== 0) missing.push('root');
  if (!missing.length) return undefined;
  const reason = `test VMs unavailable: missing ${missing.join(', ')}`;
  if (process.env.CI) throw new Error(`CI must run the VM tests; ${reason}`);
  return reason;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when the port answers with an SSH banner (qemu accepts before the guest does). */
function waitForSsh(port: number, timeoutMs: number, console: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect({ host: '127.0.0.1', port });
      let seen = '';
      let settled = false;
      // Exactly one outcome per connection: error, timeout and close all fire together.
      const retry = () => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (Date.now() > deadline) {
          const tail = existsSync(console)
            ? readFileSync(console, 'utf8').split('\n').slice(-15).join('\n')
            : '(no console output)';
          reject(
            new Error(
              `the VM's sshd did not answer on 127.0.0.1:${port} within ${timeoutMs / 1000} s; console:\n${tail}`,
            ),
          );
        } else setTimeout(attempt, 1000);
      };
      socket.setTimeout(5000, retry);
      socket.on('data', (chunk) => {
        seen += chunk.toString();
        if (seen.startsWith('SSH-') && !settled) {
          settled = true;
          socket.destroy();
          resolve();
        }
      });
      socket.on('error', retry);
      socket.on('close', retry);
    };
    attempt();
  });
}

export class TestVm {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly clientKeyPath: string,
    private qemu: ChildProcess,
    private readonly args: string[],
  ) {}

  /** The guest's address on qemu's user network; the host (and its loopback) is 10.0.2.2. */
  static readonly GUEST_IP = '10.0.2.15';
  static readonly HOST_IP = '10.0.2.2';

  get console(): string {
    return join(this.dir, 'console.log');
  }

  /**
   * Boots a VM from the cached VM root, or from `lower` (a root built from it, e.g. with
   * packages preinstalled); each of `extraDisks` (sizes such as '6G') becomes a blank
   * sparse virtio disk: /dev/vdb, /dev/vdc, …
   */
  static async start(
    customize: (root: string) => void = () => {},
    extraDisks: readonly string[] = [],
    lower?: string,
  ): Promise<TestVm> {
    lower ??= await baseRoot(VM_PACKAGES);
    const dir = mkdtempSync('/tmp/kubestrap-vm-');
    const merged = join(dir, 'merged');
    for (const sub of ['upper', 'work', 'merged']) mkdirSync(join(dir, sub));
    sh('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`,
      merged,
    ]);
    const clientKeyPath = join(dir, 'id_ed25519');
    try {
      sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKeyPath]);
      mkdirSync(join(merged, 'root/.ssh'), { recursive: true, mode: 0o700 });
      copyFileSync(`${clientKeyPath}.pub`, join(merged, 'root/.ssh/authorized_keys'));
      sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(merged, 'etc/ssh/ssh_host_ed25519_key')]);
      writeFileSync(join(merged, 'etc/ssh/sshd_config.d/hostkey.conf'), 'HostKey /etc/ssh/ssh_host_ed25519_key\n');
      writeFileSync(join(merged, 'etc/fstab'), 'LABEL=root / ext4 defaults 0 1\n');
      writeFileSync(join(merged, 'etc/hostname'), 'vm1\n');
      writeFileSync(join(merged, 'etc/hosts'), `127.0.0.1\tlocalhost\n${TestVm.GUEST_IP}\tvm1\n`);
      dhcpOnEth0(merged);
      customize(merged);
      rootDisk(merged, join(dir, 'disk.raw'), '4G', dir);
      extraDisks.forEach((size, i) => sh('truncate', ['-s', size, join(dir, `extra${i}.raw`)]));
    } finally {
      sh('umount', [merged]);
    }
    const port = await freePort();
    const args = [
      '-accel',
      TCG_ACCEL,
      '-cpu',
      'max',
      '-smp',
      '2',
      '-m',
      '1536',
      '-kernel',
      join(dir, 'vmlinuz'),
      '-initrd',
      join(dir, 'initrd.img'),
      '-append',
      'root=LABEL=root rw console=ttyS0 net.ifnames=0 systemd.unified_cgroup_hierarchy=1',
      '-drive',
      `file=${join(dir, 'disk.raw')},if=virtio,format=raw`,
      ...extraDisks.flatMap((_, i) => ['-drive', `file=${join(dir, `extra${i}.raw`)},if=virtio,format=raw`]),
      '-netdev',
      `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
      '-device',
      'virtio-net-pci,netdev=n0',
      '-display',
      'none',
      '-serial',
      `file:${join(dir, 'console.log')}`,
      '-monitor',
      'none',
      '-no-reboot',
    ];
    const vm = new TestVm(dir, port, clientKeyPath, spawn('qemu-system-x86_64', args, { stdio: 'ignore' }), args);
    try {
      await vm.awaitSsh();
    } catch (error) {
      await vm.stop();
      throw error;
    }
    return vm;
  }

  /** After the guest powered itself off for a reboot (-no-reboot), boot it again. */
  async boot(): Promise<void> {
    if (this.qemu.exitCode === null && this.qemu.signalCode === null)
      await new Promise((resolve) => this.qemu.once('exit', resolve));
    this.qemu = spawn('qemu-system-x86_64', this.args, { stdio: 'ignore' });
    await this.awaitSsh();
  }

  /**
   * A boot reaches SSH in 25–60 s here. Under TCG on a busy 2-core machine a guest has been
   * seen to stop for good in early kernel init (CI: the console ended at 1.2 s of kernel
   * time, 300 s later); such a boot is killed and started once more, and says so.
   */
  private async awaitSsh(): Promise<void> {
    try {
      await waitForSsh(this.port, BOOT_TIMEOUT_MS, this.console);
    } catch (error) {
      process.stderr.write(`test VM: ${(error as Error).message}\ntest VM: killing it and booting once more\n`);
      await this.kill();
      rmSync(this.console, { force: true });
      this.qemu = spawn('qemu-system-x86_64', this.args, { stdio: 'ignore' });
      await waitForSsh(this.port, BOOT_TIMEOUT_MS, this.console);
    }
  }

  private async kill(): Promise<void> {
    if (this.qemu.exitCode === null && this.qemu.signalCode === null) {
      const exited = new Promise((resolve) => this.qemu.once('exit', resolve));
      this.qemu.kill('SIGKILL');
      await exited;
    }
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
