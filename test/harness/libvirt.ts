// libvirt for the Vagrant tests: these machines have no systemd, so virtlogd and
// libvirtd are started by hand (and stopped by PID, only if this process started
// them), with a storage pool in a test directory and a qemu wrapper that sets TCG's
// translation cache size (vm.ts TCG_ACCEL; libvirt ignores extra -accel options, and
// qemu's default costs 1.5 GB per VM).
//
// /dev/kvm: without udev it stays root-only (0600), so libvirt, which checks it as the
// libvirt-qemu user, finds KVM unusable while its capability probe (as root) found it,
// and throws its capability cache away on every lookup: ~30 qemu probes, a minute per
// `virsh define`. The harness gives /dev/kvm the group and mode udev gives it on any
// desktop (kvm, 0660) and puts it back on stop. The domains still use TCG
// (driver: qemu): KVM hangs guests on these machines.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertHostTier } from '../support/tier.js';
import { TCG_ACCEL } from './vm.js';

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function running(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function libvirtUnavailable(): string | undefined {
  assertHostTier('real Vagrant + libvirt');
  const missing = [
    '/usr/sbin/libvirtd',
    '/usr/sbin/virtlogd',
    '/usr/bin/virsh',
    '/usr/bin/vagrant',
    '/usr/bin/qemu-img',
    '/usr/bin/qemu-system-x86_64',
  ].filter((p) => !existsSync(p));
  if (process.getuid?.() !== 0) missing.push('root');
  if (!missing.length) return undefined;
  const reason =
    `real Vagrant + libvirt unavailable: missing ${missing.join(', ')} (scripts/install-test-deps.sh ` +
    `installs them)`;
  if (process.env.CI) throw new Error(`CI must run the Vagrant tests; ${reason}`);
  return reason;
}

export class Libvirt {
  private constructor(
    readonly dir: string,
    readonly pool: string,
    readonly emulator: string,
    private readonly started: number[],
    private readonly kvm: { mode: number; gid: number } | undefined,
  ) {}

  static async start(dir: string, pool = 'kubestrap-test'): Promise<Libvirt> {
    mkdirSync(dir, { recursive: true });
    let kvm: { mode: number; gid: number } | undefined;
    if (existsSync('/dev/kvm')) {
      const stat = statSync('/dev/kvm');
      const group = /^kvm:x:(\d+):/m.exec(readFileSync('/etc/group', 'utf8'));
      if (group && (stat.gid !== Number(group[1]) || (stat.mode & 0o060) !== 0o060)) {
        kvm = { mode: stat.mode & 0o7777, gid: stat.gid };
        chownSync('/dev/kvm', stat.uid, Number(group[1]));
        chmodSync('/dev/kvm', 0o660);
      }
    }
    const started: number[] = [];
    for (const [daemon, pidFile] of [
      ['virtlogd', '/run/virtlogd.pid'],
      ['libvirtd', '/run/libvirtd.pid'],
    ] as const) {
      if (running(pidFile)) continue;
      sh(`/usr/sbin/${daemon}`, ['-d', '-p', pidFile]);
      for (let i = 0; i < 100 && !running(pidFile); i++) await sleep(100);
      const pid = running(pidFile);
      if (!pid) throw new Error(`${daemon} did not start (no live PID in ${pidFile})`);
      started.push(pid);
    }
    for (let i = 0; spawnSync('virsh', ['-c', 'qemu:///system', 'version'], { stdio: 'ignore' }).status !== 0; i++) {
      if (i > 100) throw new Error('libvirtd did not answer `virsh version` within 10 s');
      await sleep(100);
    }
    const poolDir = join(dir, 'pool');
    mkdirSync(poolDir, { recursive: true });
    if (spawnSync('virsh', ['pool-info', pool], { stdio: 'ignore' }).status !== 0) {
      sh('virsh', ['pool-define-as', pool, 'dir', '--target', poolDir]);
    }
    if (!/State:\s+running/.test(sh('virsh', ['pool-info', pool]))) sh('virsh', ['pool-start', pool]);
    const emulator = join(dir, 'qemu-tcg-small');
    writeFileSync(
      emulator,
      // nice: emulated CPUs would otherwise starve Vagrant, whose 2-second DHCP-lease
      // lookups then fail and it gives up on a booting machine ("inaccessible").
      [
        '#!/bin/sh',
        '# libvirt passes "-accel tcg"; the test VMs\' translation cache size goes with it.',
        'for arg do',
        '  shift',
        `  [ "$arg" = tcg ] && arg=${TCG_ACCEL}`,
        '  set -- "$@" "$arg"',
        'done',
        'exec nice -n 10 /usr/bin/qemu-system-x86_64 "$@"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return new Libvirt(dir, pool, emulator, started, kvm);
  }

  /** Everything libvirt still holds that a test cluster named `prefix` could have made. */
  leftovers(prefix: string): string[] {
    const names = (args: string[]) =>
      sh('virsh', args)
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
    return [
      ...names(['list', '--all', '--name'])
        .filter((n) => n.includes(prefix))
        .map((n) => `domain ${n}`),
      ...names(['vol-list', this.pool])
        .slice(2)
        .map((line) => line.split(/\s+/)[0]!)
        .filter((n) => n.includes(prefix))
        .map((n) => `volume ${n}`),
      ...names(['net-list', '--all', '--name'])
        .filter((n) => n !== 'default')
        .map((n) => `network ${n}`),
    ];
  }

  async stop(): Promise<void> {
    spawnSync('virsh', ['pool-destroy', this.pool], { stdio: 'ignore' });
    spawnSync('virsh', ['pool-undefine', this.pool], { stdio: 'ignore' });
    for (const pid of [...this.started].reverse()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        continue;
      }
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(pid, 0);
          await sleep(100);
        } catch {
          break;
        }
      }
    }
    if (this.kvm) {
      chownSync('/dev/kvm', statSync('/dev/kvm').uid, this.kvm.gid);
      chmodSync('/dev/kvm', this.kvm.mode);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
