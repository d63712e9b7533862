// doctor's wall time on 1 and on 10 hosts (root; sshd namespace hosts, no cluster on
// them, so every host check runs and the API check finds no kubectl), against the peer a
// site has without it: the same probe script run over OpenSSH host after host, and with
// the hosts at once (`ssh` processes in parallel). Target: under 3 s on 10 hosts. Then
// support-bundle's time and size on 3 hosts.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { doctorScript } from '../provisioners/doctor/host-facts.js';
import { Harness, harnessUnavailable, type TestHost } from '../test/harness/hosts.js';
import { harnessSpec } from '../test/support/cluster.js';
import { kubestrapIn } from '../test/support/kubestrap-cli.js';

const reason = harnessUnavailable();
if (reason) {
  console.log(`doctor bench skipped: ${reason}`);
  process.exit(0);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const harness = await Harness.start(10);
const work = mkdtempSync(join(tmpdir(), 'kubestrap-bench-doctor-'));
try {
  const specFor = (count: number) => {
    const dir = join(work, `n${count}`);
    const sub = { ...harness, hosts: harness.hosts.slice(0, count) } as unknown as Harness;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cluster.yaml'), harnessSpec(sub));
    return dir;
  };
  const doctorSeconds = async (count: number) => {
    const dir = specFor(count);
    const run = kubestrapIn(dir, 120_000);
    await run('doctor', '-f', 'cluster.yaml', '--json'); // host keys recorded, like a second visit
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      const result = await run('doctor', '-f', 'cluster.yaml', '--json');
      if (![0, 1, 3].includes(result.status ?? -1)) throw new Error(`doctor exited ${result.status}: ${result.stderr}`);
      samples.push((performance.now() - start) / 1000);
    }
    return median(samples);
  };
  const script = doctorScript('debian');
  const ssh = (host: TestHost) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        'ssh',
        [
          '-i',
          harness.clientKeyPath,
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          `UserKnownHostsFile=${join(work, 'known')}`,
          '-o',
          'BatchMode=yes',
          `kube@${host.ip}`,
          'sudo sh',
        ],
        { stdio: ['pipe', 'ignore', 'ignore'] },
      );
      child.stdin.end(script);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh ${host.name} exited ${code}`))));
    });
  const peerSeconds = async (parallel: boolean) => {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      if (parallel) await Promise.all(harness.hosts.map(ssh));
      else for (const host of harness.hosts) await ssh(host);
      samples.push((performance.now() - start) / 1000);
    }
    return median(samples);
  };
  const one = await doctorSeconds(1);
  const ten = await doctorSeconds(10);
  const sequential = await peerSeconds(false);
  const parallel = await peerSeconds(true);

  const dir = specFor(3);
  const start = performance.now();
  const made = await kubestrapIn(dir, 300_000)('support-bundle', '-f', 'cluster.yaml', '-o', 'b.tar.gz', '--json');
  const bundleSeconds = (performance.now() - start) / 1000;
  if (made.status !== 0) throw new Error(`support-bundle exited ${made.status}: ${made.stderr}`);
  const size = (JSON.parse(made.stdout.trim().split('\n').at(-1)!) as { sizeBytes: number }).sizeBytes;

  const s = (x: number) => `${x.toFixed(2)} s`;
  console.log(`doctor, 1 host:                     ${s(one)}`);
  console.log(`doctor, 10 hosts:                   ${s(ten)} (target < 3 s: ${ten < 3 ? 'met' : 'NOT met'})`);
  console.log(
    `peer: the probe over ssh, one by one: ${s(sequential)}  ratio doctor/peer ${(ten / sequential).toFixed(2)}`,
  );
  console.log(`peer: the probe over ssh, at once:    ${s(parallel)}  ratio doctor/peer ${(ten / parallel).toFixed(2)}`);
  console.log(`support-bundle, 3 hosts:            ${s(bundleSeconds)}, ${(size / 1024).toFixed(0)} KiB`);
} finally {
  rmSync(work, { recursive: true, force: true });
  await harness.stop();
}
