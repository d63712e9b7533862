// Verify's proof that the cluster works: pods that use the storage, the pod network and
// cluster DNS, and whose output says they did. The workload lives in its own namespace
// for the length of the check; a leftover from a failed run is removed first, and a
// failure leaves the pods for inspection. It is not recorded as a change: the cluster is
// as it was once the check ends.
import { randomBytes } from 'node:crypto';
import { shellQuote } from '../base/quote.js';
import type { HostStep } from '../engine/host-step.js';
import type { ClusterModel } from '../spec/model.js';
import {
  CLIENT_POD,
  SERVER_POD,
  SERVER_PORT,
  VERIFY_NAMESPACE,
  serviceFqdn,
  serviceName,
  storageClaimName,
  storagePodName,
  verifyClient,
  verifyPlacement,
  verifyWorkload,
} from '../templates/verify-workload.js';
import { toYamlDocuments } from '../templates/yaml.js';
import type { NodeHost } from './cluster-host.js';
import { KUBECTL } from './kubectl.js';
import { waitFor } from './wait.js';

export interface WorkloadCheck {
  readonly check: 'storage' | 'pod network' | 'cluster DNS';
  readonly node: string;
  readonly result: string;
}

export interface WorkloadOptions {
  /** How long each pod may take to finish (image pull, volume attach included). */
  readonly timeoutMs: number;
  /** Fixed in tests; otherwise fresh per run, so no earlier run's data can pass. */
  readonly nonce?: string;
}

const IN_NS = `${KUBECTL} -n ${VERIFY_NAMESPACE}`;
export const POD_JSONPATH = `{.status.phase}{"\\t"}{.status.podIP}`;
export const CLUSTER_IP_JSONPATH = '{.spec.clusterIP}';

export class WorkloadCheckFailed extends Error {}

const podProbe = (name: string) => `${IN_NS} get pod ${name} -o jsonpath=${shellQuote(POD_JSONPATH)}`;
const phaseOf = (stdout: string) => stdout.split('\t')[0]?.trim() ?? '';
const diagnosis = `${IN_NS} get pods -o wide; ${IN_NS} get pvc`;

async function logs(step: HostStep<NodeHost>, pod: string): Promise<string> {
  const result = await step.probe(`${IN_NS} logs ${pod}`, { check: false, timeoutMs: 30_000 });
  return `${result.stdout}${result.stderr}`.trim();
}

/** Waits for a run-to-completion pod to end; its phase and output. */
async function finished(
  step: HostStep<NodeHost>,
  pod: string,
  what: string,
  timeoutMs: number,
): Promise<{ failed: boolean; output: string }> {
  const result = await waitFor(step, {
    what,
    probe: podProbe(pod),
    until: (r) => r.code === 0 && ['Succeeded', 'Failed'].includes(phaseOf(r.stdout)),
    timeoutMs,
    intervalMs: 2_000,
    diagnose: diagnosis,
  });
  return { failed: phaseOf(result.stdout) === 'Failed', output: await logs(step, pod) };
}

const failure = (what: string, pod: string, output: string) =>
  new WorkloadCheckFailed(
    `${what}: pod ${VERIFY_NAMESPACE}/${pod} said:\n${output || '(no output)'}\n` +
      `(the pods stay in namespace ${VERIFY_NAMESPACE} for inspection; the next verify removes them)`,
  );

/** The addresses busybox nslookup gives for the name it was asked (after its "Name:" line). */
export function resolvedAddresses(output: string, name: string): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex(
    (l) => l.trim() === `Name:\t${name}` || l.replace(/\s+/g, ' ').trim() === `Name: ${name}`,
  );
  if (start < 0) return [];
  return lines
    .slice(start + 1)
    .map((l) => /^Address(?: \d+)?:\s*(\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(l.trim())?.[1])
    .filter((a): a is string => a !== undefined);
}

export async function verifyWorkloadChecks(
  step: HostStep<NodeHost>,
  model: ClusterModel,
  options: WorkloadOptions,
): Promise<WorkloadCheck[]> {
  const nonce = options.nonce ?? randomBytes(8).toString('hex');
  const placement = verifyPlacement(model);
  const results: WorkloadCheck[] = [];
  const run = (command: string, label: string, stdin?: string) =>
    step.probe(command, { label, timeoutMs: 150_000, ...(stdin === undefined ? {} : { stdin }) });

  await run(
    `${KUBECTL} delete namespace ${VERIFY_NAMESPACE} --ignore-not-found --wait=true --timeout=120s`,
    `kubectl delete namespace ${VERIFY_NAMESPACE} (a leftover of an earlier verify)`,
  );
  await run(
    `${KUBECTL} apply -f -`,
    `kubectl apply -f - (verify workload in ${VERIFY_NAMESPACE})`,
    toYamlDocuments(verifyWorkload(model, nonce)),
  );

  const server = await waitFor(step, {
    what: `pod ${SERVER_POD} to run on ${placement.server.hostname}`,
    probe: podProbe(SERVER_POD),
    until: (r) => r.code === 0 && phaseOf(r.stdout) === 'Running' && /\t\d+(\.\d+){3}$/.test(r.stdout.trim()),
    timeoutMs: options.timeoutMs,
    intervalMs: 2_000,
    diagnose: diagnosis,
  });
  const serverIp = server.stdout.trim().split('\t')[1]!;

  for (const node of placement.storage) {
    const pod = storagePodName(node);
    const { failed, output } = await finished(
      step,
      pod,
      `a pod on ${node.hostname} to write and read PVC ${storageClaimName(node)}`,
      options.timeoutMs,
    );
    if (failed || !output.split('\n').includes(nonce))
      throw failure(
        `storage on ${node.hostname}: the pod did not read back from its volume what it wrote (${nonce})`,
        pod,
        output,
      );
    results.push({
      check: 'storage',
      node: node.hostname,
      result: `wrote and read back PVC ${storageClaimName(node)}`,
    });
  }

  if (!placement.client) {
    step.note('verify: one node, so pod traffic between nodes and cluster DNS from a second pod are not checked');
  } else {
    const client = placement.client;
    const clusterIp = (
      await run(
        `${IN_NS} get service ${serviceName} -o jsonpath=${shellQuote(CLUSTER_IP_JSONPATH)}`,
        `kubectl get service ${serviceName} (its cluster IP)`,
      )
    ).stdout.trim();
    await run(
      `${KUBECTL} apply -f -`,
      `kubectl apply -f - (pod ${CLIENT_POD} on ${client.hostname})`,
      toYamlDocuments([verifyClient(model, client, serverIp)]),
    );
    const { failed, output } = await finished(
      step,
      CLIENT_POD,
      `a pod on ${client.hostname} to reach ${SERVER_POD} on ${placement.server.hostname} and resolve its Service`,
      options.timeoutMs,
    );
    // The client fetches first and looks the name up only after a fetch that worked.
    if (output.split('\n')[0]?.trim() !== nonce)
      throw failure(
        `pod network: the pod on ${client.hostname} did not fetch the server's ${nonce} from ` +
          `${serverIp}:${SERVER_PORT} on ${placement.server.hostname}`,
        CLIENT_POD,
        output,
      );
    results.push({
      check: 'pod network',
      node: client.hostname,
      result: `fetched from pod ${serverIp} on ${placement.server.hostname}`,
    });
    const fqdn = serviceFqdn(model);
    const addresses = resolvedAddresses(output, fqdn);
    if (failed || !addresses.includes(clusterIp))
      throw failure(
        `cluster DNS: ${fqdn} resolved to ${addresses.join(', ') || 'nothing'} on ${client.hostname}, ` +
          `not the Service's cluster IP ${clusterIp || '(none)'}`,
        CLIENT_POD,
        output,
      );
    results.push({ check: 'cluster DNS', node: client.hostname, result: `${fqdn} → ${clusterIp}` });
  }

  await run(
    `${KUBECTL} delete namespace ${VERIFY_NAMESPACE} --ignore-not-found --wait=false`,
    `kubectl delete namespace ${VERIFY_NAMESPACE}`,
  );
  return results;
}
