const EMPTY = Buffer.alloc(0);
/** Pieces at least this long are kept by reference instead of copied. */
const REFERENCE_MIN = 4096;
const TAIL_MIN = 1024;
const TAIL_MAX = 64 * 1024;

/**
 * Collects the payload of a message that arrives in pieces (fragments, or a frame split across
 * reads). Small pieces are copied into a tail buffer that grows with the message, so a flood of
 * tiny fragments costs memory in proportion to its bytes, not one object per piece (the
 * weakness of CVE-2026-48779). A large piece is kept by reference only when it is most of the
 * memory it pins; otherwise it is copied, so holding a view never pins much more than it shows.
 */
export class PayloadAccumulator {
  private parts: Buffer[] = [];
  private total = 0;
  private tail: Buffer | undefined;
  private tailLength = 0;

  get length(): number {
    return this.total;
  }

  push(piece: Buffer): void {
    const n = piece.length;
    if (n === 0) return;
    this.total += n;
    if (n >= REFERENCE_MIN && n * 2 >= piece.buffer.byteLength) {
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
    this.sealTail();
    const parts = this.parts;
    const total = this.total;
    this.parts = [];
    this.total = 0;
    this.tail = undefined;
    if (parts.length === 1) return parts[0]!;
    if (parts.length === 0) return EMPTY;
    return Buffer.concat(parts, total);
  }

  clear(): void {
    this.parts = [];
    this.total = 0;
    this.tail = undefined;
    this.tailLength = 0;
  }

  private sealTail(): void {
    if (this.tail !== undefined && this.tailLength > 0) {
      this.parts.push(this.tail.subarray(0, this.tailLength));
      this.tail = this.tail.subarray(this.tailLength);
      this.tailLength = 0;
    }
  }
}
