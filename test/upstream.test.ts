// Rook's upstream manifests: fetched once, cached, their sha256 locked; a changed file
// upstream (or a mirror serving another) stops the run and says how to accept it.
// Then the resources kubestrap renders for the cluster, diffed against upstream's.
import { appendFileSync, chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rookManifests, UpstreamError } from '../operations/upstream.js';
import { clusterJsonSchema } from '../spec/json-schema.js';
import { loadSpecText } from '../spec/load.js';
import type { ClusterModel } from '../spec/model.js';
import { FIXTURES, renderFixture, SHARED_REFERENCE, sharedReferenceMissing } from './support/fixtures.js';
import { pathParts, structuralDiff, withoutNulls } from './support/structural-diff.js';
import { serveDirectory, type StaticServer } from './support/static-server.js';

const noReference = sharedReferenceMissing();

describe.skipIf(noReference)(`upstream Rook manifests${noReference ? ` (skipped: ${noReference})` : ''}`, () => {
  let served: string;
  let server: StaticServer;
  beforeAll(async () => {
    served = mkdtempSync(join(tmpdir(), 'upstream-'));
    cpSync(join(SHARED_REFERENCE, 'upstream/rook-v1.20.6'), served, { recursive: true });
    // The reference is read-only and the copy keeps its modes; one test changes a served file
    // (root writes regardless, any other user could not).
    for (const name of readdirSync(served)) chmodSync(join(served, name), 0o644);
    server = await serveDirectory(served);
  });
  afterAll(() => server?.close());

  const model = (base: string) =>
    loadSpecText(
      readFileSync(join(import.meta.dirname, 'fixtures/specs/appliance.yaml'), 'utf8').replace(
        '  machines:',
        `  storage:\n    rook:\n      manifestBase: ${JSON.stringify(base)}\n  machines:`,
      ),
      'appliance.yaml',
    ).model;

  it('fetches the four files in install order and records their sha256', async () => {
    const work = mkdtempSync(join(tmpdir(), 'work-'));
    const files = await rookManifests(model(server.url), work);
    expect(files.map((f) => f.name)).toEqual(['crds.yaml', 'common.yaml', 'csi-operator.yaml', 'operator.yaml']);
    expect(files[3]!.content).toBe(readFileSync(join(served, 'operator.yaml'), 'utf8'));
    const lock = JSON.parse(readFileSync(join(work, 'upstream.lock.json'), 'utf8')) as Record<
      string,
      { sha256: string }
    >;
    expect(lock['rook-v1.20.6/operator.yaml']!.sha256).toBe(files[3]!.sha256);
    expect(readFileSync(join(work, 'upstream/rook-v1.20.6/crds.yaml'), 'utf8')).toBe(files[0]!.content);
  });

  it('uses the cache without the network once locked', async () => {
    const work = mkdtempSync(join(tmpdir(), 'work-'));
    await rookManifests(model(server.url), work);
    const offline = await rookManifests(model('http://127.0.0.1:9'), work);
    expect(offline).toHaveLength(4);
  });

  it('refuses a file that changed since it was locked, naming both hashes', async () => {
    const work = mkdtempSync(join(tmpdir(), 'work-'));
    await rookManifests(model(server.url), work);
    appendFileSync(join(work, 'upstream/rook-v1.20.6/common.yaml'), '# tampered\n');
    appendFileSync(join(served, 'common.yaml'), '# changed upstream\n');
    const error = await rookManifests(model(server.url), work).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toMatch(
      new RegExp(
        /common\.yaml has sha256 [0-9a-f]{64}, but .*upstream\.lock\.json recorded [0-9a-f]{64} /.source +
          /.*delete its entry from the lock file to accept the new one/.source,
      ),
    );
  });

  it('says the last attempt failed when the source is unreachable', async () => {
    const error = await rookManifests(model('http://127.0.0.1:9'), mkdtempSync(join(tmpdir(), 'work-'))).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(
      /cannot fetch http:\/\/127\.0\.0\.1:9\/crds\.yaml \(attempt 3 of 3, the last\)/,
    );
  });
});

// ---------------------------------------------------------------------------------------
// The rendered Rook and Weave resources against upstream's, path by path (parsed YAML).
// Rook: a one-mon cluster is compared with cluster-test.yaml (its CephCluster and .mgr
// pool), pool-test.yaml and csi_rbd_storageclass-test.yaml; a three-mon cluster with
// cluster.yaml, pool.yaml and csi_rbd_storageclass.yaml. Weave: the derived 2.9.0 (or
// 2.8.1) weave-daemonset-k8s-1.11 List. Every difference is in DIFFERENCES below: a spec
// knob (its field must exist in the spec's JSON Schema), a field one side spells out at
// Rook's or Kubernetes' default (checked against the value and the CRD schema), or a
// reason. An unlisted difference fails, and so does a listed one no fixture shows.

/** The difference follows a spec field; `why` says how when the field's name does not. */
interface Knob {
  readonly knob: string;
  readonly why?: string;
}
const knob = (field: string, why?: string): Knob => ({ knob: field, why });

/**
 * One side leaves the field out, the other writes the value Rook or Kubernetes uses when
 * it is absent (false, 0, '', or the CRD schema's default): the same object either way.
 */
const SPELLED_DEFAULT = { spelledDefault: true } as const;

type Reason = string | Knob | typeof SPELLED_DEFAULT;

const ROOK_HEALTH_DEFAULTS =
  "Rook's defaults: mon every 45s with failover after 10 min (pkg/operator/ceph/cluster/mon/health.go " +
  'HealthCheckInterval, MonOutTimeout), osd and status every 60s; upstream writes them out as a template to edit';
const STORAGE_NODES = knob(
  'spec.machines.nodes[].storage',
  'storage nodes and their disks (nodes[].disks, or spec.storage.rook.deviceFilter) are listed explicitly: ' +
    'Rook must never take a disk the spec does not name, as useAllNodes/useAllDevices would',
);
const WEAVE_IMAGE = knob(
  'spec.cni.weave.imageRepository',
  "default docker.io/<org>: the fully qualified name that spec.packages.registryMirrors and the bundle's image " +
    'list match; containerd resolves the short name to the same image',
);

/** `<upstream file> <kind> <path>` → why ours differs. */
const DIFFERENCES: Record<string, Reason> = {
  // Rook, one mon: cluster-test.yaml
  'cluster-test.yaml CephCluster metadata.name':
    "one name at every size, cluster.yaml's: the rook phase waits on CephCluster rook-ceph (provisioners/rook.ts)",
  'cluster-test.yaml CephCluster spec.cephVersion.image': knob(
    'spec.storage.rook.version',
    'the Ceph release pinned for that Rook release (spec/versions.ts ROOK_VERSIONS); cluster-test floats on v20',
  ),
  'cluster-test.yaml CephCluster spec.cephVersion.allowUnsupported':
    'cluster-test runs the floating v20 tag, which may name a release Rook has not vetted; ' +
    'kubestrap pins v20.2.4, which Rook v1.20.6 supports',
  'cluster-test.yaml CephCluster spec.skipUpgradeChecks':
    "cluster-test skips the ok-to-stop checks for CI's speed; a one-node appliance holds a user's data, " +
    'so a Rook upgrade keeps them',
  'cluster-test.yaml CephCluster spec.dashboard.ssl':
    "the dashboard's admin password crosses the network: TLS at every size, as cluster.yaml has it",
  'cluster-test.yaml CephCluster spec.storage.useAllNodes': STORAGE_NODES,
  'cluster-test.yaml CephCluster spec.storage.useAllDevices': STORAGE_NODES,
  'cluster-test.yaml CephCluster spec.storage.nodes': STORAGE_NODES,
  'cluster-test.yaml CephCluster spec.storage.allowDeviceClassUpdate':
    'cluster-test lets CI re-create OSDs under another device class; kubestrap sets no device class, ' +
    "so Rook's default (false) stands",
  'cluster-test.yaml CephCluster spec.storage.allowOsdCrushWeightUpdate': SPELLED_DEFAULT,
  'cluster-test.yaml CephCluster spec.monitoring': SPELLED_DEFAULT,
  'cluster-test.yaml CephCluster spec.healthCheck': ROOK_HEALTH_DEFAULTS,
  'cluster-test.yaml CephCluster spec.cephConfig.global.bdev_flock_retry':
    "a CI workaround for OSDs on loop devices racing for the device's lock; kubestrap's OSDs get whole raw disks",
  'cluster-test.yaml CephCluster spec.cephConfig.global.bluefs_buffered_io':
    "cluster-test bounds BlueFS's page-cache use on CI runners; storage nodes are sized for Ceph " +
    "(4 GiB by default, a warning below), so Ceph's default stands",
  'cluster-test.yaml CephCluster spec.cephConfig.global.mon_data_avail_warn':
    "cluster-test warns only below 10% free for CI runners' small disks; Ceph's 30% shows a filling " +
    '/var/lib/rook as HEALTH_WARN in time',
  'cluster-test.yaml CephCluster spec.placement': knob(
    'spec.machines.nodes[].taints',
    'every taint a storage node carries is tolerated, or Rook would not run its OSD there',
  ),
  'cluster-test.yaml CephBlockPool spec.failureDomain': knob(
    'spec.storage.rook.replicas',
    "pools of size 1 use failure domain osd (pool-test.yaml's), larger ones host; " +
      "upstream's .mgr pool leaves it to the default",
  ),
  'pool-test.yaml CephBlockPool spec.replicated.requireSafeReplicaSize': SPELLED_DEFAULT,
  'csi_rbd_storageclass-test.yaml StorageClass metadata.annotations': knob('spec.storage.rook.defaultStorageClass'),

  // Rook, three mons: cluster.yaml
  'cluster.yaml CephCluster spec.cephVersion.allowUnsupported': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.skipUpgradeChecks': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.continueUpgradeAfterChecksEvenIfNotHealthy': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.upgradeOSDRequiresHealthyPGs': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.waitTimeoutForHealthyOSDInMinutes':
    "10 is Rook's default (cluster.yaml's comment: 'The default wait timeout is 10 minutes')",
  'cluster.yaml CephCluster spec.monitoring': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.network': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.cleanupPolicy':
    'an empty confirmation never cleans up; the sanitizeDisks values are the defaults ' +
    "cluster.yaml's comments name (quick, zero, 1)",
  'cluster.yaml CephCluster spec.removeOSDsIfOutAndSafeToRemove': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.storage.useAllNodes': STORAGE_NODES,
  'cluster.yaml CephCluster spec.storage.useAllDevices': STORAGE_NODES,
  'cluster.yaml CephCluster spec.storage.nodes': STORAGE_NODES,
  'cluster.yaml CephCluster spec.storage.allowDeviceClassUpdate': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.storage.allowOsdCrushWeightUpdate': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.storage.scheduleAlways': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.storage.onlyApplyOSDPlacement': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.disruptionManagement.osdMaintenanceTimeout':
    "30 is Rook's default (the CRD's description: 'the default is 30 minutes')",
  'cluster.yaml CephCluster spec.csi': SPELLED_DEFAULT,
  'cluster.yaml CephCluster spec.healthCheck': ROOK_HEALTH_DEFAULTS,
  'pool.yaml CephBlockPool spec.parameters':
    "compression_mode none is what an unset pool gets (Ceph's bluestore_compression_mode defaults to none)",
  'pool.yaml CephBlockPool spec.mirroring': 'mirroring is off either way; its mode applies only to a mirrored pool',
  'pool.yaml CephBlockPool spec.statusCheck': 'the mirror status check runs only for a mirrored pool',
  'csi_rbd_storageclass.yaml StorageClass metadata.annotations': knob('spec.storage.rook.defaultStorageClass'),

  // Weave 2.9.0 (the maintained fork)
  'weave-2.9.0 DaemonSet spec.template.spec.initContainers[weave-init].image': WEAVE_IMAGE,
  'weave-2.9.0 DaemonSet spec.template.spec.containers[weave].image': WEAVE_IMAGE,
  'weave-2.9.0 DaemonSet spec.template.spec.containers[weave-npc].image': WEAVE_IMAGE,
  'weave-2.9.0 DaemonSet spec.template.spec.containers[weave].env[IPALLOC_RANGE]': knob('spec.cni.weave.ipallocRange'),
  'weave-2.9.0 DaemonSet spec.template.spec.containers[weave].env[WEAVE_MTU]': knob('spec.cni.weave.mtu'),
  'weave-2.9.0 DaemonSet spec.template.spec.containers[weave].env[IPTABLES_BACKEND]': knob(
    'spec.cni.weave.iptablesBackend',
  ),
  'weave-2.9.0 DaemonSet spec.template.spec.containers[weave].env[WEAVE_PASSWORD]': knob('spec.cni.weave.encryption'),

  // Weave 2.8.1 (the last Weaveworks release)
  'weave-2.8.1 DaemonSet spec.template.spec.initContainers[weave-init].image': WEAVE_IMAGE,
  'weave-2.8.1 DaemonSet spec.template.spec.containers[weave].image': WEAVE_IMAGE,
  'weave-2.8.1 DaemonSet spec.template.spec.containers[weave-npc].image': WEAVE_IMAGE,
  'weave-2.8.1 DaemonSet spec.template.spec.containers[weave].env[IPALLOC_RANGE]': knob('spec.cni.weave.ipallocRange'),
  'weave-2.8.1 DaemonSet spec.template.spec.containers[weave].env[WEAVE_MTU]': knob('spec.cni.weave.mtu'),
  'weave-2.8.1 DaemonSet spec.template.spec.containers[weave].env[IPTABLES_BACKEND]': knob(
    'spec.cni.weave.iptablesBackend',
  ),
  'weave-2.8.1 DaemonSet spec.template.spec.containers[weave].env[CHECKPOINT_DISABLE]':
    "2.8.1 would call Weaveworks' checkpoint service (gone with the company) at every start; " +
    "2.9.0's manifest sets it too",
};

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [field: string]: unknown;
}

interface Pair {
  /** Short name of the upstream file, the first word of a DIFFERENCES key. */
  readonly file: string;
  readonly ours: KubeObject;
  readonly upstream: KubeObject | undefined;
}

const upstreamFile = (path: string): KubeObject[] =>
  parseAllDocuments(readFileSync(join(SHARED_REFERENCE, 'upstream', path), 'utf8')).map(
    (d) => withoutNulls(d.toJS()) as KubeObject,
  );

/** Each rendered object with its upstream counterpart, chosen by the cluster's size. */
function pairsOf(model: ClusterModel, rook: KubeObject[], weave: KubeObject[]): Pair[] {
  const pairs: Pair[] = [];
  const rookFile = (name: string) => upstreamFile(`rook-v1.20.6/${name}`);
  const oneMon = model.rook.monCount < 3;
  for (const ours of rook) {
    const pick = (file: string, kind: string, name?: string): Pair => ({
      file,
      ours,
      upstream: rookFile(file).find((u) => u.kind === kind && (name === undefined || u.metadata.name === name)),
    });
    if (ours.kind === 'CephCluster') pairs.push(pick(oneMon ? 'cluster-test.yaml' : 'cluster.yaml', 'CephCluster'));
    else if (ours.kind === 'CephBlockPool' && ours.metadata.name === 'builtin-mgr')
      pairs.push(pick('cluster-test.yaml', 'CephBlockPool', 'builtin-mgr'));
    else if (ours.kind === 'CephBlockPool')
      pairs.push(pick(model.rook.replicas === 1 ? 'pool-test.yaml' : 'pool.yaml', 'CephBlockPool', ours.metadata.name));
    else if (ours.kind === 'StorageClass')
      pairs.push(pick(oneMon ? 'csi_rbd_storageclass-test.yaml' : 'csi_rbd_storageclass.yaml', 'StorageClass'));
    else pairs.push({ file: '(none)', ours, upstream: undefined });
  }
  const weaveFile =
    model.weave.version === '2.9.0'
      ? 'weave/weave-daemonset-k8s-1.11_rajch-v2.9.0.derived.yaml'
      : 'weave/weave-daemonset-k8s-1.11_v2.8.1.derived.yaml';
  const upstreamWeave = (upstreamFile(weaveFile)[0] as unknown as { items: KubeObject[] }).items;
  // Every upstream object is rendered, and nothing more.
  expect(weave.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
    upstreamWeave.map((o) => `${o.kind}/${o.metadata.name}`),
  );
  for (const ours of weave)
    pairs.push({
      file: `weave-${model.weave.version}`,
      ours,
      upstream: upstreamWeave.find((u) => u.kind === ours.kind && u.metadata.name === ours.metadata.name),
    });
  return pairs;
}

/** `<file> <kind> <path>` for every difference of every pair. */
function differencesOf(pairs: Pair[]): Map<string, { ours: unknown; upstream: unknown }> {
  const out = new Map<string, { ours: unknown; upstream: unknown }>();
  for (const { file, ours, upstream } of pairs) {
    if (!upstream) {
      out.set(`${file} ${ours.kind} (no upstream counterpart for ${ours.metadata.name})`, { ours, upstream });
      continue;
    }
    for (const d of structuralDiff(ours, upstream)) out.set(`${file} ${ours.kind} ${d.path}`, d);
  }
  return out;
}

async function renderedPairs(fixture: string): Promise<Pair[]> {
  const rendered = await renderFixture(fixture);
  const content = (pattern: RegExp) => rendered.files.find((f) => pattern.test(f.path))?.content;
  const rook = content(/rook-cluster\.yaml$/);
  const rookObjects = rook ? parseAllDocuments(rook).map((d) => withoutNulls(d.toJS()) as KubeObject) : [];
  const weaveList = withoutNulls(parseAllDocuments(content(/weave-net\.yaml$/)!)[0]!.toJS()) as {
    items: KubeObject[];
  };
  return pairsOf(rendered.loaded.model, rookObjects, weaveList.items);
}

type Schema = { properties?: Record<string, Schema>; items?: Schema; default?: unknown };

/** The schema of the field at `parts`, walking properties and list items. */
function schemaAt(schema: Schema | undefined, parts: string[]): Schema | undefined {
  let at = schema;
  for (const part of parts) at = part.startsWith('[') ? at?.items : at?.properties?.[part];
  return at;
}

/** Every leaf of `value` is its type's zero value or the CRD schema's default there. */
function isDefault(value: unknown, schema: Schema | undefined): boolean {
  if (schema?.default !== undefined && JSON.stringify(schema.default) === JSON.stringify(value)) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (value && typeof value === 'object')
    return Object.entries(value).every(([k, v]) => isDefault(v, schema?.properties?.[k]));
  return value === false || value === 0 || value === '';
}

function crdSchema(kind: string): Schema | undefined {
  if (!kind.startsWith('Ceph')) return undefined;
  const path = join(SHARED_REFERENCE, 'schemas/rook-v1.20.6/ceph.rook.io', `${kind.toLowerCase()}_v1.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as Schema;
}

/** Why a difference listed as SPELLED_DEFAULT is not one, or undefined when it is. */
function notADefault(key: string, d: { ours: unknown; upstream: unknown }): string | undefined {
  if ((d.ours === undefined) === (d.upstream === undefined)) return 'both sides set it';
  const [, kind, path] = key.split(' ') as [string, string, string];
  return isDefault(d.ours ?? d.upstream, schemaAt(crdSchema(kind), pathParts(path)))
    ? undefined
    : 'not the zero value or the CRD default';
}

describe.skipIf(noReference)(
  `rendered Rook and Weave resources against upstream${noReference ? ` (skipped: ${noReference})` : ''}`,
  () => {
    /** key → the fixtures that show it. */
    const seen = new Map<string, { fixtures: string[]; ours: unknown; upstream: unknown }>();
    beforeAll(async () => {
      for (const fixture of FIXTURES) {
        for (const [key, d] of differencesOf(await renderedPairs(fixture))) {
          const entry = seen.get(key) ?? { ...d, fixtures: [] };
          entry.fixtures.push(fixture);
          seen.set(key, entry);
        }
      }
    });

    it('every difference is a spec knob or listed in DIFFERENCES with its reason', () => {
      const unlisted = [...seen]
        .filter(([key]) => !(key in DIFFERENCES))
        .map(
          ([key, d]) =>
            `${key} (${d.fixtures.join(', ')}): ours ${JSON.stringify(d.ours)}, upstream ${JSON.stringify(d.upstream)}`,
        );
      expect(unlisted, 'differences from upstream with no knob or reason in DIFFERENCES').toEqual([]);
    });

    it('every entry of DIFFERENCES is still a difference in some fixture (no stale reasons)', () => {
      expect(Object.keys(DIFFERENCES).filter((key) => !seen.has(key))).toEqual([]);
    });

    it('every knob is a field of the spec', () => {
      const spec = clusterJsonSchema() as Schema;
      const knobs = Object.values(DIFFERENCES).filter((r): r is Knob => typeof r === 'object' && 'knob' in r);
      expect(knobs.length).toBeGreaterThan(0);
      for (const { knob: field } of knobs)
        expect(schemaAt(spec, pathParts(field.replace(/\[\]/g, '[*]'))), field).toBeDefined();
    });

    it("every spelled-out default is the zero value or the CRD schema's default", () => {
      const checked = [...seen].filter(([key]) => DIFFERENCES[key] === SPELLED_DEFAULT);
      expect(checked.length).toBeGreaterThan(0);
      for (const [key, d] of checked) expect(notADefault(key, d), key).toBeUndefined();
    });

    it('reports a field only one side has, and an object upstream has not (the check can fail)', async () => {
      const pairs = await renderedPairs('ha');
      const cluster = pairs.find((p) => p.ours.kind === 'CephCluster')!;
      const spec = cluster.ours.spec as Record<string, unknown>;
      const broken: Pair[] = [
        { ...cluster, ours: { ...cluster.ours, spec: { ...spec, security: undefined, skipUpgradeChecks: true } } },
        { file: 'pool.yaml', ours: { ...cluster.ours, kind: 'CephFilesystem' }, upstream: undefined },
      ];
      const keys = [...differencesOf(broken).keys()].filter((k) => !(k in DIFFERENCES));
      expect(keys).toEqual([
        'cluster.yaml CephCluster spec.security',
        'pool.yaml CephFilesystem (no upstream counterpart for rook-ceph)',
      ]);
      // Listed as a spelled-out default, but set on both sides: refused.
      const key = 'cluster.yaml CephCluster spec.skipUpgradeChecks';
      expect(DIFFERENCES[key]).toBe(SPELLED_DEFAULT);
      expect(notADefault(key, differencesOf(broken).get(key)!)).toBe('both sides set it');
      expect(notADefault(key, { ours: undefined, upstream: true })).toBe('not the zero value or the CRD default');
    });
  },
);
