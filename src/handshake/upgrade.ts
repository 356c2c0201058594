import { STATUS_CODES } from 'node:http';
import { computeAcceptKey, isValidKey } from './accept-key.js';
import { type ExtensionOffer, parseExtensionHeader } from './extension-header.js';
import { HandshakeError, HandshakeErrorCode } from './handshake-error.js';
import { checkHeaderField, headerLines, type OutgoingHeaders } from './header-fields.js';
import { parseSubprotocolHeader } from './subprotocols.js';
import { asciiLowerCase, hasToken, isToken, trimOws } from './tokens.js';

/**
 * The server's side of the opening handshake over a parsed request, whatever carried it: an
 * HTTP/1.1 GET with Upgrade (RFC 6455 §4.2) or an HTTP/2 extended CONNECT (RFC 8441 §4-5).
 * Three steps, the application's hooks running between the second and the third:
 * `checkUpgradeRequest` (the request itself), `checkOrigin` (the server's origin policy),
 * `acceptUpgrade` (the answer, with the subprotocol chosen and the extensions negotiated).
 * Each gives a result (accept or refuse) that `serializeUpgradeResponse` writes as HTTP/1.1.
 */

/** A header field as received or to send; names compare ASCII case-insensitively. */
export type HeaderField = readonly [name: string, value: string];

export interface UpgradeRequestHead {
  /** `GET` for HTTP/1.1, `CONNECT` for RFC 8441 (methods are case-sensitive, RFC 7231 §4.1). */
  method: string;
  /** The request-target (HTTP/1.1) or `:path` (HTTP/2). */
  target: string;
  /** The fields as received, in order, repeats kept (any name case). */
  headers: readonly HeaderField[];
  /** `'1.1'` when omitted; `'2'` (or `'2.0'`) for HTTP/2. */
  httpVersion?: string;
  /** HTTP/2 `:protocol` (RFC 8441 §4): `websocket`. Its presence marks an extended CONNECT. */
  protocol?: string;
  /** HTTP/2 `:scheme`. */
  scheme?: string;
  /** HTTP/2 `:authority`. */
  authority?: string;
}

/** A request that passed `checkUpgradeRequest`. */
export interface CheckedUpgrade {
  ok: true;
  /** An RFC 8441 extended CONNECT: the answer is a 200, without Sec-WebSocket-Accept. */
  http2: boolean;
  /** The client's `Sec-WebSocket-Key` (HTTP/1.1 only; RFC 8441 §5 drops it). */
  key: string | undefined;
  target: string;
  /** The subprotocols the client offered, in its order of preference. */
  protocols: string[];
  /** The extensions the client offered, in its order of preference. */
  extensions: ExtensionOffer[];
  origin: string | undefined;
}

/** The upgrade refused: a complete answer. */
export interface UpgradeRefusal {
  ok: false;
  status: number;
  /** A short English sentence, fit for logs (and the body, unless `body` says otherwise). */
  reason: string;
  /** Fields to send (framing ones, Connection and Content-Length, are the serializer's). */
  headers: HeaderField[];
  body: string;
}

/** The upgrade accepted: the answer and what was agreed. */
export interface UpgradeAccept<T = unknown> {
  ok: true;
  /** 101 (HTTP/1.1, RFC 6455 §4.2.2) or 200 (RFC 8441 §5). */
  status: 101 | 200;
  headers: HeaderField[];
  /** The agreed subprotocol, or '' for none. */
  protocol: string;
  /** The agreed extensions as sent in `Sec-WebSocket-Extensions`, or '' for none. */
  extensions: string;
  /** What the negotiator agreed (for the binding to set up the extension), if anything. */
  agreed: T | undefined;
}

/**
 * Extension negotiation (RFC 6455 §9.1): the client's offers in, the response header value
 * and whatever the binding needs to run the agreed extensions out; undefined for none.
 */
export type ExtensionNegotiator<T> = (
  offers: ExtensionOffer[],
) => { response: string; agreed: T } | undefined;

export interface AcceptChoice<T> {
  /** The subprotocol chosen (one of the client's offers), or undefined / '' for none. */
  protocol?: string | undefined;
  /** The one place extensions are negotiated; none agreed without it. */
  negotiate?: ExtensionNegotiator<T> | undefined;
  /** Extra fields, e.g. `Set-Cookie` (an array gives repeated fields). */
  headers?: OutgoingHeaders | undefined;
}

const TEXT_PLAIN: HeaderField = ['Content-Type', 'text/plain; charset=utf-8'];

/** Whether `field` is the Content-Type a refusal gets by default. @internal */
export function isDefaultContentType(field: HeaderField): boolean {
  return field === TEXT_PLAIN;
}

/** A refusal with `status`, `reason` as body, and `headers` (with a text/plain body type). */
function refusal(status: number, reason: string, headers: HeaderField[] = []): UpgradeRefusal {
  headers.push(TEXT_PLAIN);
  return { ok: false, status, reason, headers, body: reason };
}

/**
 * The 426 for a request that does not speak version 13 (RFC 6455 §4.2.2 step 4, §4.4), also
 * the answer to a plain HTTP request at a WebSocket-only server. RFC 7231 §6.5.15: a 426 over
 * HTTP/1.1 must carry Upgrade (a connection-specific field, so not over HTTP/2).
 */
export function upgradeRequired(reason = STATUS_CODES[426]!, http2 = false): UpgradeRefusal {
  const headers: HeaderField[] = [['Sec-WebSocket-Version', '13']];
  if (!http2) headers.push(['Upgrade', 'websocket']);
  return refusal(426, reason, headers);
}

/** Whether an HTTP/1.1 request asks for an upgrade at all (else it is plain HTTP: 426). */
export function asksForUpgrade(head: UpgradeRequestHead): boolean {
  let upgrade = false;
  let connection = false;
  for (const [name, value] of head.headers) {
    const lower = name.length === 7 || name.length === 10 ? asciiLowerCase(name) : '';
    if (lower === 'upgrade') upgrade = true;
    else if (lower === 'connection' && hasToken(value, 'upgrade')) connection = true;
  }
  return upgrade && connection;
}

// The fields the check reads (lower case); others are not looked at.
const READ = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'upgrade',
  'connection',
  'keep-alive',
  'proxy-connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'origin',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

const READ_LENGTHS = new Set([...READ].map((name) => name.length));

/** The values of each field the check reads, in order. */
function readFields(headers: readonly HeaderField[]): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const field of headers) {
    const raw = String(field[0]);
    // Most names are told apart by their length alone, without lower-casing them.
    if (!READ_LENGTHS.has(raw.length)) continue;
    const name = asciiLowerCase(raw);
    if (!READ.has(name)) continue;
    const value = String(field[1]);
    const values = fields.get(name);
    if (values === undefined) fields.set(name, [value]);
    else values.push(value);
  }
  return fields;
}

/** The OWS-trimmed value of a field that must appear once; undefined if missing or repeated. */
function single(values: string[] | undefined): string | undefined {
  return values?.length === 1 ? trimOws(values[0]!) : undefined;
}

// RFC 6455 §4.2.1 item 1: "HTTP/1.1 or higher". Gives the major version, or -1 below 1.1.
function majorVersion(version: string): number {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(version);
  if (match === null) return -1;
  const major = Number(match[1]);
  return major > 1 || (major === 1 && Number(match[2] ?? 0) >= 1) ? major : -1;
}

/**
 * The server's reading of the client's opening handshake: RFC 6455 §4.2.1 for HTTP/1.1, RFC
 * 8441 §4-5 for an HTTP/2 extended CONNECT, in the order §4.2.1 lists the fields. The first
 * fault found decides the refusal. Never throws.
 */
export function checkUpgradeRequest(head: UpgradeRequestHead): CheckedUpgrade | UpgradeRefusal {
  const major = majorVersion(head.httpVersion ?? '1.1');
  // An extended CONNECT carries :protocol; a GET claiming HTTP/2 is read as HTTP/1.1 ("or
  // higher", RFC 6455 §4.2.1 item 1).
  const http2 = head.protocol !== undefined || (major >= 2 && head.method === 'CONNECT');
  const fields = readFields(head.headers);
  if (http2) {
    // RFC 8441 §4: an extended CONNECT with :protocol websocket; a 405 must list the allowed
    // methods (RFC 7231 §6.5.5).
    if (head.method !== 'CONNECT') {
      return refusal(405, 'The WebSocket handshake requires a CONNECT request', [
        ['Allow', 'CONNECT'],
      ]);
    }
    if (head.protocol !== 'websocket') {
      return refusal(400, 'Missing or invalid :protocol pseudo-header');
    }
    // RFC 8441 §4: :scheme and :path must be there.
    if (!head.scheme || !head.target) {
      return refusal(400, 'Missing :scheme or :path pseudo-header');
    }
    // RFC 7540 §8.1.2.2: connection-specific fields make an HTTP/2 request malformed.
    for (const name of ['connection', 'upgrade', 'keep-alive', 'proxy-connection']) {
      if (fields.has(name)) return refusal(400, `Connection-specific header: ${name}`);
    }
    // RFC 7540 §8.1.2.3: :authority, or else Host, names the target's authority.
    const authority = head.authority ?? single(fields.get('host'));
    if (!authority || (fields.get('host')?.length ?? 0) > 1) {
      return refusal(400, 'Missing or invalid :authority pseudo-header');
    }
  } else {
    if (head.method !== 'GET') {
      return refusal(405, 'The WebSocket handshake requires a GET request', [['Allow', 'GET']]);
    }
    if (major < 0) return refusal(400, 'The WebSocket handshake requires HTTP/1.1 or higher');
    // RFC 7230 §5.4: a missing or repeated Host is a 400.
    if (!single(fields.get('host'))) return refusal(400, 'Missing or invalid Host header');
  }
  // The upgrade request has no body: bytes after its head are frames. A body declared anyway
  // would be read as frames by one party and as a body by another (request smuggling through
  // a proxy), so it is refused.
  const lengths = fields.get('content-length');
  if (fields.has('transfer-encoding') || lengths?.some((length) => trimOws(length) !== '0')) {
    return refusal(400, 'An upgrade request must not have a body');
  }
  let key: string | undefined;
  if (!http2) {
    if (!hasToken(fields.get('upgrade'), 'websocket')) {
      return refusal(400, 'Missing or invalid Upgrade header');
    }
    if (!hasToken(fields.get('connection'), 'upgrade')) {
      return refusal(400, 'Missing or invalid Connection header');
    }
    key = single(fields.get('sec-websocket-key'));
    if (key === undefined || !isValidKey(key)) {
      return refusal(400, 'Missing or invalid Sec-WebSocket-Key header');
    }
  }
  if (single(fields.get('sec-websocket-version')) !== '13') {
    return upgradeRequired(
      'Missing or unsupported Sec-WebSocket-Version header (13 is required)',
      http2,
    );
  }
  // RFC 6454 §7.3: a user agent sends at most one Origin; two leave the check ambiguous.
  const origins = fields.get('origin');
  const origin = single(origins);
  if (origins !== undefined && origin === undefined) {
    return refusal(400, 'Repeated Origin header');
  }
  const protocols = parseSubprotocolHeader(fields.get('sec-websocket-protocol'));
  if (protocols instanceof HandshakeError) return refusal(400, protocols.message);
  const extensions = parseExtensionHeader(fields.get('sec-websocket-extensions'));
  if (extensions instanceof HandshakeError) return refusal(400, extensions.message);
  return { ok: true, http2, key, target: head.target, protocols, extensions, origin };
}

/**
 * The server's origin policy (`originCheck` in origin-policy.ts) applied: a 403 for an origin
 * it does not allow (cross-site WebSocket hijacking, RFC 6455 §10.2), else undefined.
 */
export function checkOrigin(
  checked: CheckedUpgrade,
  allowed: ((origin: string | undefined) => boolean) | undefined,
): UpgradeRefusal | undefined {
  if (allowed === undefined || allowed(checked.origin)) return undefined;
  return refusal(403, 'Origin not allowed');
}

/**
 * A refusal decided by the server or the application (503, verifyClient's 401...): `reason`
 * (or the status's phrase) as body. Throws a `HandshakeError` for a status outside 300-599
 * (`WS_ERR_INVALID_ARGUMENT`: a 1xx or 2xx would not refuse anything) and for invalid or
 * reserved extra headers (`WS_ERR_INVALID_HEADER`).
 */
export function refuseUpgrade(
  status: number,
  reason?: string,
  headers: OutgoingHeaders = {},
): UpgradeRefusal {
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new HandshakeError(
      HandshakeErrorCode.InvalidArgument,
      `Invalid status code for a rejection: ${status}`,
    );
  }
  const fields = headerLines(headers, REFUSAL_RESERVED).map(splitLine);
  const body = reason ?? STATUS_CODES[status] ?? 'Unknown';
  if (!fields.some(([name]) => asciiLowerCase(name) === 'content-type')) fields.push(TEXT_PLAIN);
  return { ok: false, status, reason: body, headers: fields, body };
}

// Framing fields the serializer computes; a caller's copy would contradict them.
const REFUSAL_RESERVED = new Set(['connection', 'content-length', 'transfer-encoding']);

// Written by acceptUpgrade itself; a 1xx response has no body framing (RFC 7230 §3.3).
const ACCEPT_RESERVED = [
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'content-length',
  'transfer-encoding',
];

function splitLine(line: string): HeaderField {
  const colon = line.indexOf(':');
  return [line.slice(0, colon), line.slice(colon + 2)];
}

/**
 * The answer accepting `checked`: 101 with Sec-WebSocket-Accept (RFC 6455 §4.2.2 step 5) or
 * 200 (RFC 8441 §5), the subprotocol chosen and the extensions `choice.negotiate` agreed.
 * Throws a `HandshakeError` for a subprotocol the client did not offer
 * (`WS_ERR_INVALID_SUBPROTOCOL`), or for extra headers that are invalid or that the
 * handshake writes itself (`WS_ERR_INVALID_HEADER`).
 */
export function acceptUpgrade<T>(
  checked: CheckedUpgrade,
  choice: AcceptChoice<T> = {},
): UpgradeAccept<T> {
  const protocol = choice.protocol ?? '';
  // RFC 6455 §4.2.2 step 4: one of the client's values.
  if (protocol !== '' && !checked.protocols.includes(protocol)) {
    throw new HandshakeError(
      HandshakeErrorCode.InvalidSubprotocol,
      `Subprotocol ${JSON.stringify(protocol)} was not offered by the client`,
    );
  }
  let extensions = '';
  let agreed: T | undefined;
  if (choice.negotiate !== undefined && checked.extensions.length > 0) {
    const answer = choice.negotiate(checked.extensions);
    if (answer !== undefined) {
      extensions = answer.response;
      agreed = answer.agreed;
    }
  }
  const headers = acceptFields(checked.key, protocol, extensions, choice.headers);
  return { ok: true, status: checked.http2 ? 200 : 101, headers, protocol, extensions, agreed };
}

/**
 * The fields of an accepting answer: for HTTP/1.1 (a `key`) Upgrade, Connection and
 * Sec-WebSocket-Accept first, then the agreed subprotocol and extensions, then `extra`.
 * @internal (also behind `buildAcceptResponse`)
 */
export function acceptFields(
  key: string | undefined,
  protocol: string | undefined,
  extensions: string | undefined,
  extra: OutgoingHeaders | undefined,
): HeaderField[] {
  const fields: HeaderField[] = [];
  const reserved = new Set(ACCEPT_RESERVED);
  if (key !== undefined) {
    fields.push(
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Accept', computeAcceptKey(key)],
    );
  }
  if (protocol) {
    if (!isToken(protocol)) {
      throw new HandshakeError(
        HandshakeErrorCode.InvalidSubprotocol,
        `Invalid subprotocol name: ${JSON.stringify(protocol)}`,
      );
    }
    fields.push(['Sec-WebSocket-Protocol', protocol]);
    reserved.add('sec-websocket-protocol');
  }
  if (extensions) {
    checkHeaderField('Sec-WebSocket-Extensions', extensions);
    fields.push(['Sec-WebSocket-Extensions', extensions]);
    reserved.add('sec-websocket-extensions');
  }
  if (extra !== undefined)
    for (const line of headerLines(extra, reserved)) fields.push(splitLine(line));
  return fields;
}

/**
 * The result as an HTTP/1.1 response: the 101 head ending with its blank line, or a complete
 * refusal (head and body, `Content-Length` in UTF-8 bytes) after which the connection closes.
 */
export function serializeUpgradeResponse(result: UpgradeAccept<unknown> | UpgradeRefusal): string {
  const phrase =
    result.status === 101 ? 'Switching Protocols' : (STATUS_CODES[result.status] ?? 'Unknown');
  let head = `HTTP/1.1 ${result.status} ${phrase}\r\n`;
  if (!result.ok) {
    // RFC 7230 §6.7: whoever sends Upgrade (a 426 must) also lists it in Connection, so
    // that proxies do not forward it.
    const upgrade = result.headers.some(([name]) => asciiLowerCase(name) === 'upgrade');
    head += `Connection: ${upgrade ? 'Upgrade, close' : 'close'}\r\n`;
    // The default Content-Type goes first, as the server always wrote it.
    if (result.headers.includes(TEXT_PLAIN)) head += `${TEXT_PLAIN[0]}: ${TEXT_PLAIN[1]}\r\n`;
    head += `Content-Length: ${Buffer.byteLength(result.body)}\r\n`;
    for (const field of result.headers) {
      if (field !== TEXT_PLAIN) head += `${field[0]}: ${field[1]}\r\n`;
    }
    return `${head}\r\n${result.body}`;
  }
  for (const [name, value] of result.headers) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}
