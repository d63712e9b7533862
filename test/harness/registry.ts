// A container registry on loopback (Debian's docker-registry, the CNCF distribution
// registry), for bundles built from images the tests push themselves.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class TestRegistry {
  private constructor(
    private readonly dir: string,
    private readonly process: ChildProcess,
    /** host:port */
    readonly address: string,
  ) {}

  static async start(): Promise<TestRegistry> {
    const dir = mkdtempSync('/tmp/kubestrap-registry-');
    const port = await freePort();
    writeFileSync(
      join(dir, 'config.yml'),
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n ` +
        ` addr: 127.0.0.1:${port}\n`,
    );
    const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = `${stderr}${chunk}`.slice(-2000)));
    const registry = new TestRegistry(dir, child, `127.0.0.1:${port}`);
    for (let waited = 0; ; waited += 200) {
      try {
        const response = await fetch(`http://${registry.address}/v2/`);
        if (response.ok) return registry;
      } catch {
        // not listening yet
      }
      if (waited > 20_000 || child.exitCode !== null) {
        await registry.stop();
        throw new Error(`docker-registry did not come up on ${registry.address}: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Pushes an OCI archive as `repository:tag` (e.g. registry.k8s.io/pause:3.10.1, kept as a path here). */
  push(ociArchive: string, reference: string): void {
    execFileSync(
      'skopeo',
      [
        'copy',
        '--quiet',
        '--all',
        '--dest-tls-verify=false',
        `oci-archive:${ociArchive}`,
        `docker://${this.address}/${reference}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((resolve) => this.process.once('exit', resolve));
      this.process.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
