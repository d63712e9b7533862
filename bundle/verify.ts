// Checks a bundle in one streaming pass: bundle.json first and well-formed, every
// member listed, of the listed size and sha256, none missing, none extra, and the seal
// over bundle.json last. The first problem found is named; nothing is extracted.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BundleManifestSchema, MANIFEST_NAME, SEAL_NAME, type BundleManifest } from './format.js';
import { sha256 } from '../base/digest.js';

/** A bundle refused (invalid input, exit 2); `member` names the archive member at fault, when one is. */
export class BundleError extends Error {
  readonly exitCode = 2;

  constructor(
    message: string,
    readonly member?: string,
  ) {
    super(message);
  }
}

const BLOCK = 512;
const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/**
 * What a member's header says that no bundle kubestrap writes says, or undefined.
 * `offset` is where its header starts, `expected` where the previous member ended: a gap
 * between them is a zero block (GNU tar on the hosts stops there: the rest would fail
 * only after the upload) or an extended header (pax, GNU long name) kubestrap never writes.
 */
export function memberHeaderProblem(header: tar.Header, offset: number, expected: number): string | undefined {
  const name = header.name;
  if (offset !== expected)
    return header.pax
      ? `${name} has an extended (pax) header, which kubestrap never writes`
      : `${offset - expected} bytes before ${name} (at byte ${expected}) are no member: a zero block ` +
          `or an extended header; GNU tar on the hosts would stop there`;
  // Only plain files: a link or device in a bundle could point an unpacking host anywhere.
  if (header.type !== 'file') return `${name} is a ${header.type}, not a plain file`;
  if (name.startsWith('/') || name.split('/').includes('..'))
    return `${name} points outside the directory it is unpacked into (absolute, or with ..)`;
  // The hosts unpack without owners or modes (provisioners/bundle.ts); refused here too.
  if (header.mode & 0o7022)
    return (
      `${name} has mode ${header.mode.toString(8)} ` +
      `(setuid/setgid/sticky or writable by others); kubestrap writes 644`
    );
  if (header.uid !== 0 || header.gid !== 0)
    return `${name} is owned by ${header.uid}:${header.gid}; kubestrap writes every member as 0:0`;
  return undefined;
}

export interface VerifyProgress {
  readonly bytes: number;
  readonly total: number;
  readonly member: string;
}

const MAX_MANIFEST = 64 * 1024 * 1024;

async function readAll(stream: AsyncIterable<unknown>, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`${what} is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface VerifiedArchive {
  readonly manifest: BundleManifest;
  /** sha256 of bundle.json (what the seal holds). */
  readonly seal: string;
  /** sha256 and size of the whole archive, for checks after a copy. */
  readonly sha256: string;
  readonly size: number;
}

export async function verifyBundle(path: string, onProgress?: (p: VerifyProgress) => void): Promise<VerifiedArchive> {
  const total = statSync(path).size;
  const where = `bundle ${path}`;
  const extract = tar.extract();
  let manifest: BundleManifest | undefined;
  let manifestBytes: Buffer | undefined;
  let sealed = false;
  let current = '(the start)';
  let done = 0;
  // Where the next member's header must start: right after the previous member's data.
  let nextHeader = 0;
  const seen = new Set<string>();
  const expected = new Map<string, { size: number; sha256: string }>();

  const source = createReadStream(path, { highWaterMark: 1024 * 1024 });
  const whole = createHash('sha256');
  source.on('data', (chunk) => {
    whole.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    onProgress?.({ bytes: done, total, member: current });
  });

  extract.on('entry', (header, stream, next) => {
    const name = header.name;
    current = name;
    // A refusal destroys this stream with the error; the pipeline below reports it, once.
    stream.on('error', () => undefined);
    const fail = (message: string) => {
      stream.resume();
      next(new BundleError(`${where}: ${message}`, name));
    };
    (async () => {
      const problem = memberHeaderProblem(header, stream.offset, nextHeader);
      nextHeader = stream.offset + BLOCK + padded(header.size);
      if (!manifest) {
        if (header.type !== 'file')
          return fail(
            `the first member ${name} is a ${header.type}, not ${MANIFEST_NAME}: ` +
              `not a kubestrap bundle, or a damaged one`,
          );
        if (name !== MANIFEST_NAME)
          return fail(`the first member is ${name}, not ${MANIFEST_NAME}: not a kubestrap bundle, or a damaged one`);
        if (problem) return fail(problem);
        manifestBytes = await readAll(stream, MAX_MANIFEST, MANIFEST_NAME);
        let parsed: unknown;
        try {
          parsed = JSON.parse(manifestBytes.toString('utf8'));
        } catch (error) {
          return fail(`${MANIFEST_NAME} is not valid JSON (${(error as Error).message}): the bundle is damaged`);
        }
        const result = BundleManifestSchema.safeParse(parsed);
        if (!result.success) {
          const issue = result.error.issues[0]!;
          return fail(
            `${MANIFEST_NAME} at ${issue.path.join('.') || '(top)'}: ${issue.message} ` +
              `— the bundle is damaged or from an incompatible kubestrap`,
          );
        }
        manifest = result.data;
        for (const file of manifest.files) {
          if (expected.has(file.path)) return fail(`${MANIFEST_NAME} lists ${file.path} twice`);
          expected.set(file.path, { size: file.size, sha256: file.sha256 });
        }
        return next();
      }
      if (problem) return fail(problem);
      if (sealed) return fail(`${name} follows ${SEAL_NAME}, which must be last`);
      if (name === SEAL_NAME) {
        const text = (await readAll(stream, 4096, SEAL_NAME)).toString('utf8');
        const want = sha256(manifestBytes!);
        if (text.split(/\s+/)[0] !== want)
          return fail(`${MANIFEST_NAME} does not match its seal (${SEAL_NAME}): the manifest was altered or damaged`);
        sealed = true;
        return next();
      }
      const want = expected.get(name);
      if (!want) return fail(`${name} is not listed in ${MANIFEST_NAME}`);
      if (seen.has(name)) return fail(`${name} appears twice`);
      seen.add(name);
      if (header.size !== want.size) return fail(`${name} is ${header.size} bytes, ${MANIFEST_NAME} says ${want.size}`);
      const hash = createHash('sha256');
      for await (const chunk of stream) hash.update(chunk as Buffer);
      const have = hash.digest('hex');
      if (have !== want.sha256) return fail(`${name} is damaged: sha256 ${have}, ${MANIFEST_NAME} says ${want.sha256}`);
      next();
    })().catch((error: Error) => fail(`reading ${name}: ${error.message}`));
  });

  try {
    await pipeline(source, extract);
  } catch (error) {
    if (error instanceof BundleError) throw error;
    const message = (error as Error).message;
    if (/unexpected end|premature close|Unexpected end/i.test(message)) {
      throw new BundleError(
        `${where}: truncated inside ${current} (${total} bytes on disk, ` +
          `${seen.size} of ${expected.size} members complete) ` +
          `— copy the bundle again`,
        current,
      );
    }
    throw new BundleError(`${where}: not a readable tar archive near ${current}: ${message}`, current);
  }
  if (!manifest) throw new BundleError(`${where}: empty archive: no ${MANIFEST_NAME}`);
  const missing = manifest.files.find((f) => !seen.has(f.path));
  if (missing)
    throw new BundleError(
      `${where}: ${missing.path} is listed in ${MANIFEST_NAME} but missing from the archive` +
        `${sealed ? '' : ' (the archive ends early: truncated?)'}`,
      missing.path,
    );
  if (!sealed)
    throw new BundleError(
      `${where}: truncated: ${SEAL_NAME} (the last member) is missing — copy the bundle again`,
      SEAL_NAME,
    );
  return { manifest, seal: sha256(manifestBytes!), sha256: whole.digest('hex'), size: total };
}
