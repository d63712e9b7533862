// Benchmarks for the render path, printed as figures (never asserted in tests).
//  1. render time for a 100-node spec (validate + model + all artifacts), in memory;
//  2. `kubestrap --help` start-up time of the built CLI (dist/), against bare
//     `node -e 0` in the same run.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadSpecText } from '../spec/load.js';
import { renderCluster } from '../templates/render.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function hundredNodeSpec(): string {
  return `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: bench
spec:
  kubernetes:
    version: 1.35.0
    controlPlaneEndpoint: 10.20.0.5:6443
  machines:
    provider: libvirt
    network: 10.20.0.0/16
    nodes:
      - name: cp
        count: 3
        role: control-plane
        ip: 10.20.0.11
      - name: worker
        count: 97
        ip: 10.20.1.1
        memory: 4096
        disks:
          - size: 20
`;
}

function timeRender(iterations: number) {
  const text = hundredNodeSpec();
  const samples: number[] = [];
  let files = 0;
  let bytes = 0;
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    const { model } = loadSpecText(text, 'bench.yaml');
    const rendered = renderCluster(model);
    samples.push(performance.now() - start);
    files = rendered.length;
    bytes = rendered.reduce((sum, f) => sum + f.content.length, 0);
  }
  return { ms: median(samples), files, bytes };
}

function timeProcess(args: string[], iterations: number): number {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    const result = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
    samples.push(performance.now() - start);
  }
  return median(samples);
}

timeRender(3); // warm-up: JIT and template compilation
const render = timeRender(20);
const help = timeProcess([CLI, '--help'], 15);
const bare = timeProcess(['-e', '0'], 15);

console.log(
  `render, 100-node spec: ${render.ms.toFixed(1)} ms median of 20 ` +
    `(${render.files} files, ${(render.bytes / 1024).toFixed(0)} KiB)`,
);
console.log(
  `kubestrap --help: ${help.toFixed(0)} ms median of 15; ` +
    `bare node -e 0: ${bare.toFixed(0)} ms; ratio ${(help / bare).toFixed(2)}x`,
);
