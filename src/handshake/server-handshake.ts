import type { ExtensionOffer } from './extension-header.js';
import type { IncomingHeaders, OutgoingHeaders } from './header-fields.js';
import { asciiLowerCase } from './tokens.js';
import {
  acceptFields,
  checkUpgradeRequest,
  type HeaderField,
  isDefaultContentType,
  refuseUpgrade,
  serializeUpgradeResponse,
} from './upgrade.js';

/** The parts of an HTTP request the server's handshake reads (fits `http.IncomingMessage`). */
export interface UpgradeRequest {
  /** Optional only because `IncomingMessage.method` is; a missing method is refused. */
  method?: string | undefined;
  /** `'1.1'`, `'1.0'`, `'2.0'`... */
  httpVersion: string;
  /** Lower-case names, as `IncomingMessage.headers`. */
  headers: IncomingHeaders;
  /**
   * `[name, value, ...]` as sent, as `IncomingMessage.rawHeaders`: when given, the fields are
   * read from it (a repeated Host or Origin is seen even though `headers` kept one value).
   */
  rawHeaders?: readonly string[];
  /** The request-target; '/' when omitted. */
  url?: string | undefined;
}

/** `[name, value, name, value...]` (`rawHeaders`) as a header list. */
export function rawHeaderList(raw: readonly string[]): HeaderField[] {
  const fields: HeaderField[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) fields.push([raw[i]!, raw[i + 1]!]);
  return fields;
}

/**
 * The header list of a request shaped like `http.IncomingMessage`: its `headers` object (what
 * ws reads, and what an application may have edited before `handleUpgrade`; an array value
 * gives repeated fields), except that a Host or Origin sent more than once comes from
 * `rawHeaders` (Node keeps the first Host and joins repeated Origins with a comma).
 */
export function headerList(req: Pick<UpgradeRequest, 'headers' | 'rawHeaders'>): HeaderField[] {
  const fields: HeaderField[] = [];
  const headers = req.headers ?? {};
  const raw = req.rawHeaders;
  const repeats = Array.isArray(raw) ? repeatedFields(raw) : undefined;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    const sent = repeats?.get(name);
    if (sent !== undefined) fields.push(...sent);
    else if (typeof value === 'string') fields.push([name, value]);
    else for (const v of value) fields.push([name, v]);
  }
  return fields;
}

/** Host and Origin fields of `raw` that appear more than once. */
function repeatedFields(raw: readonly string[]): Map<string, HeaderField[]> | undefined {
  let found: Map<string, HeaderField[]> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 4 && name.length !== 6) continue;
    const lower = asciiLowerCase(name);
    if (lower !== 'host' && lower !== 'origin') continue;
    found ??= new Map();
    const list = found.get(lower);
    if (list === undefined) found.set(lower, [[lower, raw[i + 1]!]]);
    else list.push([lower, raw[i + 1]!]);
  }
  if (found !== undefined)
    for (const [name, list] of found) if (list.length < 2) found.delete(name);
  return found;
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

/**
 * The server's reading of the client's opening handshake (RFC 6455 §4.2.1), for a request
 * shaped like `http.IncomingMessage`: `checkUpgradeRequest` (upgrade.ts) over its header list.
 */
export function validateUpgradeRequest(req: UpgradeRequest): ValidUpgrade | RejectedUpgrade {
  const checked = checkUpgradeRequest({
    method: req.method ?? '',
    target: req.url ?? '/',
    httpVersion: req.httpVersion,
    headers: headerList(req),
  });
  if (checked.ok) {
    const { key, protocols, extensions, origin } = checked;
    return { ok: true, key: key!, protocols, extensions, origin };
  }
  const headers: Record<string, string> = {};
  for (const field of checked.headers) {
    if (!isDefaultContentType(field)) headers[field[0]] = field[1];
  }
  return { ok: false, status: checked.status, reason: checked.reason, headers };
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

/**
 * The server's 101 response head, ending with the blank line (RFC 6455 §4.2.2 step 5). Never
 * the pre-RFC `Sec-WebSocket-Origin`/`Location` headers. Throws a `HandshakeError`
 * (`WS_ERR_INVALID_HEADER`) for a header name or value that could break the head (CR, LF...),
 * or for an extra header that the handshake writes itself.
 */
export function buildAcceptResponse(options: AcceptOptions): string {
  const { key, protocol, extensions, headers } = options;
  const fields = acceptFields(key, protocol, extensions, headers);
  return serializeUpgradeResponse({
    ok: true,
    status: 101,
    headers: fields,
    protocol: protocol ?? '',
    extensions: extensions ?? '',
    agreed: undefined,
  });
}

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
  return serializeUpgradeResponse(refuseUpgrade(status, options.reason, options.headers));
}
