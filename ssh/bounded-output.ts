// A command's output kept in bounded memory: the first HEAD_BYTES and the last
// TAIL_BYTES, with a marker saying how much was dropped between them. A host can print
// without limit (a runaway log, a hostile host); holding all of it once cost 232 MB RSS
// for 100 MiB and, past ~512 MiB, a V8 "Invalid string length" that looked like a lost
// connection. Every output kubestrap parses is far smaller than HEAD_BYTES + TAIL_BYTES
// (probes, `cat` of files up to the 256 KiB diff limit, kubectl names and jsonpaths), so
// those arrive whole. The head shows how a command started, the larger tail why it ended.

export const HEAD_BYTES = 64 * 1024;
export const TAIL_BYTES = 256 * 1024;

export function elisionMarker(bytes: number): string {
  return `[... ${bytes} bytes elided ...]`;
}

export class BoundedOutput {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Bytes dropped between the head and the tail. */
  elided = 0;

  constructor(
    private readonly headLimit = HEAD_BYTES,
    private readonly tailLimit = TAIL_BYTES,
  ) {}

  /** Keeps `chunk`; returns the part of it that went into the head (to be logged as it comes). */
  add(chunk: Buffer): Buffer {
    const room = this.headLimit - this.headBytes;
    const toHead = room > 0 ? chunk.subarray(0, room) : chunk.subarray(0, 0);
    if (toHead.length) {
      this.head.push(toHead);
      this.headBytes += toHead.length;
    }
    const rest = chunk.subarray(toHead.length);
    if (rest.length) {
      this.tail.push(rest);
      this.tailBytes += rest.length;
      this.trimTail();
    }
    return toHead;
  }

  private trimTail(): void {
    while (this.tailBytes > this.tailLimit) {
      const first = this.tail[0]!;
      const over = this.tailBytes - this.tailLimit;
      if (first.length <= over) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.elided += first.length;
      } else {
        // Copied so the dropped bytes of a large chunk are not kept alive by the slice.
        this.tail[0] = Buffer.from(first.subarray(over));
        this.tailBytes -= over;
        this.elided += over;
      }
    }
  }

  /** What came after the head, with the marker first when something was dropped (for the log, at the end). */
  rest(): string {
    const tail = Buffer.concat(this.tail).toString('utf8');
    return this.elided ? `${elisionMarker(this.elided)}\n${tail}` : tail;
  }

  /** Head, marker and tail as one text; the whole output when nothing was dropped. */
  text(): string {
    if (!this.elided) return Buffer.concat([...this.head, ...this.tail]).toString('utf8');
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    return `${head}${head.endsWith('\n') ? '' : '\n'}${elisionMarker(this.elided)}\n${tail}`;
  }
}
