// Reading a spec file without trusting it: at most MAX_SPEC_BYTES are read (a device
// such as /dev/zero or a huge file is refused after that many), and the text must be
// UTF-8 without NUL bytes, so that binary files fail with a position and not deep
// inside the YAML parser.
import { open } from 'node:fs/promises';
import { SpecError, type LocatedIssue } from './issues.js';
import { MAX_SPEC_BYTES } from './limits.js';

function refused(file: string, line: number, column: number, message: string, hint: string): SpecError {
  const issue: LocatedIssue = { severity: 'error', file, line, column, path: [], message, hint };
  return new SpecError([issue]);
}

/** Line and column (1-based) of byte `offset` in UTF-8 `bytes`. */
function positionOf(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Checks bytes already in memory (a file's head, or text handed over by a caller). */
export function decodeSpecBytes(bytes: Uint8Array, file: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const at = positionOf(bytes, nul);
    throw refused(file, at.line, at.column, 'is not a text file (it contains a NUL byte)', 'give the YAML spec file');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    let valid = 0;
    // The first offset that does not decode: the longest prefix that does, found by halving.
    let bad = bytes.length;
    while (valid + 1 < bad) {
      const middle = Math.floor((valid + bad) / 2);
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, middle));
        valid = middle;
      } catch {
        bad = middle;
      }
    }
    const at = positionOf(bytes, valid);
    throw refused(file, at.line, at.column, 'is not UTF-8 text', 'save the spec as UTF-8');
  }
}

/** Reads `path` (shown as `file`), refusing more than MAX_SPEC_BYTES without reading them. */
export async function readSpecFile(path: string, file: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const bytes = buffer.subarray(0, length);
    if (length > MAX_SPEC_BYTES) {
      const nul = bytes.indexOf(0);
      if (nul >= 0) decodeSpecBytes(bytes.subarray(0, nul + 1), file);
      throw refused(
        file,
        1,
        1,
        `is larger than ${MAX_SPEC_BYTES / 1024} KiB, which no cluster spec needs`,
        'give the cluster spec file (a spec of 500 nodes is a few hundred KiB)',
      );
    }
    return decodeSpecBytes(bytes, file);
  } finally {
    await handle.close();
  }
}
