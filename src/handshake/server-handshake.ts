import { STATUS_CODES } from 'node:http';
import { computeAcceptKey, isValidKey } from './accept-key.js';
import { type ExtensionOffer, parseExtensionHeader } from './extension-header.js';
import { HandshakeError, HandshakeErrorCode } from './handshake-error.js';
import {
  checkHeaderField,
  headerLines,
  type IncomingHeaders,
  type OutgoingHeaders,
  singleHeaderValue,
} from './header-fields.js';
import { parseSubprotocolHeader } from './subprotocols.js';
import { asciiLowerCase, hasToken, isToken } from './tokens.js';

/** The parts of an HTTP request the server's handshake reads (fits `http.IncomingMessage`). */
export interface UpgradeRequest {
  /** Optional only because `IncomingMessage.method` is; a missing method is refused. */
  method?: string | undefined;
  /** `'1.1'`, `'1.0'`, `'2.0'`... */
  httpVersion: string;
  /** Lower-case names, as `IncomingMessage.headers`. */
  headers: IncomingHeaders;
  /**
   * `[name, value, ...]` as sent, as `IncomingMessage.rawHeaders`: when given, a repeated Host
   * or Origin is seen even though `headers` kept one value (Node keeps the first Host and joins
   * repeated Origins with a comma).
   */
  rawHeaders?: readonly string[];
}

export interface ValidUpgrade {
  ok: true;
  /** The client's `Sec-WebSocket-Key`, for `buildAcceptResponse`. */
  key: string;
  /** The subprotocols the client offered, in its order of preference. */
  protocols: string[];
  /** The extensions the client offered, in its order of preference. */
  extensions: ExtensionOffer[];
  origin: string | undefined;
}

export interface RejectedUpgrade {
  ok: false;
  status: number;
  /** A short English sentence, fit for the response body and for logs. */
  reason: string;
  /** Headers the rejection must carry (`Allow`, `Sec-WebSocket-Version`...). */
  headers: Record<string, string>;
}

function reject(
  status: number,
  reason: string,
  headers: Record<string, string> = {},
): RejectedUpgrade {
  return { ok: false, status, reason, headers };
}

/** Whether the field `name` (lower case) appears more than once in `rawHeaders`. */
function repeated(rawHeaders: readonly string[] | undefined, name: string): boolean {
  if (rawHeaders === undefined) return false;
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!;
    if (raw.length === name.length && asciiLowerCase(raw) === name) {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

// RFC 6455 §4.2.1 item 1: "HTTP/1.1 or higher".
function isHttp11OrHigher(version: string): boolean {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(version);
  if (match === null) return false;
  const major = Number(match[1]);
  return major > 1 || (major === 1 && Number(match[2] ?? 0) >= 1);
}

/**
 * The server's reading of the client's opening handshake (RFC 6455 §4.2.1), in the order the
 * section lists the fields. The first fault found decides the rejection.
 */
export function validateUpgradeRequest(req: UpgradeRequest): ValidUpgrade | RejectedUpgrade {
  const { headers } = req;
  // Methods are case-sensitive (RFC 7231 §4.1); a 405 must list the allowed ones (§6.5.5).
  if (req.method !== 'GET') {
    return reject(405, 'The WebSocket handshake requires a GET request', { Allow: 'GET' });
  }
  if (!isHttp11OrHigher(req.httpVersion)) {
    return reject(400, 'The WebSocket handshake requires HTTP/1.1 or higher');
  }
  // RFC 7230 §5.4: a missing or repeated Host is a 400.
  if (!singleHeaderValue(headers.host) || repeated(req.rawHeaders, 'host')) {
    return reject(400, 'Missing or invalid Host header');
  }
  // The upgrade request has no body: bytes after its head are frames. A body declared anyway
  // would be read as frames by one party and as a body by another (request smuggling through
  // a proxy), so it is refused.
  const length = headers['content-length'];
  if (headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
    return reject(400, 'An upgrade request must not have a body');
  }
  if (!hasToken(headers.upgrade, 'websocket')) {
    return reject(400, 'Missing or invalid Upgrade header');
  }
  if (!hasToken(headers.connection, 'upgrade')) {
    return reject(400, 'Missing or invalid Connection header');
  }
  const key = singleHeaderValue(headers['sec-websocket-key']);
  if (key === undefined || !isValidKey(key)) {
    return reject(400, 'Missing or invalid Sec-WebSocket-Key header');
  }
  // RFC 6455 §4.2.2 step 4 and §4.4: an unsupported version gets 426 with the versions we
  // speak. RFC 7231 §6.5.15: a 426 must carry Upgrade.
  if (singleHeaderValue(headers['sec-websocket-version']) !== '13') {
    return reject(426, 'Missing or unsupported Sec-WebSocket-Version header (13 is required)', {
      'Sec-WebSocket-Version': '13',
      Upgrade: 'websocket',
    });
  }
  // RFC 6454 §7.3: a user agent sends at most one Origin; two leave the check ambiguous.
  const origin = singleHeaderValue(headers.origin);
  if (
    (origin === undefined && headers.origin !== undefined) ||
    repeated(req.rawHeaders, 'origin')
  ) {
    return reject(400, 'Repeated Origin header');
  }
  const protocols = parseSubprotocolHeader(headers['sec-websocket-protocol']);
  if (protocols instanceof HandshakeError) return reject(400, protocols.message);
  const extensions = parseExtensionHeader(headers['sec-websocket-extensions']);
  if (extensions instanceof HandshakeError) return reject(400, extensions.message);
  return { ok: true, key, protocols, extensions, origin };
}

/**
 * The subprotocol to answer with: the first of the client's offers, in the client's order,
 * that the server supports (RFC 6455 §4.2.2 step 4 leaves the choice to the server; the
 * client's order is its preference). Names compare exactly.
 */
export function selectSubprotocol(
  offered: string[],
  supported: Iterable<string>,
): string | undefined {
  const set = supported instanceof Set ? (supported as Set<string>) : new Set(supported);
  return offered.find((protocol) => set.has(protocol));
}

export interface AcceptOptions {
  /** The client's `Sec-WebSocket-Key`. */
  key: string;
  /** The chosen subprotocol; omitted or '' for none. */
  protocol?: string;
  /** The accepted extensions, already formatted; omitted or '' for none. */
  extensions?: string;
  /** Extra headers, e.g. `Set-Cookie` (an array gives repeated lines). */
  headers?: OutgoingHeaders;
}

// Written by buildAcceptResponse itself; a 1xx response has no body framing (RFC 7230 §3.3).
const ACCEPT_RESERVED = new Set([
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'content-length',
  'transfer-encoding',
]);

/**
 * The server's 101 response head, ending with the blank line (RFC 6455 §4.2.2 step 5). Never
 * the pre-RFC `Sec-WebSocket-Origin`/`Location` headers. Throws a `HandshakeError`
 * (`WS_ERR_INVALID_HEADER`) for a header name or value that could break the head (CR, LF...),
 * or for an extra header that the handshake writes itself.
 */
export function buildAcceptResponse(options: AcceptOptions): string {
  const { key, protocol, extensions, headers = {} } = options;
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${computeAcceptKey(key)}`,
  ];
  const reserved = new Set(ACCEPT_RESERVED);
  if (protocol) {
    // RFC 6455 §4.2.2 step 4: one of the client's values, so a single token.
    if (!isToken(protocol)) {
      throw new HandshakeError(
        HandshakeErrorCode.InvalidSubprotocol,
        `Invalid subprotocol name: ${JSON.stringify(protocol)}`,
      );
    }
    lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    reserved.add('sec-websocket-protocol');
  }
  if (extensions) {
    checkHeaderField('Sec-WebSocket-Extensions', extensions);
    lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
    reserved.add('sec-websocket-extensions');
  }
  lines.push(...headerLines(headers, reserved));
  return `${lines.join('\r\n')}\r\n\r\n`;
}

// Framing headers buildRejectResponse computes; a caller's copy would contradict them.
const REJECT_RESERVED = new Set(['connection', 'content-length', 'transfer-encoding']);

/**
 * A complete HTTP/1.1 error response (head and body) that refuses the upgrade. The body is
 * `reason`, or the status's reason phrase; the string is meant to be written as UTF-8, and
 * `Content-Length` counts UTF-8 bytes. The connection is closed after it. Throws a
 * `HandshakeError` for a status outside 300-599 (`WS_ERR_INVALID_ARGUMENT`: a 1xx or 2xx
 * would not refuse anything) and for invalid or reserved extra headers (`WS_ERR_INVALID_HEADER`).
 */
export function buildRejectResponse(
  status: number,
  options: { reason?: string; headers?: OutgoingHeaders } = {},
): string {
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new HandshakeError(
      HandshakeErrorCode.InvalidArgument,
      `Invalid status code for a rejection: ${status}`,
    );
  }
  const { headers = {} } = options;
  const phrase = STATUS_CODES[status] ?? 'Unknown';
  const body = options.reason ?? phrase;
  const names = Object.keys(headers).map(asciiLowerCase);
  // RFC 7230 §6.7: whoever sends Upgrade (a 426 must, RFC 7231 §6.5.15) also lists it in
  // Connection, so that proxies do not forward it.
  const connection = names.includes('upgrade') ? 'Upgrade, close' : 'close';
  const lines = [`HTTP/1.1 ${status} ${phrase}`, `Connection: ${connection}`];
  if (!names.includes('content-type')) lines.push('Content-Type: text/plain; charset=utf-8');
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  lines.push(...headerLines(headers, REJECT_RESERVED));
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
