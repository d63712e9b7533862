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

// libvirtd's first start on a fresh machine probes every qemu binary's capabilities
// before it answers (8.5 s here on an idle machine with an empty
// /var/cache/libvirt/qemu/capabilities); CI starts it that way, sharing the cores with
// the fast tests: the 10 s this once allowed failed the CI run of cce87a9.
const DAEMON_START_MS = 180_000;

/** Polls `ready` until it is true or `ms` have passed; says whether it became true. */
async function within(ms: number, ready: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
  return true;
}

function dropPool(pool: string): void {
  spawnSync('virsh', ['pool-destroy', pool], { stdio: 'ignore' });
  spawnSync('virsh', ['pool-undefine', pool], { stdio: 'ignore' });
}

async function killAndWait(pids: number[]): Promise<void> {
  for (const pid of [...pids].reverse()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      continue;
    }
    await within(5_000, () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  }
}

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
    const log = join(dir, 'libvirtd.log');
    try {
      for (const [daemon, pidFile] of [
        ['virtlogd', '/run/virtlogd.pid'],
        ['libvirtd', '/run/libvirtd.pid'],
      ] as const) {
        if (running(pidFile)) continue;
        execFileSync(`/usr/sbin/${daemon}`, ['-d', '-p', pidFile], {
          stdio: 'ignore',
          env: { ...process.env, LIBVIRT_LOG_OUTPUTS: `3:file:${log}` },
        });
        if (!(await within(DAEMON_START_MS, () => running(pidFile) !== undefined)))
          throw new Error(`${daemon} did not start within ${DAEMON_START_MS / 1000} s (no live PID in ${pidFile})`);
        started.push(running(pidFile)!);
      }
      let answer = '';
      const answered = await within(DAEMON_START_MS, () => {
        const version = spawnSync('virsh', ['-c', 'qemu:///system', 'version'], { encoding: 'utf8' });
        answer = `${version.stdout}${version.stderr}`.trim();
        return version.status === 0;
      });
      if (!answered)
        throw new Error(
          `libvirtd did not answer \`virsh version\` within ${DAEMON_START_MS / 1000} s; it said: ${answer}\n` +
            `libvirtd's log (${log}), last lines:\n` +
            (existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n') : '(none)'),
        );
      const poolDir = join(dir, 'pool');
      mkdirSync(poolDir, { recursive: true });
      // The pool is this harness's own: one left defined by a run that was killed points at
      // that run's directory, long removed, and would not start (it failed the Vagrant e2e).
      dropPool(pool);
      sh('virsh', ['pool-define-as', pool, 'dir', '--target', poolDir]);
      sh('virsh', ['pool-start', pool]);
    } catch (error) {
      // The daemons and the pool would outlive the suite (its afterAll has no Libvirt to stop).
      dropPool(pool);
      await killAndWait(started);
      if (kvm) {
        chownSync('/dev/kvm', statSync('/dev/kvm').uid, kvm.gid);
        chmodSync('/dev/kvm', kvm.mode);
      }
      throw error;
    }
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
    dropPool(this.pool);
    await killAndWait(this.started);
    if (this.kvm) {
      chownSync('/dev/kvm', statSync('/dev/kvm').uid, this.kvm.gid);
      chmodSync('/dev/kvm', this.kvm.mode);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
