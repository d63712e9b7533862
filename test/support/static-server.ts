// A static HTTP server on loopback for files the tests publish (upstream manifests,
// package repositories). It honours single byte ranges, as real mirrors do, records the
// requests it served, and can cut a response short once to test resumed downloads.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';

export interface ServedRequest {
  readonly path: string;
  readonly range?: string;
}

export interface StaticServer {
  readonly url: string;
  readonly requests: ServedRequest[];
  /** The next response for `path` is cut off (the connection destroyed) after `bytes` bytes. */
  dropOnce(path: string, bytes: number): void;
  close(): Promise<void>;
}

export async function serveDirectory(dir: string, host = '127.0.0.1'): Promise<StaticServer> {
  const requests: ServedRequest[] = [];
  const drops = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent((request.url ?? '/').split('?')[0]!));
    const range = request.headers.range;
    requests.push({ path, ...(range ? { range } : {}) });
    const file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile())
      return void response.writeHead(404).end();
    const size = statSync(file).size;
    let start = 0;
    const match = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (match) {
      start = Number(match[1]);
      if (start >= size) return void response.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      response.writeHead(206, {
        'content-length': size - start,
        'content-range': `bytes ${start}-${size - 1}/${size}`,
      });
    } else response.writeHead(200, { 'content-length': size });
    const drop = drops.get(path);
    if (drop !== undefined) {
      drops.delete(path);
      const stream = createReadStream(file, { start, end: start + drop - 1 });
      stream.on('data', (chunk) => response.write(chunk));
      stream.on('end', () => response.destroy());
      return;
    }
    createReadStream(file, { start }).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://${host}:${port}`,
    requests,
    dropOnce: (path, bytes) => void drops.set(path, bytes),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
