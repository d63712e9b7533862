// SSH engine benchmarks on the harness hosts (root), each a ratio measured side by
// side in one run:
//  (a) fan-out: one phase on 20 hosts ÷ the same phase on 1 host       (target ≤ 1.5)
//  (b) per-command latency: pooled ssh2 vs fresh `ssh host true` (≥ 10× faster) and
//      vs OpenSSH with ControlMaster (within 1.5×)
//  (c) upload of a 512 MiB file: kubestrap vs `scp` to the same host  (≥ 0.8×)
//  (d) CPU time (user + system) per command and per MiB uploaded: kubestrap's Node
//      process vs the OpenSSH client processes doing the same (target < 1×). Unlike
//      (a)–(c), these do not depend on how busy the machine is: time spent waiting for
//      a core, or in the test hosts' sshd, counts on neither side.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Phase, PhaseHost } from '../engine/phase.js';
import { runPhases } from '../engine/index.js';
import { childrenCpu, type CpuTime, minus, ownCpu, plus, processCpu, totalMs } from './cpu-time.js';
import { SshPool } from '../ssh/pool.js';
import { resumableUpload } from '../ssh/resumable-upload.js';
import { Harness, harnessUnavailable } from '../test/harness/hosts.js';

const reason = harnessUnavailable();
if (reason) {
  console.log(`ssh bench skipped: ${reason}`);
  process.exit(0);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const work = mkdtempSync(join(tmpdir(), 'kubestrap-bench-'));
const harness = await Harness.start(20);
const pool = new SshPool({ knownHostsPath: join(work, 'known_hosts') });
try {
  const key = readFileSync(harness.clientKeyPath);
  const hosts: PhaseHost[] = harness.hosts.map((h) => ({
    name: h.name,
    ssh: pool.host({ name: h.name, address: h.ip, port: 22, user: 'root', privateKey: key }),
  }));
  const first = harness.hosts[0]!;
  const opensshBase = [
    '-i',
    harness.clientKeyPath,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${join(work, 'ossh_known')}`,
    '-o',
    'BatchMode=yes',
  ];

  // (a) A phase shaped like host prep: probes, one 64 KiB file, one command.
  const file = randomBytes(32 * 1024).toString('hex');
  let round = 0;
  const phase: Phase = {
    title: 'bench phase',
    async run(step) {
      await step.probe('uname -r; test -d /etc/sysctl.d');
      await step.probe('cat /proc/meminfo | head -n 3');
      await step.putFile(`/etc/kubestrap-bench-${round}`, file, { mode: 0o644 });
      await step.change('apply', `sysctl -n kernel.hostname >/dev/null; echo ${round} > /var/tmp/bench-round`);
    },
  };
  // The same phase with one second of remote work per host (a package install, a
  // kubeadm run): on real clusters that work runs on the hosts' own CPUs, while here all
  // 20 "hosts" share this machine's 2 cores, so the CPU-bound figure mostly measures that.
  const waiting: Phase = {
    title: 'bench phase with remote work',
    run: async (step) => {
      await phase.run(step);
      await step.probe('sleep 1');
    },
  };
  await runPhases([phase], hosts, { concurrency: 20 }); // connect every host first
  const timePhase = async (subset: PhaseHost[], which = phase) => {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      round++;
      const start = performance.now();
      const result = await runPhases([which], subset, { concurrency: 20 });
      if (!result.ok) throw new Error('bench phase failed');
      samples.push(performance.now() - start);
    }
    return median(samples);
  };
  const one = await timePhase(hosts.slice(0, 1));
  const twenty = await timePhase(hosts);
  const oneWaiting = await timePhase(hosts.slice(0, 1), waiting);
  const twentyWaiting = await timePhase(hosts, waiting);

  // (b) Per-command latency.
  const ssh = hosts[0]!.ssh;
  for (let i = 0; i < 20; i++) await ssh.exec('true');
  const pooledSamples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const start = performance.now();
    await ssh.exec('true');
    pooledSamples.push(performance.now() - start);
  }
  const pooled = median(pooledSamples);
  const timeCommand = (args: string[], n: number) => {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      const r = spawnSync('ssh', args, { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`ssh ${args.join(' ')} exited ${r.status}`);
      samples.push(performance.now() - start);
    }
    return median(samples);
  };
  const fresh = timeCommand([...opensshBase, `root@${first.ip}`, 'true'], 20);
  const control = join(work, 'cm.sock');
  execFileSync('ssh', [
    ...opensshBase,
    '-o',
    'ControlMaster=yes',
    '-o',
    `ControlPath=${control}`,
    '-o',
    'ControlPersist=60',
    '-f',
    '-N',
    `root@${first.ip}`,
  ]);
  const controlMaster = timeCommand([...opensshBase, '-o', `ControlPath=${control}`, `root@${first.ip}`, 'true'], 100);
  spawnSync('ssh', ['-o', `ControlPath=${control}`, '-O', 'exit', `root@${first.ip}`], { stdio: 'ignore' });

  // (d) CPU per command. The connections are open on both sides before measuring: a
  // cluster run opens one per host and then runs hundreds of commands through it.
  const commands = 500;
  const ownPerCommand = (
    await ownCpu(async () => {
      for (let i = 0; i < commands; i++) await ssh.exec('true');
    })
  ).cpu;
  // The master runs in the foreground as our child, so its pid is known and its CPU
  // during the loop is read from /proc; every client's CPU comes from bash's `times`.
  const cpuSocket = join(work, 'cpu.sock');
  const target = `root@${first.ip}`;
  const master = spawn('ssh', [...opensshBase, '-M', '-N', '-S', cpuSocket, target], { stdio: 'ignore' });
  for (let i = 0; spawnSync('ssh', ['-S', cpuSocket, '-O', 'check', target], { stdio: 'ignore' }).status !== 0; i++) {
    if (i > 100) {
      master.kill();
      throw new Error('the OpenSSH ControlMaster did not come up');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let clientsCpu: CpuTime;
  let masterCpu: CpuTime;
  try {
    const masterBefore = processCpu(master.pid!);
    clientsCpu = childrenCpu('n=$1; shift; for i in $(seq "$n"); do ssh "$@" true </dev/null; done', [
      String(commands),
      ...opensshBase,
      '-S',
      cpuSocket,
      target,
    ]);
    masterCpu = minus(processCpu(master.pid!), masterBefore);
  } finally {
    master.kill();
  }

  // (c) Upload throughput, 512 MiB, both to the same host, target file removed between runs.
  const big = join(work, 'big.bin');
  const chunk = randomBytes(8 * 1024 * 1024);
  for (let i = 0; i < 64; i++) appendFileSync(big, chunk);
  const mib = 512;
  const bigSha256 = execFileSync('sha256sum', [big], { encoding: 'utf8' }).split(' ')[0]!;
  const uploads: number[] = [];
  const scps: number[] = [];
  // (d) CPU per MiB, from the same transfers; the resumable upload (bundles) is the
  // other way kubestrap sends large files: no local hashing, the caller knows the digest.
  const uploadCpu: number[] = [];
  const resumableCpu: number[] = [];
  const scpCpu: number[] = [];
  for (let i = 0; i < 3; i++) {
    await ssh.exec('rm -f /var/tmp/big-ks /var/tmp/big-scp /var/tmp/big-resumable');
    let start = performance.now();
    const own = await ownCpu(() => ssh.upload({ path: big }, '/var/tmp/big-ks', { mode: 0o644 }));
    uploads.push(mib / ((performance.now() - start) / 1000));
    uploadCpu.push(totalMs(own.cpu) / mib);
    start = performance.now();
    const scpRun = childrenCpu('scp "$@"', [...opensshBase, '-q', big, `root@${first.ip}:/var/tmp/big-scp`]);
    scps.push(mib / ((performance.now() - start) / 1000));
    scpCpu.push(totalMs(scpRun) / mib);
    const resumable = await ownCpu(() =>
      resumableUpload(ssh, big, '/var/tmp/big-resumable', { size: mib * 1024 * 1024, sha256: bigSha256 }),
    );
    resumableCpu.push(totalMs(resumable.cpu) / mib);
  }
  const upload = median(uploads);
  const scp = median(scps);

  const line = (text: string) => console.log(text);
  line(
    `(a) fan-out, phase with 1 s of remote work: 1 host ${oneWaiting.toFixed(0)} ms, ` +
      `20 hosts ${twentyWaiting.toFixed(0)} ms: ` +
      `ratio ${(twentyWaiting / oneWaiting).toFixed(2)} (target ≤ 1.5)`,
  );
  line(
    `    fan-out, CPU-bound phase (5 commands + a 64 KiB file, all 20 hosts on this machine's 2 cores): ` +
      `1 host ${one.toFixed(0)} ms, 20 hosts ${twenty.toFixed(0)} ms: ratio ${(twenty / one).toFixed(2)}`,
  );
  line(
    `(b) per command: pooled ssh2 ${pooled.toFixed(1)} ms, fresh OpenSSH ${fresh.toFixed(0)} ms ` +
      `(${(fresh / pooled).toFixed(0)}× faster; target ≥ 10×), ` +
      `ControlMaster ${controlMaster.toFixed(1)} ms (ratio ${(pooled / controlMaster).toFixed(2)}; target ≤ 1.5)`,
  );
  line(
    `(c) upload 512 MiB: kubestrap ${upload.toFixed(0)} MiB/s, scp ${scp.toFixed(0)} MiB/s: ` +
      `ratio ${(upload / scp).toFixed(2)} (target ≥ 0.8; kubestrap also verifies sha256 and fsyncs)`,
  );
  const split = (cpu: CpuTime, n: number) =>
    `user ${(cpu.userMs / n).toFixed(2)} + sys ${(cpu.systemMs / n).toFixed(2)}`;
  const ownCommand = totalMs(ownPerCommand) / commands;
  const opensshCommand = totalMs(plus(clientsCpu, masterCpu)) / commands;
  line(
    `(d) CPU per command (${commands}, connection open): ` +
      `kubestrap ${ownCommand.toFixed(2)} ms (${split(ownPerCommand, commands)}), ` +
      `OpenSSH ControlMaster ${opensshCommand.toFixed(2)} ms ` +
      `(clients ${(totalMs(clientsCpu) / commands).toFixed(2)} ` +
      `+ master ${(totalMs(masterCpu) / commands).toFixed(2)}): ` +
      `ratio ${(ownCommand / opensshCommand).toFixed(2)} (target < 1)`,
  );
  line(
    `    CPU per MiB uploaded (512 MiB, median of 3): kubestrap upload ${median(uploadCpu).toFixed(2)} ms ` +
      `(hashes while sending), ` +
      `resumable upload ${median(resumableCpu).toFixed(2)} ms, ` +
      `scp ${median(scpCpu).toFixed(2)} ms: ratios ${(median(uploadCpu) / median(scpCpu)).toFixed(2)} ` +
      `and ${(median(resumableCpu) / median(scpCpu)).toFixed(2)} (target < 1)`,
  );
} finally {
  await pool.close();
  await harness.stop();
  rmSync(work, { recursive: true, force: true });
}
