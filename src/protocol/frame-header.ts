/**
 * Frame header layout. RFC 6455 §5.2:
 *   byte 0: FIN, RSV1, RSV2, RSV3, opcode (4 bits)
 *   byte 1: MASK, payload length (7 bits: 0-125, 126 = 16-bit follows, 127 = 64-bit follows)
 *   then the extended length (network byte order), then the 4-byte masking key when MASK is set.
 */

import { ErrorCode, UsageError } from './errors.js';

export const MAX_HEADER_SIZE = 14;
/** Largest payload that fits the 7-bit length field. */
export const MAX_7BIT_LENGTH = 125;
export const MAX_16BIT_LENGTH = 0xffff;

/** RFC 6455 §5.5: a control frame we send carries at most 125 bytes; throws a UsageError. */
export function checkControlPayload(bytes: number): void {
  if (bytes > MAX_7BIT_LENGTH) {
    throw new UsageError(
      ErrorCode.ControlPayloadTooLong,
      'a control frame payload is at most 125 bytes',
    );
  }
}

/** Header size for a payload of `length` bytes, with or without a masking key. */
export function headerSize(length: number, masked: boolean): number {
  const base = length <= MAX_7BIT_LENGTH ? 2 : length <= MAX_16BIT_LENGTH ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Size of a header from its first two bytes (the length class and the MASK bit decide it).
 * RFC 6455 §5.2.
 */
export function headerSizeFromPrefix(byte1: number): number {
  const len7 = byte1 & 0x7f;
  const base = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
  return (byte1 & 0x80) !== 0 ? base + 4 : base;
}

/**
 * Writes the header up to (not including) the masking key and returns the offset after it.
 * The shortest length encoding is used (RFC 6455 §5.2: "the minimal number of bytes MUST be
 * used"); the MASK bit is set when `masked`, and the caller writes the key at the offset returned.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  fin: boolean,
  rsv1: boolean,
  opcode: number,
  length: number,
  masked: boolean,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = masked ? 0x80 : 0;
  if (length <= MAX_7BIT_LENGTH) {
    target[offset + 1] = maskBit | length;
    return offset + 2;
  }
  if (length <= MAX_16BIT_LENGTH) {
    target[offset + 1] = maskBit | 126;
    target[offset + 2] = length >>> 8;
    target[offset + 3] = length & 0xff;
    return offset + 4;
  }
  target[offset + 1] = maskBit | 127;
  const hi = Math.floor(length / 0x100000000);
  const lo = length >>> 0;
  target[offset + 2] = hi >>> 24;
  target[offset + 3] = (hi >>> 16) & 0xff;
  target[offset + 4] = (hi >>> 8) & 0xff;
  target[offset + 5] = hi & 0xff;
  target[offset + 6] = lo >>> 24;
  target[offset + 7] = (lo >>> 16) & 0xff;
  target[offset + 8] = (lo >>> 8) & 0xff;
  target[offset + 9] = lo & 0xff;
  return offset + 10;
}
