import type { RequestOptions } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { PerMessageDeflateOptions } from '../../extensions/index.js';
import type { ConnectionSettings } from '../connection/options.js';

/** The client's default `handshakeTimeout`, in milliseconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/**
 * `tls.connect` options that https.request passes on but @types/node's `RequestOptions` leaves
 * out of its type.
 */
export type ExtraTlsOption = 'ALPNProtocols' | 'minDHSize' | 'secureContext' | 'session';

/**
 * `http.request` options the dialer sets itself, from the URL and the handshake (`headers` are
 * the handshake's, the user's merged in), or that are never the user's (`timeout` is a socket
 * idle timer, while tsws's `handshakeTimeout` is a deadline; `_defaultAgent` is Node-internal).
 */
export type DialerOption =
  | 'host'
  | 'hostname'
  | 'port'
  | 'path'
  | 'method'
  | 'headers'
  | 'timeout'
  | 'protocol'
  | '_defaultAgent';

/**
 * Options of `new WebSocket(url, protocols, options)`. Besides tsws's own settings, the
 * `http.request`/`https.request` options pass through (TLS: `ca`, `cert`, `key`,
 * `rejectUnauthorized`, `servername`...; `agent`, `family`, `lookup`, `localAddress`...): the
 * ones on the allow-list in client-request-options.ts, nothing else.
 */
export interface ClientOptions
  extends ConnectionSettings,
    Omit<RequestOptions, DialerOption>,
    Pick<ConnectionOptions, ExtraTlsOption> {
  /** Extra request headers (not the handshake's own: Upgrade, Connection, Sec-WebSocket-*). */
  headers?: Record<string, string>;
  /**
   * Milliseconds from the dial to `open`: a deadline covering DNS, TCP, TLS, redirects and the
   * 101, which bytes trickling in do not extend. Default 10 s (python-websockets' open_timeout);
   * 0 for none.
   */
  handshakeTimeout?: number;
  /** The `Origin` header to send. */
  origin?: string;
  /** Follow 3xx redirects (to ws/wss/http/https URLs). Default false. */
  followRedirects?: boolean;
  /** Most redirects followed. Default 10. */
  maxRedirects?: number;
  /**
   * permessage-deflate (RFC 7692): offered by default, as browsers do
   * (`permessage-deflate; client_max_window_bits`); `false` offers nothing.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}
