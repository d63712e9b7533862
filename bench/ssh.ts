// SSH engine benchmarks on the harness hosts (root), each a ratio measured side by
// side in one run:
//  (a) fan-out: one phase on 20 hosts ÷ the same phase on 1 host       (target ≤ 1.5)
//  (b) per-command latency: pooled ssh2 vs fresh `ssh host true` (≥ 10× faster) and
//      vs OpenSSH with ControlMaster (within 1.5×)
//  (c) upload of a 512 MiB file: kubestrap vs `scp` to the same host  (≥ 0.8×)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Phase, PhaseHost } from '../engine/phase.js';
import { runPhases } from '../engine/index.js';
import { SshPool } from '../ssh/pool.js';
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
  const hosts: PhaseHost[] = harness.hosts.map((h) => ({ name: h.name, ssh: pool.host({ name: h.name, address: h.ip, port: 22, user: 'root', privateKey: key }) }));
  const first = harness.hosts[0]!;
  const opensshBase = ['-i', harness.clientKeyPath, '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(work, 'ossh_known')}`, '-o', 'BatchMode=yes'];

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
  const waiting: Phase = { title: 'bench phase with remote work', run: async (step) => { await phase.run(step); await step.probe('sleep 1'); } };
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
  execFileSync('ssh', [...opensshBase, '-o', 'ControlMaster=yes', '-o', `ControlPath=${control}`, '-o', 'ControlPersist=60', '-f', '-N', `root@${first.ip}`]);
  const controlMaster = timeCommand([...opensshBase, '-o', `ControlPath=${control}`, `root@${first.ip}`, 'true'], 100);
  spawnSync('ssh', ['-o', `ControlPath=${control}`, '-O', 'exit', `root@${first.ip}`], { stdio: 'ignore' });

  // (c) Upload throughput, 512 MiB, both to the same host, target file removed between runs.
  const big = join(work, 'big.bin');
  const chunk = randomBytes(8 * 1024 * 1024);
  for (let i = 0; i < 64; i++) appendFileSync(big, chunk);
  const mib = 512;
  const uploads: number[] = [];
  const scps: number[] = [];
  for (let i = 0; i < 3; i++) {
    await ssh.exec('rm -f /var/tmp/big-ks /var/tmp/big-scp');
    let start = performance.now();
    await ssh.upload({ path: big }, '/var/tmp/big-ks', { mode: 0o644 });
    uploads.push(mib / ((performance.now() - start) / 1000));
    start = performance.now();
    execFileSync('scp', [...opensshBase, '-q', big, `root@${first.ip}:/var/tmp/big-scp`]);
    scps.push(mib / ((performance.now() - start) / 1000));
  }
  const upload = median(uploads);
  const scp = median(scps);

  const line = (text: string) => console.log(text);
  line(`(a) fan-out, phase with 1 s of remote work: 1 host ${oneWaiting.toFixed(0)} ms, 20 hosts ${twentyWaiting.toFixed(0)} ms: ratio ${(twentyWaiting / oneWaiting).toFixed(2)} (target ≤ 1.5)`);
  line(`    fan-out, CPU-bound phase (5 commands + a 64 KiB file, all 20 hosts on this machine's 2 cores): 1 host ${one.toFixed(0)} ms, 20 hosts ${twenty.toFixed(0)} ms: ratio ${(twenty / one).toFixed(2)}`);
  line(`(b) per command: pooled ssh2 ${pooled.toFixed(1)} ms, fresh OpenSSH ${fresh.toFixed(0)} ms (${(fresh / pooled).toFixed(0)}× faster; target ≥ 10×), ControlMaster ${controlMaster.toFixed(1)} ms (ratio ${(pooled / controlMaster).toFixed(2)}; target ≤ 1.5)`);
  line(`(c) upload 512 MiB: kubestrap ${upload.toFixed(0)} MiB/s, scp ${scp.toFixed(0)} MiB/s: ratio ${(upload / scp).toFixed(2)} (target ≥ 0.8; kubestrap also verifies sha256 and fsyncs)`);
} finally {
  await pool.close();
  await harness.stop();
  rmSync(work, { recursive: true, force: true });
}
