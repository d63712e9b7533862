// Upgrade wall time (root; systemd namespace hosts; real apt against the test mirror, the
// kubeadm/kubelet/kubectl doubles): a 1 control plane + 4 worker cluster brought up at 1.33
// by `kubestrap up`, then `kubestrap upgrade` to 1.34, the workers one at a time
// (--max-unavailable 1, the peer: kubeadm's guide and k0sctl's default upgrade workers one
// by one) and, on a second cluster built the same way in the same run, four at a time.
// Figures: the upgrade's wall time, per node, and the ratio batched / sequential. The
// doubles make kubeadm and the kubelet quick; what is measured is kubestrap's own work
// (apt, drains, waits), which is what batching is meant to overlap.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AptMirror } from '../test/harness/apt-mirror.js';
import { Harness, harnessUnavailable } from '../test/harness/hosts.js';
import { harnessSpec } from '../test/support/cluster.js';
import { kubestrapIn } from '../test/support/kubestrap-cli.js';
import { KUBERNETES_MINORS } from '../spec/versions.js';

const reason = harnessUnavailable();
if (reason) {
  console.log(`upgrade bench skipped: ${reason}`);
  process.exit(0);
}

const FROM = `1.33.${KUBERNETES_MINORS[33]!.newestPatch}`;
const TO = '1.34.2';
const NODES = 5;

/** The CLI, run asynchronously: the package mirror answers from this very process. */
async function cli(dir: string, ...args: string[]): Promise<void> {
  const result = await kubestrapIn(dir, 1_800_000)(...args);
  if (result.status !== 0)
    throw new Error(`kubestrap ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
}

/** Seconds `kubestrap upgrade --max-unavailable N` takes on a fresh cluster at FROM. */
async function upgradeSeconds(maxUnavailable: number): Promise<number> {
  const harness = await Harness.start(NODES, 'systemd');
  let mirror: AptMirror | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kubestrap-bench-upgrade-'));
  try {
    mirror = await AptMirror.start(harness, [FROM, TO]);
    for (const host of harness.hosts) mirror.configureHost(host);
    const spec = harnessSpec(harness, { version: FROM, kubernetesRepository: mirror.kubernetesRepository });
    writeFileSync(join(dir, 'cluster.yaml'), spec);
    await cli(dir, 'up', '-f', 'cluster.yaml', '--no-workload-check');
    writeFileSync(join(dir, 'cluster.yaml'), spec.replace(`version: ${FROM}`, `version: ${TO}`));
    const start = process.hrtime.bigint();
    await cli(dir, 'upgrade', '-f', 'cluster.yaml', '--yes', '--max-unavailable', String(maxUnavailable));
    return Number(process.hrtime.bigint() - start) / 1e9;
  } finally {
    await mirror?.stop();
    await harness.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sequential = await upgradeSeconds(1);
const batched = await upgradeSeconds(NODES - 1);
const line = (what: string, seconds: number) =>
  `${what}: ${seconds.toFixed(1)} s, ${(seconds / NODES).toFixed(1)} s per node`;
console.log(`upgrade ${FROM} → ${TO}, 1 control plane + ${NODES - 1} workers`);
console.log(line('  workers one at a time (--max-unavailable 1, the peer)', sequential));
console.log(line(`  workers ${NODES - 1} at a time (--max-unavailable ${NODES - 1})`, batched));
console.log(`  ratio batched / one at a time: ${(batched / sequential).toFixed(2)} (target < 1)`);
