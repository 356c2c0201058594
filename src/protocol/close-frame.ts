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
 * Builds the payload of a close frame to send, checking what the API allows: a code that may
 * be sent (1000-1003, 1007-1014, 3000-4999), a reason of at most 123 UTF-8 bytes, and no
 * reason without a code.
 */
export function encodeClosePayload(code?: number, reason?: string | Uint8Array): Buffer {
  if (code === undefined) {
    if (reason !== undefined && reason.length > 0) {
      throw new UsageError(ErrorCode.InvalidCloseCodeArgument, 'a close reason needs a close code');
    }
    return EMPTY;
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new UsageError(ErrorCode.InvalidCloseCodeArgument, `close code ${code} may not be sent`);
  }
  const reasonBytes =
    reason === undefined ? EMPTY : typeof reason === 'string' ? Buffer.from(reason) : reason;
  if (typeof reason !== 'string' && !isUtf8(reasonBytes)) {
    throw new UsageError(ErrorCode.InvalidArgument, 'the close reason is not UTF-8');
  }
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new UsageError(ErrorCode.ReasonTooLong, 'the close reason is over 123 bytes');
  }
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
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
