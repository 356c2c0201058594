import type * as http from 'node:http';

/** Milliseconds a client has to send its request head. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
/** Largest request head accepted, in bytes (431 beyond): Node's own default. */
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

export interface HandshakeLimits {
  handshakeTimeout?: number;
  maxHeaderSize?: number;
}

/**
 * Options for `http.createServer` that cut off a client whose request head does not arrive
 * within `handshakeTimeout` (nothing sent, or a byte at a time: 408) or is larger than
 * `maxHeaderSize` (431). Node checks its timeouts on an interval (30 s by default): it is
 * shortened so that the timeout is kept to within a quarter of itself.
 */
export function httpServerLimits(limits: HandshakeLimits = {}): http.ServerOptions {
  const timeout = limits.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const maxHeaderSize = limits.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
  if (!(Number.isFinite(timeout) && timeout > 0)) {
    throw new TypeError('handshakeTimeout must be a positive number of milliseconds');
  }
  if (!(Number.isInteger(maxHeaderSize) && maxHeaderSize > 0)) {
    throw new TypeError('maxHeaderSize must be a positive number of bytes');
  }
  return {
    maxHeaderSize,
    headersTimeout: timeout,
    requestTimeout: timeout,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeout / 4))),
  };
}
