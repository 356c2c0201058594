const EMPTY = Buffer.alloc(0);
/** Pieces at least this long are kept by reference instead of copied. */
const REFERENCE_MIN = 4096;
const TAIL_MIN = 1024;
const TAIL_MAX = 64 * 1024;
/** A message of known size up to this is gathered in one buffer of that size. */
const EXACT_MAX = 16 * 1024 * 1024;
/** That buffer starts at most this large... */
const EXACT_START = 64 * 1024;
/** ...and grows by this factor as bytes arrive: memory follows what the peer really sent. */
const EXACT_GROWTH = 4;

/**
 * Collects the payload of a message that arrives in pieces (fragments, or a frame split across
 * reads).
 *
 * When the size is known in advance (a single-frame message), pieces are copied into one buffer
 * that grows to that size: no concatenation. It is not allocated whole on the strength of the
 * declared length: a peer could otherwise make us hold 16 MiB for a 15-byte header. It starts
 * at 64 KiB (or the size) and grows fourfold, so it never holds more than four times what
 * arrived (plus 64 KiB), for about a third of a copy more on the largest messages.
 *
 * Otherwise small pieces are copied into a tail buffer that grows with the message, so a flood
 * of tiny fragments costs memory in proportion to its bytes, not one object per piece (the
 * weakness of CVE-2026-48779). A large piece is kept by reference only when it is most of the
 * memory it pins and its buffer is not reused by the transport (`borrowed`).
 */
export class PayloadAccumulator {
  private parts: Buffer[] = [];
  private total = 0;
  private tail: Buffer | undefined;
  private tailLength = 0;
  private exact: Buffer | undefined;
  private exactLength = 0;

  get length(): number {
    return this.total;
  }

  /** The message is `length` bytes in all: gather it in one buffer of that size. */
  expect(length: number): void {
    if (length <= EXACT_MAX && this.total === 0) this.exactLength = length;
  }

  /** Adds a piece; a `borrowed` one (in a buffer that will be reused) is always copied. */
  push(piece: Buffer, borrowed = false): void {
    const n = piece.length;
    if (n === 0) return;
    if (this.exactLength > 0) {
      const need = this.total + n;
      let exact = this.exact;
      if (exact === undefined || exact.length < need) {
        const size = Math.min(
          this.exactLength,
          Math.max(need, EXACT_START, (exact?.length ?? 0) * EXACT_GROWTH),
        );
        const grown = Buffer.allocUnsafe(size);
        if (exact !== undefined) exact.copy(grown, 0, 0, this.total);
        exact = grown;
        this.exact = grown;
      }
      exact.set(piece, this.total);
      this.total = need;
      return;
    }
    this.total += n;
    if (!borrowed && n >= REFERENCE_MIN && n * 2 >= piece.buffer.byteLength) {
      this.sealTail();
      this.parts.push(piece);
      return;
    }
    let tail = this.tail;
    if (tail === undefined || tail.length - this.tailLength < n) {
      this.sealTail();
      const size = Math.min(Math.max(this.total, TAIL_MIN), TAIL_MAX);
      tail = Buffer.allocUnsafe(Math.max(size, n));
      this.tail = tail;
      this.tailLength = 0;
    }
    piece.copy(tail, this.tailLength);
    this.tailLength += n;
  }

  /** Returns the whole payload and resets. */
  take(): Buffer {
    if (this.exact !== undefined) {
      const exact =
        this.total === this.exact.length ? this.exact : this.exact.subarray(0, this.total);
      this.clear();
      return exact;
    }
    this.sealTail();
    const parts = this.parts;
    const total = this.total;
    this.clear();
    if (parts.length === 1) return parts[0]!;
    if (parts.length === 0) return EMPTY;
    return Buffer.concat(parts, total);
  }

  clear(): void {
    this.parts = [];
    this.total = 0;
    this.tail = undefined;
    this.tailLength = 0;
    this.exact = undefined;
    this.exactLength = 0;
  }

  private sealTail(): void {
    if (this.tail !== undefined && this.tailLength > 0) {
      this.parts.push(this.tail.subarray(0, this.tailLength));
      this.tail = this.tail.subarray(this.tailLength);
      this.tailLength = 0;
    }
  }
}
