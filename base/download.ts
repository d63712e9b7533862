// Every HTTP download kubestrap makes (bundle packages and images, indexes, keys,
// Rook's manifests): retried with backoff under a timeout; files are resumed where they
// stopped (HTTP Range on the .part file), checked against the sha256 the source
// published, and renamed into place only when whole. A file already in the cache with
// the right hash is not fetched.
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256File } from './digest.js';

export class DownloadError extends Error {
  readonly exitCode = 1;
}

/** Every attempt failed; `attempts` and `reason` (the last failure) let a caller word its own message. */
export class RetriesExhaustedError extends DownloadError {
  constructor(
    message: string,
    readonly attempts: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The server answered 404: nothing there (optional files such as a detached signature). */
export class NotFoundError extends DownloadError {}

export interface DownloadOptions {
  readonly sha256?: string;
  readonly size?: number;
  readonly attempts?: number;
  readonly timeoutMs?: number;
  readonly onProgress?: (bytes: number, total: number | undefined) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface FetchOptions {
  readonly attempts?: number;
  /** Per attempt. */
  readonly timeoutMs?: number;
}

/** A small file (an index, a key, a checksum, a manifest) into memory, with retries. */
export async function fetchBytes(url: string, options: FetchOptions = {}): Promise<Buffer> {
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 120_000) });
      if (response.status === 404)
        throw new NotFoundError(`GET ${url}: HTTP 404 (not there — check the repository URL and version)`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    } catch (error) {
      if (error instanceof DownloadError) throw error;
      const reason = (error as Error).message;
      if (attempt >= attempts)
        throw new RetriesExhaustedError(`GET ${url} failed ${attempts} times, the last: ${reason}`, attempts, reason);
      await sleep(500 * 2 ** attempt);
    }
  }
}

/** Like fetchBytes, but a 404 means "not published here" and gives undefined. */
export async function fetchIfPresent(url: string): Promise<Buffer | undefined> {
  try {
    return await fetchBytes(url);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<{ sha256: string; size: number }> {
  mkdirSync(dirname(dest), { recursive: true });
  if (existsSync(dest) && options.sha256) {
    if ((await sha256File(dest)) === options.sha256) return { sha256: options.sha256, size: statSync(dest).size };
    rmSync(dest);
  }
  const part = `${dest}.part`;
  const attempts = options.attempts ?? 5;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const have = existsSync(part) ? statSync(part).size : 0;
    try {
      const response = await fetch(url, {
        headers: have > 0 ? { range: `bytes=${have}-` } : {},
        signal: AbortSignal.timeout(options.timeoutMs ?? 30 * 60_000),
      });
      if (response.status === 404)
        throw new NotFoundError(`GET ${url}: HTTP 404 (not there — check the source URL and version)`);
      if (response.status === 416 && options.size !== undefined && have === options.size) {
        // The .part is already whole; only its check remains.
      } else {
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        // A server that ignores Range answers 200 with the whole file: start over.
        const resumed = response.status === 206 && have > 0;
        const length = Number(response.headers.get('content-length') ?? NaN);
        const total = resumed ? have + length : Number.isNaN(length) ? options.size : length;
        let bytes = resumed ? have : 0;
        const body = Readable.fromWeb(response.body as never);
        body.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          options.onProgress?.(bytes, total);
        });
        await pipeline(body, createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
      }
      const size = statSync(part).size;
      if (options.size !== undefined && size < options.size) throw new Error(`got ${size} of ${options.size} bytes`);
      const sha256 = await sha256File(part);
      if (options.sha256 && sha256 !== options.sha256) {
        rmSync(part, { force: true });
        throw new DownloadError(
          `${url}: sha256 ${sha256}, the source publishes ${options.sha256} — ` +
            `a broken mirror or a changed file; not using it`,
        );
      }
      renameSync(part, dest);
      return { sha256, size };
    } catch (error) {
      if (error instanceof DownloadError) throw error;
      lastError = (error as Error).message;
      if (attempt < attempts) await sleep(Math.min(500 * 2 ** attempt, 10_000));
    }
  }
  throw new RetriesExhaustedError(
    `GET ${url} failed ${attempts} times (kept what arrived in ${part} to resume from), the last: ${lastError}`,
    attempts,
    lastError,
  );
}
