import { headerSize, writeFrameHeader } from './frame-header.js';
import { applyMask, type MaskGenerator } from './mask.js';

/** Payloads up to this size are copied beside their header; larger ones are written by reference. */
const COPY_LIMIT = 8 * 1024;
const SLAB_SIZE = 64 * 1024;
/** Up to 41 UTF-16 units encode to at most 123 bytes: the 7-bit length class holds them. */
const SHORT_TEXT = 41;

/**
 * One slab shared by every writer in the process (like Node's Buffer pool): small frames are
 * written into it back to back, so a batch of frames becomes one contiguous chunk for a single
 * write, and an idle connection holds no output memory at all.
 */
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
/** Returned when nothing is queued: shared, so frozen. */
const NO_CHUNKS: Buffer[] = Object.freeze([]) as unknown as Buffer[];
let slabPos = 0;

/**
 * Serializes frames (RFC 6455 §5.2) into chunks ready for one `writev`/corked write.
 * Clients mask (§5.3) with keys from `generateMask`; servers never mask.
 */
export class FrameWriter {
  private readonly mask: boolean;
  private readonly generateMask: MaskGenerator;
  private chunks: Buffer[] | undefined;
  /** The writer's current run of bytes in a slab: `segSlab[segStart, segEnd)`. */
  private segSlab: Buffer | undefined;
  private segStart = 0;
  private segEnd = 0;
  private queued = 0;

  constructor(options: { readonly mask: boolean; readonly generateMask: MaskGenerator }) {
    this.mask = options.mask;
    this.generateMask = options.generateMask;
  }

  /** Bytes of frames (headers included) serialized but not yet taken. */
  get bufferedBytes(): number {
    return this.queued;
  }

  /** Writes one frame whose payload is `payload` (not modified). */
  writeFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): void {
    const length = payload.length;
    const hs = headerSize(length, this.mask);
    if (length <= COPY_LIMIT) {
      const off = this.reserve(hs + length);
      const buf = this.segSlab!;
      this.header(buf, off, fin, rsv1, opcode, length);
      buf.set(payload, off + hs);
      if (this.mask) applyMask(buf, off + hs, off + hs + length, buf, off + hs - 4, 0);
      this.commit(off + hs + length);
      return;
    }
    const off = this.reserve(hs);
    const buf = this.segSlab!;
    this.header(buf, off, fin, rsv1, opcode, length);
    this.commit(off + hs);
    let body: Buffer;
    if (this.mask) {
      body = Buffer.allocUnsafe(length);
      body.set(payload);
      applyMask(body, 0, length, buf, off + hs - 4, 0);
    } else {
      body = toBuffer(payload);
    }
    this.pushChunk(body);
  }

  /**
   * Like `writeFrame`, for a payload the caller gives up (a buffer it just allocated): a client
   * masks it in place instead of copying it.
   */
  writeOwnedFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Buffer): void {
    const length = payload.length;
    if (length <= COPY_LIMIT || !this.mask) {
      this.writeFrame(opcode, fin, rsv1, payload);
      return;
    }
    const hs = headerSize(length, true);
    const off = this.reserve(hs);
    const buf = this.segSlab!;
    this.header(buf, off, fin, rsv1, opcode, length);
    this.commit(off + hs);
    applyMask(payload, 0, length, buf, off + hs - 4, 0);
    this.pushChunk(payload);
  }

  /** Writes one frame whose payload is the UTF-8 encoding of `text`, without an extra copy when small. */
  writeTextFrame(opcode: number, fin: boolean, rsv1: boolean, text: string): void {
    const units = text.length;
    let length: number;
    if (units <= SHORT_TEXT) {
      length = -1; // not known until written; the 7-bit class is certain
    } else if (units <= COPY_LIMIT) {
      length = Buffer.byteLength(text);
    } else {
      this.writeOwnedFrame(opcode, fin, rsv1, Buffer.from(text));
      return;
    }
    if (length > COPY_LIMIT) {
      this.writeOwnedFrame(opcode, fin, rsv1, Buffer.from(text));
      return;
    }
    const hs = length < 0 ? (this.mask ? 6 : 2) : headerSize(length, this.mask);
    const off = this.reserve(hs + (length < 0 ? units * 3 : length));
    const buf = this.segSlab!;
    const written = units === 0 ? 0 : buf.write(text, off + hs);
    this.header(buf, off, fin, rsv1, opcode, written);
    if (this.mask) applyMask(buf, off + hs, off + hs + written, buf, off + hs - 4, 0);
    this.commit(off + hs + written);
  }

  /**
   * Queues bytes that are already a complete frame (or frames), e.g. one prepared for many
   * peers: never modified, and not to be modified by the caller until taken and written.
   */
  writeRaw(bytes: Buffer): void {
    // Alone (nothing queued before it), the frame goes by reference as it is: a frame prepared
    // for thousands of peers is then written to each without a copy, a slab or a view each.
    if (bytes.length <= COPY_LIMIT && this.queued > 0) {
      const off = this.reserve(bytes.length);
      this.segSlab!.set(bytes, off);
      this.commit(off + bytes.length);
    } else {
      this.pushChunk(bytes);
    }
  }

  /** Takes every chunk written so far, in order. */
  take(): Buffer[] {
    this.seal();
    // An idle writer must not keep a slab alive: the chunks taken are the slab's only users.
    this.segSlab = undefined;
    const chunks = this.chunks;
    if (chunks === undefined) return NO_CHUNKS;
    this.chunks = undefined;
    this.queued = 0;
    return chunks;
  }

  private header(
    buf: Buffer,
    off: number,
    fin: boolean,
    rsv1: boolean,
    opcode: number,
    length: number,
  ): void {
    const end = writeFrameHeader(buf, off, fin, rsv1, opcode, length, this.mask);
    if (this.mask) this.generateMask(buf, end);
  }

  /** Reserves `n` bytes in the shared slab, continuing this writer's run when it is still last. */
  private reserve(n: number): number {
    if (this.segSlab === slab && this.segEnd === slabPos && slab.length - slabPos >= n) {
      return slabPos;
    }
    this.seal();
    if (slab.length - slabPos < n) {
      slab = Buffer.allocUnsafeSlow(Math.max(n, SLAB_SIZE));
      slabPos = 0;
    }
    this.segSlab = slab;
    this.segStart = slabPos;
    this.segEnd = slabPos;
    return slabPos;
  }

  private commit(end: number): void {
    this.queued += end - this.segEnd;
    this.segEnd = end;
    slabPos = end;
  }

  private seal(): void {
    if (this.segEnd > this.segStart) {
      this.addChunk(this.segSlab!.subarray(this.segStart, this.segEnd));
      this.segStart = this.segEnd;
    }
  }

  private pushChunk(chunk: Buffer): void {
    this.seal();
    this.addChunk(chunk);
    this.queued += chunk.length;
  }

  private addChunk(chunk: Buffer): void {
    if (this.chunks === undefined) this.chunks = [chunk];
    else this.chunks.push(chunk);
  }
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}
