// Real test hosts for the SSH and provisioning tests: each host is a network
// namespace on a private bridge, with its own overlay of a cached Debian root and its
// own sshd (real OpenSSH), reachable from the test runner at its own IP.
// Needs root. Everything started is stopped by PID and removed on stop().
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { assertHostTier } from '../support/tier.js';
import { addZramDisk, removeZramDisk } from './zram-disk.js';

const BUILD_ROOT = fileURLToPath(new URL('./build-root.sh', import.meta.url));
// netbase: priority important, on every installed Debian (and the iptables the kubelet package pulls in
// depends on it), though debootstrap's minbase leaves it out.
export const ROOT_PACKAGES =
  'systemd,systemd-sysv,dbus,openssh-server,sudo,iproute2,procps,kmod,ca-certificates,socat,netbase';
export const CACHE_DIR = process.env.KUBESTRAP_TEST_CACHE ?? '/var/cache/kubestrap-test';
const SUBNET_PREFIX = '10.213';

/** `sshd`: sshd as the host's only service (fast). `systemd`: systemd as PID 1, for systemctl. */
export type HostInit = 'sshd' | 'systemd';

export interface TestHost {
  readonly name: string;
  readonly init: HostInit;
  readonly ip: string;
  readonly netns: string;
  /** The host's filesystem as the runner sees it (the overlay mount). */
  readonly root: string;
  readonly launcher: ChildProcess;
  /** Blank whole disks the host has (HarnessOptions.disks), by path. */
  readonly disks: readonly string[];
}

export interface HarnessOptions {
  /** Blank disks to give hosts, by host name: the size of each in GiB (zram devices). */
  readonly disks?: Readonly<Record<string, readonly number[]>>;
}

function sh(command: string, args: string[], input?: string): string {
  return execFileSync(command, args, {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(input !== undefined ? { input } : {}),
  });
}

function tryRun(command: string, args: string[]): boolean {
  try {
    sh(command, args);
    return true;
  } catch {
    return false;
  }
}

/** Why the harness cannot run here, or undefined when it can. */
export function harnessUnavailable(): string | undefined {
  assertHostTier('the namespace test hosts');
  const reasons: string[] = [];
  if (process.getuid?.() !== 0) reasons.push('needs root (namespaces, mounts, bridges)');
  for (const tool of ['ip', 'unshare', 'nsenter', 'debootstrap', 'ssh-keygen', 'mount', 'systemd-nspawn']) {
    if (!tryRun('sh', ['-c', `command -v ${tool}`])) reasons.push(`missing ${tool}`);
  }
  if (reasons.length === 0) return undefined;
  const reason =
    `test hosts unavailable: ${reasons.join(', ')} (scripts/install-test-deps.sh installs the ` + `tools; run as root)`;
  if (process.env.CI) throw new Error(`CI must run the host tests; ${reason}`);
  return reason;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `target` under the test cache, made by `build` when it is missing (`build` must create
 * it atomically: a finished copy renamed into place). One builder at a time: test files
 * that start together wait for the first one's result instead of building it twice.
 */
export async function cachedBuild(target: string, build: () => void): Promise<string> {
  const lock = `${target}.lock`;
  mkdirSync(dirname(target), { recursive: true });
  for (let waited = 0; !existsSync(target); waited += 1000) {
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is building it; a lock older than 10 minutes is from a dead run.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 600_000)
        rmSync(lock, { recursive: true, force: true });
      if (waited > 900_000) throw new Error(`timed out waiting for ${lock}`);
      await sleep(1000);
      continue;
    }
    try {
      if (!existsSync(target)) build();
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return target;
}

/** The cached base root, built once per package list and build script. */
export async function baseRoot(packages: string = ROOT_PACKAGES): Promise<string> {
  const key = createHash('sha256').update(packages).update(readFileSync(BUILD_ROOT)).digest('hex').slice(0, 12);
  const root = join(CACHE_DIR, `root-${key}`);
  return cachedBuild(root, () => sh('bash', [BUILD_ROOT, root, packages]));
}

function waitForPort(ip: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect({ host: ip, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`sshd on ${ip}:${port} did not accept connections within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

// PID 1 of each host: keeps sshd running, unless the test has taken it down.
const INIT = `while [ ! -e /var/lib/kubestrap-test/stop ]; do
  if [ -e /var/lib/kubestrap-test/down ]; then
    sleep 0.1
  else
    /usr/sbin/sshd -D -e >>/var/log/sshd.log 2>&1 || sleep 0.2
  fi
done`;

export class Harness {
  private constructor(
    readonly id: number,
    readonly dir: string,
    readonly bridge: string,
    readonly hosts: TestHost[],
    readonly clientKeyPath: string,
  ) {}

  /** Every disk made for the hosts, freed on stop(). */
  private readonly disks: string[] = [];

  get gateway(): string {
    return `${SUBNET_PREFIX}.${this.id}.1`;
  }

  static async start(count: number, init: HostInit = 'sshd', options: HarnessOptions = {}): Promise<Harness> {
    const lower = await baseRoot();
    const dir = mkdtempSync('/tmp/kubestrap-hosts-');
    // Claim a free bridge (and with it a /24) so parallel test files do not collide.
    let id = 0;
    // Links of an earlier run whose network namespace the kernel has not freed yet would
    // collide with ours: an id is free only with no bridge and no host link left.
    const links = tryList('ip', ['-o', 'link', 'show']).join('\n');
    for (let candidate = 1 + (process.pid % 200); candidate < 255 + 200 && !id; candidate++) {
      const n = ((candidate - 1) % 250) + 1;
      if (links.includes(` ks${n}-`)) continue;
      if (tryRun('ip', ['link', 'add', `ksbr${n}`, 'type', 'bridge'])) id = n;
    }
    if (!id) throw new Error('no free test bridge name (ksbr1..ksbr250)');
    const bridge = `ksbr${id}`;
    sh('ip', ['addr', 'add', `${SUBNET_PREFIX}.${id}.1/24`, 'dev', bridge]);
    sh('ip', ['link', 'set', bridge, 'up']);
    const clientKeyPath = join(dir, 'id_ed25519');
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kubestrap-test', '-f', clientKeyPath]);
    const harness = new Harness(id, dir, bridge, [], clientKeyPath);
    try {
      if (init === 'systemd') raiseInotifyLimit();
      await Promise.all(
        Array.from({ length: count }, (_, i) => harness.startHost(i + 1, lower, init, options.disks?.[`h${i + 1}`])),
      );
      harness.hosts.sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)));
    } catch (error) {
      await harness.stop();
      throw error;
    }
    return harness;
  }

  private async startHost(
    index: number,
    lower: string,
    init: HostInit,
    diskSizes: readonly number[] = [],
  ): Promise<TestHost> {
    const name = `h${index}`;
    const disks: string[] = [];
    for (const size of diskSizes) {
      const disk = addZramDisk(size);
      this.disks.push(disk);
      disks.push(disk);
    }
    const netns = `ks${this.id}-${name}`;
    const ip = `${SUBNET_PREFIX}.${this.id}.${10 + index}`;
    const base = join(this.dir, name);
    const root = join(base, 'merged');
    for (const sub of ['upper', 'work', 'merged']) mkdirSync(join(base, sub), { recursive: true });
    sh('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${base}/upper,workdir=${base}/work`,
      root,
    ]);

    const publicKey = readFileSync(`${this.clientKeyPath}.pub`, 'utf8');
    for (const [user, home] of [
      ['root', '/root'],
      ['kube', '/home/kube'],
      ['pw', '/home/pw'],
    ] as const) {
      mkdirSync(join(root, home, '.ssh'), { recursive: true, mode: 0o700 });
      writeFileSync(join(root, home, '.ssh/authorized_keys'), publicKey, { mode: 0o600 });
      if (user !== 'root') sh('chroot', [root, 'chown', '-R', `${user}:${user}`, `${home}/.ssh`]);
    }
    // Every host its own host key, made now rather than baked into the cached root.
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(root, 'etc/ssh/ssh_host_ed25519_key')]);
    writeFileSync(join(root, 'etc/ssh/sshd_config.d/hostkey.conf'), 'HostKey /etc/ssh/ssh_host_ed25519_key\n');
    writeFileSync(join(root, 'etc/hostname'), `${name}\n`);
    writeFileSync(join(root, 'etc/hosts'), `127.0.0.1\tlocalhost\n${ip}\t${name}\n`);
    mkdirSync(join(root, 'var/lib/kubestrap-test'), { recursive: true });
    writeFileSync(join(root, 'init.sh'), INIT);
    chmodSync(join(root, 'init.sh'), 0o755);

    this.plugIn(netns, ip);
    const launcher =
      init === 'systemd' ? this.launchSystemd(name, netns, root, disks) : this.launchSshd(name, netns, root);
    const host: TestHost = { name, init, ip, netns, root, launcher, disks };
    this.hosts.push(host);
    await waitForPort(ip, 22, init === 'systemd' ? 30_000 : 15_000);
    return host;
  }

  /** A fresh network namespace for the host, its eth0 the peer of a link on the bridge. */
  private plugIn(netns: string, ip: string): void {
    sh('ip', ['netns', 'add', netns]);
    sh('ip', ['link', 'add', `${netns}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    sh('ip', ['link', 'set', netns, 'master', this.bridge, 'up']);
    sh('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', netns, 'route', 'add', 'default', 'via', this.gateway]);
  }

  /**
   * What a host whose power is cut looks like to the others: its link gone at once (no
   * more ARP answers, VRRP adverts, TCP resets), then every process of it killed without
   * a chance to say goodbye (SIGKILL to its PID 1 takes its whole PID namespace). Its disk
   * (the overlay) stays, for powerOn().
   */
  async powerOff(host: TestHost): Promise<void> {
    if (host.init !== 'systemd') throw new Error(`${host.name}: powerOff works on systemd hosts`);
    const pid = this.initPid(host);
    const exited = new Promise((resolve) => host.launcher.once('exit', resolve));
    // Deleting our end of the veth deletes its peer, the host's eth0, with it.
    sh('ip', ['link', 'del', host.netns]);
    process.kill(pid, 'SIGKILL');
    await exited;
  }

  /**
   * Boots a powered-off host again from its disk, on a fresh network namespace (a reboot
   * keeps no addresses, routes or sysctls), and waits for its sshd. Returns the new host;
   * harness.host(name) finds it from now on.
   */
  async powerOn(host: TestHost): Promise<TestHost> {
    if (host.launcher.exitCode === null && host.launcher.signalCode === null)
      throw new Error(`${host.name}: still running; powerOff first`);
    sh('ip', ['netns', 'del', host.netns]);
    this.plugIn(host.netns, host.ip);
    const launcher = this.launchSystemd(host.name, host.netns, host.root, host.disks);
    const booted: TestHost = { ...host, launcher };
    this.hosts[this.hosts.indexOf(host)] = booted;
    await waitForPort(host.ip, 22, 30_000);
    return booted;
  }

  private launchSshd(name: string, netns: string, root: string): ChildProcess {
    const setup = [
      'set -e',
      `mount -t proc proc ${root}/proc`,
      `mount --rbind /dev ${root}/dev`,
      `mount -t tmpfs -o mode=0755 tmpfs ${root}/run`,
      `mkdir -p ${root}/run/sshd`,
      `hostname ${name}`,
      `exec chroot ${root} /bin/sh /init.sh`,
    ].join('\n');
    return spawn(
      'ip',
      [
        'netns',
        'exec',
        netns,
        'unshare',
        '--mount',
        '--pid',
        '--uts',
        '--ipc',
        '--fork',
        '--kill-child',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        setup,
      ],
      {
        stdio: 'ignore',
      },
    );
  }

  /**
   * systemd as PID 1 under systemd-nspawn. With no systemd on the machine itself, each
   * host must start from its own cgroup, or the hosts' systemds clobber each other.
   */
  private launchSystemd(name: string, netns: string, root: string, disks: readonly string[]): ChildProcess {
    const group = this.cgroup(name);
    for (const hierarchy of CGROUP_HIERARCHIES) mkdirSync(join(hierarchy, group), { recursive: true });
    const enter = CGROUP_HIERARCHIES.map((hierarchy) => `echo $$ > ${join(hierarchy, group, 'cgroup.procs')}`).join(
      '; ',
    );
    const nspawn =
      `exec systemd-nspawn -q -D ${root} --boot --register=no --keep-unit --capability=CAP_NET_ADMIN ` +
      `--machine=${name} --network-namespace-path=/run/netns/${netns}` +
      // nspawn gives the host a /dev of its own: its disks are bound in by name.
      disks.map((disk) => ` --bind=${disk}`).join('');
    // The host's /proc/sys/net belongs to its own network namespace: let it write there
    // (ip_forward and the bridge sysctls are per namespace), and nowhere else.
    return spawn('sh', ['-c', `${enter}; ${nspawn}`], {
      stdio: 'ignore',
      env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network' },
    });
  }

  private cgroup(name: string): string {
    return `kubestrap-test-${this.id}-${name}`;
  }

  host(name: string): TestHost {
    const host = this.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no test host ${name}`);
    return host;
  }

  /** Runs a command inside the host's namespaces, as root, outside SSH. */
  inside(host: TestHost, command: string): string {
    return sh('nsenter', this.nsenterArgs(host, command));
  }

  /**
   * As `inside`, without blocking this process: a command that reads from a server this
   * process runs (the package mirror apt fetches from) would otherwise wait forever.
   */
  async insideAsync(host: TestHost, command: string): Promise<string> {
    const { stdout } = await promisify(execFile)('nsenter', this.nsenterArgs(host, command), {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  private nsenterArgs(host: TestHost, command: string): string[] {
    const namespaces = ['--mount', '--pid', '--uts', '--net', '--root', '--wd'];
    return ['--target', String(this.initPid(host)), ...namespaces, 'sh', '-c', command];
  }

  /** The host's PID 1, as the machine sees it: the launcher's child (unshare, nspawn). */
  private initPid(host: TestHost): number {
    const children = readFileSync(`/proc/${host.launcher.pid}/task/${host.launcher.pid}/children`, 'utf8').trim();
    const pid = Number(children.split(/\s+/)[0]);
    if (!pid) throw new Error(`${host.name}: its init process is gone`);
    return pid;
  }

  private requireSshdInit(host: TestHost): void {
    if (host.init !== 'sshd')
      throw new Error(`${host.name}: sshdDown/sshdUp work on sshd hosts; use systemctl on systemd hosts`);
  }

  /**
   * Kills every sshd of the host (dropping all its connections) and keeps sshd down. Returns
   * once they are gone: a SIGKILLed sshd keeps its listening socket until the kernel reaps it,
   * and sshdUp's port wait must not be answered by that dying listener (a CI run saw the next
   * connection refused, reported as unreachable, when it was).
   */
  sshdDown(host: TestHost): void {
    this.requireSshdInit(host);
    writeFileSync(join(host.root, 'var/lib/kubestrap-test/down'), '');
    this.inside(
      host,
      'pkill -9 -x sshd; for _ in $(seq 200); do pgrep -x sshd >/dev/null || exit 0; sleep 0.05; done; ' +
        'echo "sshd still running after 10 s" >&2; exit 1',
    );
  }

  /** Lets the host's init start sshd again, and waits until it accepts connections. */
  async sshdUp(host: TestHost): Promise<void> {
    this.requireSshdInit(host);
    rmSync(join(host.root, 'var/lib/kubestrap-test/down'), { force: true });
    await waitForPort(host.ip, 22, 15_000);
  }

  /** Replaces the host's key, as a recreated VM on the same address would have. */
  async newHostKey(host: TestHost): Promise<void> {
    this.requireSshdInit(host);
    const key = join(host.root, 'etc/ssh/ssh_host_ed25519_key');
    rmSync(key, { force: true });
    rmSync(`${key}.pub`, { force: true });
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', host.name, '-f', key]);
    this.sshdDown(host);
    await this.sshdUp(host);
  }

  /**
   * Makes sshd present exactly these host-key types, keeping keys the host already has and
   * making the missing ones (a DSA key needs HostKeyAlgorithms: OpenSSH no longer offers it).
   */
  async useHostKeys(host: TestHost, types: readonly ('ed25519' | 'rsa' | 'ecdsa' | 'dsa')[]): Promise<void> {
    this.requireSshdInit(host);
    const lines: string[] = [];
    for (const type of types) {
      const key = join(host.root, `etc/ssh/ssh_host_${type}_key`);
      if (!existsSync(key)) sh('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', host.name, '-f', key]);
      lines.push(`HostKey /etc/ssh/ssh_host_${type}_key`);
    }
    if (types.includes('dsa')) lines.push('HostKeyAlgorithms ssh-dss');
    writeFileSync(join(host.root, 'etc/ssh/sshd_config.d/hostkey.conf'), `${lines.join('\n')}\n`);
    this.sshdDown(host);
    await this.sshdUp(host);
  }

  async stop(): Promise<void> {
    await Promise.all(this.hosts.map((host) => this.stopHost(host)));
    for (const host of this.hosts) {
      tryRun('umount', ['-l', host.root]);
      tryRun('ip', ['netns', 'del', host.netns]);
      for (const hierarchy of CGROUP_HIERARCHIES) rmCgroup(join(hierarchy, this.cgroup(host.name)));
    }
    // Hosts that failed to start are not in this.hosts; sweep by our naming prefix.
    for (const line of tryList('ip', ['netns', 'list'])) {
      const ns = line.split(' ')[0]!;
      if (ns.startsWith(`ks${this.id}-`)) tryRun('ip', ['netns', 'del', ns]);
    }
    for (const mount of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const point = mount.split(' ')[1];
      if (point?.startsWith(this.dir)) tryRun('umount', ['-l', point]);
    }
    // Deleting a namespace frees its veth pair only once the kernel lets go of the
    // namespace; delete our ends now so that the names are free for the next run.
    for (const line of tryList('ip', ['-o', 'link', 'show'])) {
      const name = /^\d+: (ks\d+-h\d+)@/.exec(line)?.[1];
      if (name?.startsWith(`ks${this.id}-`)) tryRun('ip', ['link', 'del', name]);
    }
    tryRun('ip', ['link', 'del', this.bridge]);
    for (const disk of this.disks) {
      try {
        removeZramDisk(disk);
      } catch {
        // still open (a host that would not die): the leak check reports the host
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async stopHost(host: TestHost): Promise<void> {
    const { launcher } = host;
    if (launcher.exitCode !== null || launcher.signalCode !== null) return;
    const exited = new Promise((resolve) => launcher.once('exit', resolve));
    if (host.init === 'sshd') {
      writeFileSync(join(host.root, 'var/lib/kubestrap-test/stop'), '');
      launcher.kill('SIGKILL'); // --kill-child takes the host's PID 1, and with it the namespace, along
    } else {
      // nspawn turns SIGTERM into an orderly poweroff of the container.
      launcher.kill('SIGTERM');
      const timer = setTimeout(() => launcher.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await exited;
  }
}

const CGROUP_HIERARCHIES = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((path) => existsSync(path));

/** Removes a cgroup and the ones systemd made inside it (deepest first). */
function rmCgroup(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true }))
    if (entry.isDirectory()) rmCgroup(join(path, entry.name));
  try {
    rmdirSync(path);
  } catch {
    // still has processes: the caller's leak check reports it
  }
}

function raiseInotifyLimit(): void {
  const path = '/proc/sys/fs/inotify/max_user_instances';
  if (Number(readFileSync(path, 'utf8')) < 8192) writeFileSync(path, '8192');
}

function tryList(command: string, args: string[]): string[] {
  try {
    return sh(command, args).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
