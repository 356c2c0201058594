import { WebSocketError } from '../protocol/errors.js';

/** Error codes of the opening handshake (RFC 6455 §4). */
export const HandshakeErrorCode = {
  // What the peer sent.
  InvalidSubprotocol: 'WS_ERR_INVALID_SUBPROTOCOL',
  InvalidExtensionHeader: 'WS_ERR_INVALID_EXTENSION_HEADER',
  UnexpectedResponse: 'WS_ERR_UNEXPECTED_RESPONSE',
  InvalidUpgradeHeader: 'WS_ERR_INVALID_UPGRADE_HEADER',
  InvalidConnectionHeader: 'WS_ERR_INVALID_CONNECTION_HEADER',
  InvalidAccept: 'WS_ERR_INVALID_ACCEPT',
  // What the caller gave.
  InvalidHeader: 'WS_ERR_INVALID_HEADER',
  InvalidUrl: 'WS_ERR_INVALID_URL',
  InvalidArgument: 'WS_ERR_INVALID_ARGUMENT',
  // The client's dial (src/node/dial.ts).
  /** The server's answer is not HTTP/1.1 that Node's parser accepts (Node's HPE_* error is the cause). */
  InvalidResponse: 'WS_ERR_INVALID_RESPONSE',
  HandshakeTimeout: 'WS_ERR_HANDSHAKE_TIMEOUT',
  HandshakeAborted: 'WS_ERR_HANDSHAKE_ABORTED',
  TooManyRedirects: 'WS_ERR_TOO_MANY_REDIRECTS',
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
