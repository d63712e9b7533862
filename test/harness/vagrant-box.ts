// A Vagrant box for the libvirt provider, built from the cached Debian VM root: the
// root filesystem as a qcow2 disk, booted straight into the root's kernel and initrd
// (the box's own Vagrantfile points libvirt at them, so no bootloader is needed).
// Built per test run (≈ 5 s) so that it can carry that run's package mirror.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { baseRoot } from './hosts.js';
import { dhcpOnEth0, rootDisk, VM_PACKAGES } from './vm.js';

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Vagrant's published insecure public key, from the installed Vagrant. */
function insecurePublicKey(): string {
  const gems = '/usr/share/rubygems-integration/all/gems';
  const vagrant = existsSync(gems)
    ? readdirSync(gems).find((d) => d.startsWith('vagrant-') && existsSync(join(gems, d, 'keys/vagrant.pub')))
    : undefined;
  if (!vagrant)
    throw new Error(`cannot find Vagrant's keys/vagrant.pub under ${gems} (is Debian's vagrant package installed?)`);
  return readFileSync(join(gems, vagrant, 'keys/vagrant.pub'), 'utf8');
}

// Per machine: its own SSH host keys on first boot (a box must not share them).
const HOSTKEYS_UNIT = `[Unit]
Description=Generate this machine's SSH host keys
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=ssh.service
`;

// Loaded by Vagrant from the box directory, merged under the project's Vagrantfile.
const BOX_VAGRANTFILE = `Vagrant.configure('2') do |config|
  config.vm.provider :libvirt do |lv|
    lv.kernel = File.join(File.dirname(__FILE__), 'vmlinuz')
    lv.initrd = File.join(File.dirname(__FILE__), 'initrd.img')
    lv.cmd_line = 'root=LABEL=root rw console=ttyS0 net.ifnames=0 systemd.unified_cgroup_hierarchy=1'
  end
end
`;

function customize(root: string): void {
  chmodSync(root, 0o755);
  sh('chroot', [root, 'useradd', '-m', '-s', '/bin/bash', 'vagrant']);
  sh('chroot', [root, 'usermod', '-p', '*', 'vagrant']);
  writeFileSync(join(root, 'etc/sudoers.d/vagrant'), 'vagrant ALL=(ALL) NOPASSWD:ALL\n', { mode: 0o440 });
  const ssh = join(root, 'home/vagrant/.ssh');
  mkdirSync(ssh, { mode: 0o700 });
  writeFileSync(join(ssh, 'authorized_keys'), insecurePublicKey(), { mode: 0o600 });
  sh('chroot', [root, 'chown', '-R', 'vagrant:vagrant', '/home/vagrant/.ssh']);
  // Empty: systemd makes one per machine at first boot. A shared machine-id gives every
  // VM the same DHCP client id, and dnsmasq then moves one lease between them.
  writeFileSync(join(root, 'etc/machine-id'), '');
  rmSync(join(root, 'var/lib/dbus/machine-id'), { force: true });
  writeFileSync(join(root, 'etc/fstab'), 'LABEL=root / ext4 defaults 0 1\n');
  writeFileSync(join(root, 'etc/hostname'), 'box\n');
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tbox\n');
  dhcpOnEth0(root);
  writeFileSync(join(root, 'etc/systemd/system/kubestrap-hostkeys.service'), HOSTKEYS_UNIT);
  // RSA keys take a minute to generate under TCG; one ed25519 key is enough.
  writeFileSync(join(root, 'etc/ssh/sshd_config.d/hostkey.conf'), 'HostKey /etc/ssh/ssh_host_ed25519_key\n');
  // A filesystem scrub at boot costs ~45 s of emulated CPU.
  for (const unit of ['e2scrub_reap.service', 'e2scrub_all.timer', 'apt-daily.timer', 'apt-daily-upgrade.timer'])
    symlinkSync('/dev/null', join(root, 'etc/systemd/system', unit));
  const sshWants = join(root, 'etc/systemd/system/ssh.service.wants');
  mkdirSync(sshWants, { recursive: true });
  symlinkSync('/etc/systemd/system/kubestrap-hostkeys.service', join(sshWants, 'kubestrap-hostkeys.service'));
}

/**
 * Writes a `.box` file to `box`: the cached VM root, or `lower` (a root built from it,
 * e.g. with packages preinstalled), customized by `extra` (e.g. apt sources).
 */
export async function buildLibvirtBox(
  box: string,
  extra: (root: string) => void = () => {},
  lower?: string,
): Promise<void> {
  lower ??= await baseRoot(VM_PACKAGES);
  const dir = mkdtempSync('/tmp/kubestrap-box-');
  const merged = join(dir, 'merged');
  try {
    for (const sub of ['upper', 'work', 'merged', 'box']) mkdirSync(join(dir, sub));
    sh('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`,
      merged,
    ]);
    try {
      customize(merged);
      extra(merged);
      const raw = join(dir, 'disk.raw');
      rootDisk(merged, raw, '8G', join(dir, 'box'));
      sh('qemu-img', ['convert', '-O', 'qcow2', raw, join(dir, 'box/box.img')]);
      rmSync(raw);
    } finally {
      sh('umount', [merged]);
    }
    writeFileSync(
      join(dir, 'box/metadata.json'),
      JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: 8 }),
    );
    writeFileSync(join(dir, 'box/Vagrantfile'), BOX_VAGRANTFILE);
    sh('tar', [
      '-C',
      join(dir, 'box'),
      '-cf',
      `${box}.partial`,
      'metadata.json',
      'Vagrantfile',
      'box.img',
      'vmlinuz',
      'initrd.img',
    ]);
    renameSync(`${box}.partial`, box);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
