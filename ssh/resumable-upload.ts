// Uploads of large files (a bundle) that survive a dropped connection: the bytes go to
// TARGET.part with `cat >>`, so after a drop the next attempt asks the host how much
// arrived and sends only the rest. TCP delivers in order, so what arrived is a prefix
// of the file. The whole is then hashed on the host and renamed into place.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { shellQuote } from '../base/quote.js';
import { CommandFailedError, ConnectError, ConnectionLostError } from './errors.js';
import type { RemoteShell } from './remote-shell.js';
import { DIGEST_FUNCTION } from './remote-command.js';

export interface ResumableUploadOptions {
  readonly size: number;
  readonly sha256: string;
  readonly attempts?: number;
  /** Per attempt. */
  readonly timeoutMs?: number;
  /** Bytes of the file on the host so far (counting what earlier attempts sent). */
  readonly onProgress?: (bytes: number) => void;
}

export interface ResumableUploadResult {
  /** Offsets the attempts started from: [0] for one clean pass; [0, n] after one drop. */
  readonly startedAt: readonly number[];
  readonly changed: boolean;
}

const DIGEST = `${DIGEST_FUNCTION}; digest < "$f" | cut -d" " -f1`;

export async function resumableUpload(
  host: RemoteShell,
  localPath: string,
  target: string,
  options: ResumableUploadOptions,
): Promise<ResumableUploadResult> {
  const q = shellQuote;
  const part = `${target}.part`;
  const attempts = options.attempts ?? 5;
  const startedAt: number[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      const probe = await host.exec(
        `f=${q(target)}; if [ -f "$f" ] && [ "$(stat -c %s "$f")" = ${options.size} ]; ` +
          `then echo "whole $(${DIGEST})"; ` +
          `else echo "part $(stat -c %s ${q(part)} 2>/dev/null || echo 0)"; fi`,
        {
          label: `how much of ${target} is on the host`,
          timeoutMs: 30 * 60_000,
        },
      );
      const [state = '', value = ''] = probe.stdout.trim().split(' ');
      if (state === 'whole' && value === options.sha256) return { startedAt, changed: startedAt.length > 0 };
      let offset = state === 'part' ? Number(value) : 0;
      if (offset > options.size || Number.isNaN(offset)) offset = 0;
      if (offset < options.size) {
        startedAt.push(offset);
        options.onProgress?.(offset);
        let sent = offset;
        const onProgress = options.onProgress;
        // Counted as the channel pulls it: a 'data' listener would start the flow before the pipe exists.
        const data = Readable.from(
          (async function* () {
            for await (const chunk of createReadStream(localPath, { start: offset, highWaterMark: 1024 * 1024 })) {
              sent += (chunk as Buffer).length;
              onProgress?.(sent);
              yield chunk as Buffer;
            }
          })(),
        );
        await host.exec(
          `set -eu; umask 077; mkdir -p "$(dirname ${q(part)})"; ` +
            `${offset === 0 ? `: > ${q(part)}; ` : ''}cat >> ${q(part)}`,
          {
            stdin: data,
            label: `upload ${target} from byte ${offset} of ${options.size}`,
            timeoutMs: options.timeoutMs ?? 4 * 60 * 60_000,
          },
        );
      }
      const check = await host.exec(`f=${q(part)}; echo "$(stat -c %s "$f") $(${DIGEST})"`, {
        label: `sha256 of ${part}`,
        timeoutMs: 30 * 60_000,
      });
      const [size, sha256] = check.stdout.trim().split(' ');
      if (Number(size) === options.size && sha256 === options.sha256) {
        await host.exec(`sync ${q(part)} && mv -f ${q(part)} ${q(target)}`, { label: `move ${part} into place` });
        return { startedAt, changed: true };
      }
      // A prefix that is not ours (another file's leftovers): start over, once more.
      await host.exec(`rm -f ${q(part)}`, { label: `remove the damaged ${part}` });
      if (attempt >= attempts)
        throw new Error(
          `${host.name}: ${target} arrived damaged (${size} bytes, sha256 ${sha256}; ` +
            `expected ${options.size}, ${options.sha256}) ${attempt} times`,
        );
    } catch (error) {
      // A channel closed under `cat` by a dropped connection ends with no exit status.
      const dropped =
        error instanceof ConnectionLostError ||
        (error instanceof ConnectError && error.failure === 'network') ||
        (error instanceof CommandFailedError && error.outcome.code === null && !error.outcome.signal);
      if (!dropped || attempt >= attempts) throw error;
    }
  }
}
