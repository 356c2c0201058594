import { CloseCode, isValidCloseCode, MAX_CLOSE_REASON_BYTES } from './close-code.js';
import { ErrorCode, PeerError, protocolError, UsageError } from './errors.js';
import { isUtf8 } from './utf8.js';

const EMPTY = Buffer.alloc(0);

export interface ClosePayload {
  /** The status code, or 1005 (No Status Received) when the frame had none. */
  code: number;
  reason: Buffer;
}

/**
 * Parses and checks the payload of a received close frame. RFC 6455 §5.5.1: empty, or a
 * 2-byte code then a UTF-8 reason; §7.4: the code must be one an endpoint may send.
 */
export function parseClosePayload(payload: Buffer): ClosePayload | PeerError {
  if (payload.length === 0) return { code: CloseCode.NoStatusReceived, reason: EMPTY };
  if (payload.length === 1) {
    return protocolError(ErrorCode.InvalidClosePayload, 'a close frame payload of 1 byte');
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    return protocolError(ErrorCode.InvalidCloseCode, `invalid close code ${code}`);
  }
  const reason = payload.subarray(2);
  if (!isUtf8(reason)) {
    return new PeerError(
      ErrorCode.InvalidUtf8,
      CloseCode.InvalidFramePayloadData,
      'invalid UTF-8 in the close reason',
    );
  }
  return { code, reason };
}

/**
 * Checks close arguments the API may send: a code that may be sent (1000-1003, 1007-1014,
 * 3000-4999, RFC 6455 §7.4), a UTF-8 reason of at most 123 bytes (§5.5.1), and no reason
 * without a code. Throws a UsageError; returns the reason's length in UTF-8 bytes.
 */
export function checkClose(code?: number, reason?: string | Uint8Array): number {
  if (code === undefined) {
    if (reason !== undefined && reason.length > 0) {
      throw new UsageError(ErrorCode.InvalidCloseCodeArgument, 'a close reason needs a close code');
    }
    return 0;
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new UsageError(ErrorCode.InvalidCloseCodeArgument, `close code ${code} may not be sent`);
  }
  let length = 0;
  if (typeof reason === 'string') {
    length = Buffer.byteLength(reason);
  } else if (reason !== undefined) {
    if (!isUtf8(reason)) {
      throw new UsageError(ErrorCode.InvalidArgument, 'the close reason is not UTF-8');
    }
    length = reason.length;
  }
  if (length > MAX_CLOSE_REASON_BYTES) {
    throw new UsageError(ErrorCode.ReasonTooLong, 'the close reason is over 123 bytes');
  }
  return length;
}

/** Builds the payload of a close frame to send, checked by {@link checkClose}. */
export function encodeClosePayload(code?: number, reason?: string | Uint8Array): Buffer {
  const length = checkClose(code, reason);
  if (code === undefined) return EMPTY;
  const payload = Buffer.allocUnsafe(2 + length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  if (typeof reason === 'string') payload.write(reason, 2);
  else if (reason !== undefined) payload.set(reason, 2);
  return payload;
}

/** Cuts `text` to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): Buffer {
  const bytes = Buffer.from(text);
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
