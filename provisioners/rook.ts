// Storage: Rook's upstream manifests for the pinned release (CRDs, common, CSI
// operator, operator), a bounded wait for the operator, then our CephCluster, pools and
// default StorageClass; a bounded wait for the CephCluster to be Ready and healthy
// (HEALTH_WARN accepted with one storage node); finally a PVC that must bind.
import type { ClusterModel } from '../spec/model.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { RenderedFile } from '../templates/render.js';
import { ROOK_NAMESPACE, STORAGE_CLASS, storageProbeClaim } from '../templates/rook.js';
import { toYaml } from '../templates/yaml.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import { KUBECTL } from './kubectl.js';
import type { Phase } from '../engine/phase.js';
import { waitFor } from './wait.js';
import { CLUSTER_MANIFESTS } from '../templates/node-paths.js';

export interface ManifestFile {
  readonly name: string;
  readonly content: string;
}

export const PROBE_CLAIM = 'kubestrap-storage-check';

const OSD_PREPARE_LOGS = `${KUBECTL} -n ${ROOK_NAMESPACE} logs -l app=rook-ceph-osd-prepare --tail=40 --all-containers`;
/** The CephCluster's phase and health, "Ready HEALTH_OK" when all is well (the rook phase's wait, doctor). */
export const CEPH_HEALTH_PROBE =
  `${KUBECTL} -n ${ROOK_NAMESPACE} get cephcluster ${ROOK_NAMESPACE} ` +
  `-o jsonpath='{.status.phase} {.status.ceph.health}'`;

export const CEPH_STATUS =
  `${KUBECTL} -n ${ROOK_NAMESPACE} exec deploy/rook-ceph-tools -- ceph status 2>/dev/null ` +
  `|| echo '(no toolbox: kubectl -n ${ROOK_NAMESPACE} apply -f toolbox.yaml for ceph status)'`;

export class RookPhase implements Phase<NodeHost> {
  readonly title = 'Storage (Rook-Ceph)';

  constructor(
    private readonly model: ClusterModel,
    private readonly files: readonly RenderedFile[],
    private readonly upstream: readonly ManifestFile[],
  ) {}

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return this.model.rook.enabled ? all.filter((h) => isInitNode(this.model, h.node)) : [];
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const dir = `${CLUSTER_MANIFESTS}/rook-${this.model.rook.version}`;
    let upstreamChanged = false;
    for (const file of this.upstream) {
      if (await step.putFile(`${dir}/${file.name}`, file.content, { mode: 0o644 })) upstreamChanged = true;
    }
    const operator = await step.probe(`${KUBECTL} -n ${ROOK_NAMESPACE} get deployment rook-ceph-operator -o name`, {
      check: false,
    });
    if (upstreamChanged || operator.code !== 0) {
      // Server-side apply: Rook's CRDs exceed the annotation size client-side apply needs.
      await step.change(
        `apply Rook ${this.model.rook.version} (CRDs, common, CSI operator, operator)`,
        `${KUBECTL} apply --server-side --force-conflicts ${this.upstream.map((f) => `-f ${dir}/${f.name}`).join(' ')}`,
      );
    }
    if (!step.dryRun) {
      await waitFor(step, {
        what: 'the Rook operator to run',
        probe: `${KUBECTL} -n ${ROOK_NAMESPACE} rollout status deployment/rook-ceph-operator --timeout=10s`,
        until: (r) => r.code === 0,
        timeoutMs: 10 * 60_000,
        intervalMs: 2_000,
        diagnose:
          `${KUBECTL} -n ${ROOK_NAMESPACE} get pods -o wide; ` +
          `${KUBECTL} -n ${ROOK_NAMESPACE} logs deploy/rook-ceph-operator --tail=40`,
      });
    }

    const cluster = this.files.find((f) => f.path === 'cluster/rook-cluster.yaml');
    if (!cluster) throw new Error('the render has no cluster/rook-cluster.yaml');
    const clusterPath = `${CLUSTER_MANIFESTS}/rook-cluster.yaml`;
    const clusterChanged = await step.putFile(clusterPath, cluster.content, { mode: cluster.mode });
    const present = await step.probe(`${KUBECTL} -n ${ROOK_NAMESPACE} get cephcluster ${ROOK_NAMESPACE} -o name`, {
      check: false,
    });
    const applyCluster = clusterChanged || present.code !== 0;
    if (applyCluster)
      await step.change('apply the CephCluster, pools and StorageClass', `${KUBECTL} apply -f ${clusterPath}`);
    if (step.dryRun) return;

    const oneNode = this.model.nodes.filter((n) => n.storage).length < 2;
    await waitFor(step, {
      what: `the CephCluster to be Ready and ${oneNode ? 'HEALTH_OK or HEALTH_WARN (one storage node)' : 'HEALTH_OK'}`,
      probe: CEPH_HEALTH_PROBE,
      until: (r) =>
        r.code === 0 && (r.stdout.trim() === 'Ready HEALTH_OK' || (oneNode && r.stdout.trim() === 'Ready HEALTH_WARN')),
      timeoutMs: 20 * 60_000,
      intervalMs: 5_000,
      diagnose: `${KUBECTL} -n ${ROOK_NAMESPACE} get pods -o wide; ${CEPH_STATUS}; ${OSD_PREPARE_LOGS}`,
    });

    // The proof that storage works: a claim on the default class binds. Made only when
    // this run changed the storage setup, so that a re-run changes nothing.
    if (!(upstreamChanged || operator.code !== 0 || applyCluster)) return;
    const claim = toYaml(storageProbeClaim(PROBE_CLAIM));
    await step.change(`create PVC ${PROBE_CLAIM} on ${STORAGE_CLASS}`, `${KUBECTL} apply -f -`, {
      stdin: claim,
      label: `kubectl apply -f - (PVC default/${PROBE_CLAIM})`,
    });
    try {
      await waitFor(step, {
        what: `PVC ${PROBE_CLAIM} to bind`,
        probe: `${KUBECTL} -n default get pvc ${PROBE_CLAIM} -o jsonpath='{.status.phase}'`,
        until: (r) => r.code === 0 && r.stdout.trim() === 'Bound',
        timeoutMs: 5 * 60_000,
        intervalMs: 2_000,
        diagnose: `${KUBECTL} -n default describe pvc ${PROBE_CLAIM} | tail -n 20; ${CEPH_STATUS}`,
      });
    } finally {
      await step
        .change(`delete PVC ${PROBE_CLAIM}`, `${KUBECTL} -n default delete pvc ${PROBE_CLAIM} --wait=false`)
        .catch(() => undefined);
    }
  }
}
