import { isUtf8 } from 'node:buffer';

export { isUtf8 };

/**
 * Incremental UTF-8 validation (RFC 3629 §4) for text arriving in pieces: `write` returns false
 * as soon as the bytes seen so far cannot start a valid UTF-8 text, even when a sequence is cut
 * between pieces (RFC 6455 §8.1). Whole runs are checked with the native `isUtf8`; only the
 * bytes of a sequence that straddles a boundary go through the byte state machine.
 */
export class Utf8Validator {
  /** Continuation bytes still expected for the current sequence. */
  private need = 0;
  /** Allowed range of the next continuation byte (narrower right after some lead bytes). */
  private lo = 0x80;
  private hi = 0xbf;

  reset(): void {
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
  }

  /** True when no sequence is left open: the text may end here. */
  get complete(): boolean {
    return this.need === 0;
  }

  write(buf: Uint8Array, start = 0, end = buf.length): boolean {
    let i = start;
    while (this.need > 0 && i < end) {
      if (!this.step(buf[i++]!)) return false;
    }
    if (i >= end) return true;
    // Find where a trailing incomplete sequence starts, if any: look back at most 3 bytes.
    let tail = end;
    const floor = Math.max(end - 3, i);
    for (let j = end - 1; j >= floor; j--) {
      const b = buf[j]!;
      if ((b & 0xc0) !== 0x80) {
        const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (j + len > end) tail = j;
        break;
      }
    }
    if (tail > i && !isUtf8(buf.subarray(i, tail))) return false;
    for (let j = tail; j < end; j++) {
      if (!this.step(buf[j]!)) return false;
    }
    return true;
  }

  private step(b: number): boolean {
    if (this.need > 0) {
      if (b < this.lo || b > this.hi) return false;
      this.lo = 0x80;
      this.hi = 0xbf;
      this.need--;
      return true;
    }
    if (b < 0x80) return true;
    if (b < 0xc2) return false; // continuation byte without a lead, or overlong C0/C1
    if (b < 0xe0) {
      this.need = 1;
    } else if (b < 0xf0) {
      this.need = 2;
      if (b === 0xe0)
        this.lo = 0xa0; // overlong
      else if (b === 0xed) this.hi = 0x9f; // UTF-16 surrogates
    } else if (b < 0xf5) {
      this.need = 3;
      if (b === 0xf0)
        this.lo = 0x90; // overlong
      else if (b === 0xf4) this.hi = 0x8f; // above U+10FFFF
    } else {
      return false;
    }
    return true;
  }
}
