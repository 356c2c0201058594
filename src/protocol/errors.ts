import { CloseCode } from './close-code.js';

/** Base class of every error tsws raises. `code` is a stable string such as `WS_ERR_INVALID_UTF8`. */
export class WebSocketError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A fault of the peer: bad framing, bad UTF-8, a message over the limit... The connection is
 * failed with `closeCode` (RFC 6455 §7.1.7). Never thrown at the caller; reported as an event.
 */
export class PeerError extends WebSocketError {
  readonly closeCode: number;
  constructor(code: string, closeCode: number, message: string) {
    super(code, message);
    this.closeCode = closeCode;
  }
}

/** Local misuse of the API: sending after close, a close code the API forbids... Thrown. */
export class UsageError extends WebSocketError {}

export function protocolError(code: string, message: string): PeerError {
  return new PeerError(code, CloseCode.ProtocolError, message);
}

/** Error codes, for matching without string literals scattered through the code. */
export const ErrorCode = {
  // Peer faults (RFC 6455 §5, §7.4).
  ExpectedMask: 'WS_ERR_EXPECTED_MASK',
  UnexpectedMask: 'WS_ERR_UNEXPECTED_MASK',
  InvalidOpcode: 'WS_ERR_INVALID_OPCODE',
  UnexpectedRsv1: 'WS_ERR_UNEXPECTED_RSV_1',
  UnexpectedRsv23: 'WS_ERR_UNEXPECTED_RSV_2_3',
  ExpectedFin: 'WS_ERR_EXPECTED_FIN',
  InvalidControlPayloadLength: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
  InvalidPayloadLength: 'WS_ERR_INVALID_PAYLOAD_LENGTH',
  UnexpectedContinuation: 'WS_ERR_UNEXPECTED_CONTINUATION',
  ExpectedContinuation: 'WS_ERR_EXPECTED_CONTINUATION',
  MessageTooBig: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
  TooManyFragments: 'WS_ERR_TOO_MANY_FRAGMENTS',
  RateLimited: 'WS_ERR_RATE_LIMITED',
  InvalidUtf8: 'WS_ERR_INVALID_UTF8',
  InvalidCompressedData: 'WS_ERR_INVALID_COMPRESSED_DATA',
  /** An extension failed to decode a message for a reason of its own (1011). */
  ExtensionFailed: 'WS_ERR_EXTENSION_FAILED',
  InvalidCloseCode: 'WS_ERR_INVALID_CLOSE_CODE',
  InvalidClosePayload: 'WS_ERR_INVALID_CLOSE_PAYLOAD',
  // Local misuse.
  InvalidState: 'WS_ERR_INVALID_STATE',
  InvalidCloseCodeArgument: 'WS_ERR_INVALID_CLOSE_CODE_ARGUMENT',
  ReasonTooLong: 'WS_ERR_REASON_TOO_LONG',
  ControlPayloadTooLong: 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG',
  InvalidArgument: 'WS_ERR_INVALID_ARGUMENT',
  MessageDropped: 'WS_ERR_MESSAGE_DROPPED',
  // Peer faults found by the binding.
  /** The process-wide memory budget for incoming messages is spent (1009). */
  MemoryBudgetExceeded: 'WS_ERR_MEMORY_BUDGET_EXCEEDED',
  // Opening handshake (RFC 6455 §4): what the peer sent.
  InvalidSubprotocol: 'WS_ERR_INVALID_SUBPROTOCOL',
  InvalidExtensionHeader: 'WS_ERR_INVALID_EXTENSION_HEADER',
  UnexpectedResponse: 'WS_ERR_UNEXPECTED_RESPONSE',
  InvalidUpgradeHeader: 'WS_ERR_INVALID_UPGRADE_HEADER',
  InvalidConnectionHeader: 'WS_ERR_INVALID_CONNECTION_HEADER',
  InvalidAccept: 'WS_ERR_INVALID_ACCEPT',
  /** A server got an upgrade request it refuses (RFC 6455 §4.2.1), reported by `wsClientError`. */
  InvalidUpgradeRequest: 'WS_ERR_INVALID_UPGRADE_REQUEST',
  // Opening handshake: what the caller gave (InvalidArgument above too).
  InvalidHeader: 'WS_ERR_INVALID_HEADER',
  InvalidUrl: 'WS_ERR_INVALID_URL',
  /** A server's `authenticate` hook refused the upgrade (`UpgradeRejection`). */
  UpgradeRejected: 'WS_ERR_UPGRADE_REJECTED',
  // Opening handshake: the client's dial (src/node/dial.ts).
  /** The server's answer is not HTTP/1.1 that Node's parser accepts (Node's HPE_* error is the cause). */
  InvalidResponse: 'WS_ERR_INVALID_RESPONSE',
  HandshakeTimeout: 'WS_ERR_HANDSHAKE_TIMEOUT',
  HandshakeAborted: 'WS_ERR_HANDSHAKE_ABORTED',
  TooManyRedirects: 'WS_ERR_TOO_MANY_REDIRECTS',
} as const;
