// Ctrl-C during `kubestrap up`, as a user presses it: the real CLI on a real host
// (systemd, packages from the test mirror), interrupted in the middle of an upload and
// in the middle of a wait. It must exit 130 within 2 s, say how to resume, and send
// nothing more: the host's own records (every command sshd ran, every login it
// accepted) show nothing after the signal.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AptMirror } from './harness/apt-mirror.js';
import { Harness, harnessUnavailable, type TestHost } from './harness/hosts.js';
import { harnessSpec } from './support/cluster.js';
import { sharedReferenceMissing } from './support/fixtures.js';
import { auditCommands, seenCommands, seenLogins } from './support/host-audit.js';
import { interruptWhen } from './support/kubestrap-cli.js';

const unavailable = harnessUnavailable() ?? sharedReferenceMissing();
const RESUME_HINT = 'run the same command again to resume';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(unavailable)(`Ctrl-C during kubestrap up${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let harness: Harness;
  let mirror: AptMirror;
  let host: TestHost;
  let dir: string;

  beforeAll(async () => {
    harness = await Harness.start(1, 'systemd');
    mirror = await AptMirror.start(harness, '1.34.2');
    host = harness.host('h1');
    mirror.configureHost(host);
    dir = mkdtempSync(join(tmpdir(), 'cli-interrupt-'));
    writeFileSync(
      join(dir, 'cluster.yaml'),
      harnessSpec(harness, { kubernetesRepository: mirror.kubernetesRepository }),
    );
    // The host holds the first upload 5 s, so that Ctrl-C finds the CLI in the middle of it.
    await auditCommands(harness, host, { pattern: '*.kubestrap-upload.*', seconds: 5 });
    // A containerd that never answers on its socket: `up` waits for it (60 s) probing every 0.5 s.
    mkdirSync(join(host.root, 'usr/local/bin'), { recursive: true });
    writeFileSync(
      join(host.root, 'usr/local/bin/ctr'),
      '#!/bin/sh\necho \'ctr: failed to dial "/run/containerd/containerd.sock": connection refused\' >&2\nexit 1\n',
    );
    chmodSync(join(host.root, 'usr/local/bin/ctr'), 0o755);
  }, 900_000);

  afterAll(async () => {
    await mirror?.stop();
    await harness?.stop();
  });

  const interruptUp = (ready: () => boolean) => interruptWhen(dir, ['up', '-f', 'cluster.yaml'], ready);

  /** What reached the host after SIGINT, a second after the CLI ended (anything in flight has landed). */
  async function afterSigint(sigintAt: number) {
    await sleep(1_000);
    // The records work: the run logged in, and its commands are there, before the signal.
    expect(seenLogins(harness, host).filter((l) => l.at! <= sigintAt).length).toBeGreaterThan(0);
    expect(seenCommands(host).filter((c) => c.at <= sigintAt).length).toBeGreaterThan(0);
    return {
      commands: seenCommands(host).filter((c) => c.at > sigintAt),
      logins: seenLogins(harness, host).filter((l) => l.at! > sigintAt).length,
    };
  }

  it(
    'in the middle of an upload: exits 130 within 2 s with the resume hint; nothing reaches the host after it',
    {
      timeout: 600_000,
    },
    async () => {
      let heldAt = 0;
      const run = await interruptUp(() => {
        const upload = seenCommands(host).find((c) => c.command.includes('.kubestrap-upload.'));
        if (upload && !heldAt) heldAt = Date.now();
        // The host took the command a moment ago and holds it: the CLI is waiting on the upload.
        return heldAt > 0 && Date.now() - heldAt > 300;
      });
      console.log(`mid-upload: exit ${run.status} ${run.exitMs} ms after SIGINT\n${run.stderr}`);
      expect(run.status).toBe(130);
      expect(run.exitMs).toBeLessThan(2_000);
      expect(run.stderr).toContain(RESUME_HINT);
      expect(await afterSigint(run.sigintAt)).toEqual({ commands: [], logins: 0 });
    },
  );

  it(
    'in the middle of a wait: exits 130 within 2 s with the resume hint; nothing reaches the host after it',
    {
      timeout: 600_000,
    },
    async () => {
      const probes = () => seenCommands(host).filter((c) => c.command.includes('ctr --address'));
      let sigintDue = 0;
      const run = await interruptUp(() => {
        const seen = probes();
        // The second probe has come and gone (the fake ctr answers at once): the CLI sleeps
        // before the next one, 0.5 s after this one.
        if (seen.length >= 2 && !sigintDue) sigintDue = seen.at(-1)!.at + 200;
        return sigintDue > 0 && Date.now() >= sigintDue;
      });
      const after = await afterSigint(run.sigintAt);
      console.log(
        `mid-wait: exit ${run.status} ${run.exitMs} ms after SIGINT; ${after.commands.length} command(s) and ` +
          `${after.logins} login(s) after SIGINT\n${run.stderr}`,
      );
      expect(run.status).toBe(130);
      expect(run.exitMs).toBeLessThan(2_000);
      expect(run.stderr).toContain(RESUME_HINT);
      expect(after).toEqual({ commands: [], logins: 0 });
    },
  );
});
