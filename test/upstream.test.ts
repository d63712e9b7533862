// Rook's upstream manifests: fetched once, cached, their sha256 locked; a changed file
// upstream (or a mirror serving another) stops the run and says how to accept it.
import { appendFileSync, chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rookManifests, UpstreamError } from '../operations/upstream.js';
import { loadSpecText } from '../spec/load.js';
import { SHARED_REFERENCE, sharedReferenceMissing } from './support/fixtures.js';
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
