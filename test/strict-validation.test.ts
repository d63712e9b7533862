// Every built-in object kubestrap applies with kubectl, validated strictly as
// `kubectl apply --validate=strict` has the API server do it. The host-side kubectl
// double is bash and the test hosts have no Node, so the check runs here, at render
// time, over every fixture. The schema set is Kubernetes 1.34's
// (test/support/kubernetes-strict.ts); differences between the minors 1.29–1.37 are not
// modelled. Rook's custom resources are checked against Rook's CRD schemas in
// checkers.test.ts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { storageProbeClaim } from '../templates/rook.js';
import { verifyClient, verifyPlacement, verifyWorkload } from '../templates/verify-workload.js';
import { weavePasswordSecret } from '../templates/weave.js';
import { FIXTURES, filesMatching, renderFixture } from './support/fixtures.js';
import { SCHEMA_KUBERNETES_VERSION, strictErrors } from './support/kubernetes-strict.js';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
}

/** The built-in objects of a fixture's rendered manifests (a List's items one by one). */
async function builtInObjects(fixture: string): Promise<KubeObject[]> {
  const rendered = await renderFixture(fixture);
  const objects: KubeObject[] = [];
  for (const file of filesMatching(rendered, /^cluster\/.*\.yaml$/)) {
    for (const doc of parseAllDocuments(file.content)) {
      const object = doc.toJS() as KubeObject & { items?: KubeObject[] };
      objects.push(...(object.kind === 'List' ? object.items! : [object]));
    }
  }
  // Rook's custom resources have their own schemas (ceph.rook.io), not Kubernetes'.
  return objects.filter((o) => !o.apiVersion.startsWith('ceph.rook.io/'));
}

describe(`strict validation of applied objects (Kubernetes ${SCHEMA_KUBERNETES_VERSION} OpenAPI, closed)`, () => {
  it.each(FIXTURES)('%s: every built-in object in cluster/ validates strictly', async (fixture) => {
    const objects = await builtInObjects(fixture);
    expect(objects.map((o) => o.kind)).toContain('DaemonSet');
    for (const object of objects)
      expect(await strictErrors(object), `${object.kind}/${object.metadata?.name}`).toEqual([]);
  });

  it('the Weave password Secret and the storage probe claim (created at deploy time) validate strictly', async () => {
    expect(await strictErrors(weavePasswordSecret('correct horse battery staple'))).toEqual([]);
    expect(await strictErrors(storageProbeClaim('kubestrap-storage-probe'))).toEqual([]);
  });

  it.each(FIXTURES)("%s: verify's workload (created at verify time) validates strictly", async (fixture) => {
    const { model } = (await renderFixture(fixture)).loaded;
    const objects = [...verifyWorkload(model, '0123456789abcdef')];
    const client = verifyPlacement(model).client;
    if (client) objects.push(verifyClient(model, client, '10.32.0.4'));
    expect(objects.map((o) => o.kind)).toContain('Pod');
    for (const object of objects)
      expect(await strictErrors(object), `${object.kind}/${object.metadata?.name}`).toEqual([]);
  });

  it("rejects a misspelt DaemonSet field and a wrong type, in the API server's words (can fail)", async () => {
    const daemonSet = (await builtInObjects('appliance')).find((o) => o.kind === 'DaemonSet') as unknown as {
      spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } };
    };
    const pod = daemonSet.spec.template.spec;
    const { hostNetwork, ...rest } = pod;
    daemonSet.spec.template.spec = {
      ...rest,
      hostNetwrok: hostNetwork,
      containers: [{ ...pod.containers[0], imagePullPolicy: 'IfNotPresent', readinessProbe: 'tcp' }],
    } as never;
    expect(await strictErrors(daemonSet as unknown as KubeObject)).toEqual([
      'strict decoding error: unknown field "spec.template.spec.hostNetwrok"',
      'spec.template.spec.containers[0].readinessProbe: must be object',
    ]);
  });

  it('the schema set is the Kubernetes minor the test says it is', () => {
    const generated = createRequire(import.meta.url).resolve('@kubernetes/client-node/dist/gen/models/V1PodSpec.js');
    expect(readFileSync(generated, 'utf8')).toContain(`OpenAPI spec version: v${SCHEMA_KUBERNETES_VERSION}`);
  });

  it('names a kind the schema set does not have', async () => {
    expect(await strictErrors({ apiVersion: 'v1', kind: 'Nonsense' })).toEqual([
      `no Kubernetes ${SCHEMA_KUBERNETES_VERSION} definition V1Nonsense`,
    ]);
  });
});
