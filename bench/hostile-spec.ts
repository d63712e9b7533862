// `kubestrap validate` on hostile and oversized specs (test/support/hostile-specs.ts, the
// same files the CLI tests refuse), each in its own process: wall time, CPU time (user +
// system, which does not grow with the machine's load the way wall time does) and peak
// RSS, against the budget of 2 s and 200 MB per file. Node's own start-up is in every
// figure; `--help` shows it alone. Printed, never asserted in tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { MAX_SPEC_BYTES } from '../spec/limits.js';
import { parseSpecText } from '../spec/source.js';
import { HOSTILE_SPECS } from '../test/support/hostile-specs.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const RUNS = 3;
const BUDGET = { ms: 2000, mib: 200 };

/** Runs the CLI in a child that reports its own resource usage on fd 3 as it exits. */
function measure(args: string[]): { status: number | null; wallMs: number; cpuMs: number; rssMiB: number } {
  const wrapper =
    `process.on('exit', () => require('node:fs').writeSync(3, JSON.stringify(process.resourceUsage())));` +
    `process.argv = [process.argv[0], ${JSON.stringify(CLI)}, ...process.argv.slice(1)];` +
    `import(${JSON.stringify(CLI)});`;
  const start = performance.now();
  const result = spawnSync(process.execPath, ['-e', wrapper, '--', ...args], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 1024 * 1024,
  });
  const wallMs = performance.now() - start;
  const usage = JSON.parse(String(result.output[3])) as { userCPUTime: number; systemCPUTime: number; maxRSS: number };
  return {
    status: result.status,
    wallMs,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    rssMiB: usage.maxRSS / 1024,
  };
}

function worst(args: string[]) {
  const runs = Array.from({ length: RUNS }, () => measure(args));
  return {
    status: runs[0]!.status,
    wallMs: Math.max(...runs.map((r) => r.wallMs)),
    cpuMs: Math.max(...runs.map((r) => r.cpuMs)),
    rssMiB: Math.max(...runs.map((r) => r.rssMiB)),
  };
}

/** The largest flat document accepted: one node with as many labels as fit under the byte limit. */
function largestValidSpec(): string {
  let text =
    'apiVersion: kubestrap.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: lab\nspec:\n' +
    '  storage:\n    rook:\n      enabled: false\n  machines:\n    nodes:\n';
  text += '      - name: cp\n        role: control-plane\n        ip: 192.168.56.10\n        labels:\n';
  for (let i = 0; text.length + 40 < MAX_SPEC_BYTES; i++) text += `          label-${i}: value-${i}\n`;
  return text;
}

/** 500 existing hosts, each listed with its address, disk, labels and SSH settings: a big real spec. */
function fiveHundredNodes(): string {
  let text =
    'apiVersion: kubestrap.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: lab\nspec:\n' +
    '  kubernetes:\n    controlPlaneEndpoint: 10.20.9.9:6443\n' +
    '  machines:\n    provider: existing\n    network: 10.20.0.0/16\n    nodes:\n';
  for (let i = 0; i < 500; i++) {
    const name = `node${String(i).padStart(3, '0')}`;
    text +=
      `      - name: ${name}\n        role: ${i < 3 ? 'control-plane' : 'worker'}\n` +
      `        ip: 10.20.${Math.floor(i / 250)}.${(i % 250) + 1}\n        address: ${name}.dc1.example.com\n` +
      '        disks:\n          - device: /dev/sdb\n' +
      `        labels:\n          topology.kubernetes.io/zone: zone-${i % 3}\n          tier: storage\n` +
      '        ssh:\n          user: admin\n          keyPath: ~/.ssh/id_ed25519\n';
  }
  return text;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-hostile-'));
const cases = [
  ...HOSTILE_SPECS.map((spec) => ({ name: spec.name, path: spec.path, content: spec.content })),
  { name: `largest valid spec (${MAX_SPEC_BYTES / 1024} KiB of labels)`, path: undefined, content: largestValidSpec },
  { name: '500 existing hosts listed one by one (valid)', path: undefined, content: fiveHundredNodes },
];

const help = worst(['--help']);
console.log(
  `kubestrap --help (node start-up alone): ${help.wallMs.toFixed(0)} ms wall, ` +
    `${help.cpuMs.toFixed(0)} ms CPU, ${help.rssMiB.toFixed(0)} MiB peak RSS`,
);
let over = 0;
cases.forEach((spec, i) => {
  let path = spec.path;
  if (!path) {
    path = join(dir, `${i}.yaml`);
    writeFileSync(path, spec.content!());
  }
  const r = worst(['validate', '-f', path]);
  const within = r.wallMs < BUDGET.ms && r.rssMiB < BUDGET.mib;
  if (!within) over++;
  console.log(
    `validate, ${spec.name}: exit ${r.status}, worst of ${RUNS}: ${r.wallMs.toFixed(0)} ms wall, ` +
      `${r.cpuMs.toFixed(0)} ms CPU, ${r.rssMiB.toFixed(0)} MiB peak RSS${within ? '' : '  ** over budget **'}`,
  );
});
console.log(`${cases.length - over} of ${cases.length} within ${BUDGET.ms} ms and ${BUDGET.mib} MB`);
rmSync(dir, { recursive: true, force: true });

// Why duplicate keys are checked by kubestrap: yaml's own check compares every key of a
// mapping with every other one. The 40,000 labels (over the byte limit, so the
// parsers are called directly, in this process), and 4,000 for the growth.
const time = (work: () => void) => {
  const start = performance.now();
  work();
  return performance.now() - start;
};
for (const count of [4_000, 40_000]) {
  const labels = `labels:\n${Array.from({ length: count }, (_, i) => `  label-${i}: value\n`).join('')}`;
  time(() => parseSpecText(labels, 'warm-up'));
  const ours = time(() => parseSpecText(labels, 'bench'));
  const theirs = time(() => parseDocument(labels, { uniqueKeys: true }));
  console.log(
    `${count} labels in one mapping: kubestrap's parse + linear duplicate check ${ours.toFixed(0)} ms; ` +
      `yaml's parse with its uniqueKeys check ${theirs.toFixed(0)} ms`,
  );
}
