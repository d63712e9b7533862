// The kubectl double answers only the output expressions it models and refuses the rest,
// so an expression kubestrap changes without the double following would leave a wait
// spinning until its timeout on the host tests. This pins the two sides together.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KUBEADM_CONFIG_JSONPATH } from '../operations/upgrade.js';
import { CONDITIONS_JSONPATH, PODS_JSONPATH, PVCS_JSONPATH } from '../provisioners/doctor/cluster-checks.js';
import { NODE_SCHEDULING_JSONPATH, NODES_JSONPATH } from '../provisioners/verify.js';

const double = readFileSync(new URL('./doubles/kubectl', import.meta.url), 'utf8');
const source = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('the kubectl double models the expressions kubestrap sends', () => {
  it('the nodes jsonpath of verify and status (with the InternalIP column)', () => {
    const expression = NODES_JSONPATH.replace(/^'|'$/g, '').replaceAll('\\t', '\t').replaceAll('\\n', '\n');
    const modelled = /^NODES_JSONPATH='(.*)'$/m.exec(double)?.[1];
    expect(modelled?.replaceAll('\\t', '\t').replaceAll('\\n', '\n')).toBe(expression);
    expect(expression).toContain('{.status.addresses[?(@.type=="InternalIP")].address}');
  });

  it("upgrade's nodes expression (with spec.unschedulable)", () => {
    const expression = NODE_SCHEDULING_JSONPATH.replace(/^'|'$/g, '').replaceAll('\\t', '\t').replaceAll('\\n', '\n');
    const modelled = /^SCHEDULING_JSONPATH='(.*)'$/m.exec(double)?.[1];
    expect(modelled?.replaceAll('\\t', '\t').replaceAll('\\n', '\n')).toBe(expression);
    expect(expression).toContain('{.spec.unschedulable}');
  });

  it("doctor's pods expression (all namespaces, with the waiting reason)", () => {
    const expression = PODS_JSONPATH.replace(/^'|'$/g, '').replaceAll('\\t', '\t').replaceAll('\\n', '\n');
    const modelled = /^PODS_JSONPATH='(.*)'$/m.exec(double)?.[1];
    expect(modelled?.replaceAll('\\t', '\t').replaceAll('\\n', '\n')).toBe(expression);
    expect(expression).toContain('{.status.containerStatuses[*].state.waiting.reason}');
  });

  it("doctor's node conditions expression", () => {
    const expression = CONDITIONS_JSONPATH.replace(/^'|'$/g, '').replaceAll('\\t', '\t').replaceAll('\\n', '\n');
    const modelled = /^CONDITIONS_JSONPATH='(.*)'$/m.exec(double)?.[1];
    expect(modelled?.replaceAll('\\t', '\t').replaceAll('\\n', '\n')).toBe(expression);
  });

  it("doctor's claims expression (all namespaces)", () => {
    const expression = PVCS_JSONPATH.replace(/^'|'$/g, '').replaceAll('\\t', '\t').replaceAll('\\n', '\n');
    const modelled = /^PVCS_JSONPATH='(.*)'$/m.exec(double)?.[1];
    expect(modelled?.replaceAll('\\t', '\t').replaceAll('\\n', '\n')).toBe(expression);
  });

  it("upgrade's kubeadm-config expression", () => {
    expect(double).toContain(`"$output" = "jsonpath=${KUBEADM_CONFIG_JSONPATH}"`);
  });

  it("Rook's CephCluster and claim expressions", () => {
    for (const expression of [...source('provisioners/rook.ts').matchAll(/-o jsonpath='([^']+)'/g)].map((m) => m[1]!)) {
      expect(double).toContain(`jsonpath=${expression}`);
    }
  });
});

// verify's workload (provisioners/verify-workload.ts, written against the same contract):
// its pod and Service expressions are the ones the double answers. Skipped until that
// file is on this branch.
const workload = new URL('../provisioners/verify-workload.ts', import.meta.url);
const noWorkload = existsSync(workload) ? '' : ' (skipped: provisioners/verify-workload.ts is not on this branch)';
describe.skipIf(noWorkload)(`the kubectl double models verify's workload expressions${noWorkload}`, () => {
  it('POD_JSONPATH and CLUSTER_IP_JSONPATH', () => {
    const text = readFileSync(workload, 'utf8');
    for (const name of ['POD_JSONPATH', 'CLUSTER_IP_JSONPATH']) {
      // The TypeScript literal's value: `\\t` in the source is the two characters \t.
      const literal = new RegExp(`export const ${name} = [\`']([^\`']+)[\`']`).exec(text)?.[1];
      expect(literal, name).toBeDefined();
      const modelled = new RegExp(`^${name}='jsonpath=(.*)'$`, 'm').exec(double)?.[1];
      expect(modelled, name).toBe(literal!.replaceAll('\\\\', '\\'));
    }
  });
});
