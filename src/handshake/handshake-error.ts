import { ErrorCode, WebSocketError } from '../protocol/errors.js';

/**
 * Error codes of the opening handshake (RFC 6455 §4): the handshake's part of the one catalogue,
 * `ErrorCode` in src/protocol/errors.ts, under the names this module has always exported.
 */
export const HandshakeErrorCode = {
  // What the peer sent.
  InvalidSubprotocol: ErrorCode.InvalidSubprotocol,
  InvalidExtensionHeader: ErrorCode.InvalidExtensionHeader,
  UnexpectedResponse: ErrorCode.UnexpectedResponse,
  InvalidUpgradeHeader: ErrorCode.InvalidUpgradeHeader,
  InvalidConnectionHeader: ErrorCode.InvalidConnectionHeader,
  InvalidAccept: ErrorCode.InvalidAccept,
  // What the caller gave.
  InvalidHeader: ErrorCode.InvalidHeader,
  InvalidUrl: ErrorCode.InvalidUrl,
  InvalidArgument: ErrorCode.InvalidArgument,
  // The client's dial (src/node/dial.ts).
  InvalidResponse: ErrorCode.InvalidResponse,
  HandshakeTimeout: ErrorCode.HandshakeTimeout,
  HandshakeAborted: ErrorCode.HandshakeAborted,
  TooManyRedirects: ErrorCode.TooManyRedirects,
} as const;

/**
 * A failed opening handshake: a malformed header from the peer (returned as a value by the
 * validators) or a bad argument from the caller (thrown by the builders). `statusCode` is the
 * HTTP status involved, when there is one (the server's non-101 answer, for example).
 */
export class HandshakeError extends WebSocketError {
  readonly statusCode: number | undefined;
  constructor(code: string, message: string, statusCode?: number) {
    super(code, message);
    this.statusCode = statusCode;
  }
}
