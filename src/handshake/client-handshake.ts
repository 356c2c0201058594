import type { ClientExtensionFactory, Extension } from '../protocol/extension.js';
import { computeAcceptKey, generateKey, isValidKey } from './accept-key.js';
import { type ExtensionOffer, parseExtensionHeader } from './extension-header.js';
import { HandshakeError, HandshakeErrorCode } from './handshake-error.js';
import { checkHeaderField, type IncomingHeaders, singleHeaderValue } from './header-fields.js';
import { subprotocolListFault } from './subprotocols.js';
import { asciiLowerCase, hasToken, isToken } from './tokens.js';

export interface ClientHandshakeOptions {
  /** Subprotocols to offer, in order of preference. */
  protocols?: string[];
  /** The extension offers, already formatted; omitted or '' for none. */
  extensions?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  origin?: string;
  /** A fixed `Sec-WebSocket-Key`, for tests; a fresh random one otherwise. */
  key?: string;
}

function invalidHeader(message: string): HandshakeError {
  return new HandshakeError(HandshakeErrorCode.InvalidHeader, message);
}

/**
 * The client's opening handshake headers (RFC 6455 §4.1), to send with a GET request. Throws
 * a `HandshakeError`: `WS_ERR_INVALID_SUBPROTOCOL` for a protocol that is not a token or is
 * repeated, `WS_ERR_INVALID_HEADER` for a header that could break the request (CR, LF...) or
 * that would contradict one the handshake sets, `WS_ERR_INVALID_ARGUMENT` for a bad `key`.
 * The returned object has no prototype, so a header named `__proto__` is only data.
 */
export function createClientHandshake(options: ClientHandshakeOptions): {
  key: string;
  headers: Record<string, string>;
} {
  const { protocols = [], extensions, origin, headers: extra = {} } = options;
  const key = options.key ?? generateKey();
  if (!isValidKey(key)) {
    throw new HandshakeError(
      HandshakeErrorCode.InvalidArgument,
      'The key must be the base64 encoding of 16 bytes',
    );
  }
  const headers: Record<string, string> = Object.create(null);
  headers.Connection = 'Upgrade';
  headers.Upgrade = 'websocket';
  headers['Sec-WebSocket-Version'] = '13';
  headers['Sec-WebSocket-Key'] = key;
  const reserved = new Set(['connection', 'upgrade', 'sec-websocket-version', 'sec-websocket-key']);
  if (protocols.length > 0) {
    const fault = subprotocolListFault(protocols);
    if (fault !== undefined) {
      throw new HandshakeError(
        HandshakeErrorCode.InvalidSubprotocol,
        `Invalid protocols: ${fault}`,
      );
    }
    headers['Sec-WebSocket-Protocol'] = protocols.join(', ');
    reserved.add('sec-websocket-protocol');
  }
  if (extensions) {
    checkHeaderField('Sec-WebSocket-Extensions', extensions);
    headers['Sec-WebSocket-Extensions'] = extensions;
    reserved.add('sec-websocket-extensions');
  }
  if (origin) {
    checkHeaderField('Origin', origin);
    headers.Origin = origin;
    reserved.add('origin');
  }
  for (const [name, value] of Object.entries(extra)) {
    if (reserved.has(asciiLowerCase(name))) {
      throw invalidHeader(`The ${name} header is set by the handshake and cannot be given`);
    }
    checkHeaderField(name, value);
    headers[name] = value;
  }
  return { key, headers };
}

/** The parts of the server's answer the client's handshake reads (fits `IncomingMessage`). */
export interface ServerResponse {
  /** Optional only because `IncomingMessage.statusCode` is; a missing status fails. */
  statusCode?: number | undefined;
  /** Lower-case names. */
  headers: IncomingHeaders;
}

/** What the client sent, to check the answer against. */
export interface ExpectedResponse {
  key: string;
  protocols: string[];
  /** Whether a `Sec-WebSocket-Extensions` offer was sent. */
  extensionsOffered: boolean;
}

/**
 * The client's checks of the server's answer (RFC 6455 §4.1, the numbered list after "the
 * client MUST validate the server's response"). Returns the chosen subprotocol ('' for none)
 * and the extensions the server accepted (their parameters are the extension layer's to check),
 * or the `HandshakeError` that must fail the connection.
 */
export function validateServerResponse(
  res: ServerResponse,
  expected: ExpectedResponse,
): { protocol: string; extensions: ExtensionOffer[] } | HandshakeError {
  const { headers } = res;
  // Item 1: anything but 101 is handled as plain HTTP (a redirect, an auth challenge...).
  if (res.statusCode !== 101) {
    return new HandshakeError(
      HandshakeErrorCode.UnexpectedResponse,
      `Unexpected server response: ${res.statusCode}`,
      res.statusCode,
    );
  }
  // Items 2 and 3.
  if (!hasToken(headers.upgrade, 'websocket')) {
    return new HandshakeError(
      HandshakeErrorCode.InvalidUpgradeHeader,
      'Missing or invalid Upgrade header',
    );
  }
  if (!hasToken(headers.connection, 'upgrade')) {
    return new HandshakeError(
      HandshakeErrorCode.InvalidConnectionHeader,
      'Missing or invalid Connection header',
    );
  }
  // Item 4.
  if (singleHeaderValue(headers['sec-websocket-accept']) !== computeAcceptKey(expected.key)) {
    return new HandshakeError(
      HandshakeErrorCode.InvalidAccept,
      'Missing or invalid Sec-WebSocket-Accept header',
    );
  }
  const protocol = checkProtocol(headers['sec-websocket-protocol'], expected.protocols);
  if (protocol instanceof HandshakeError) return protocol;
  // Item 5: an extension the client did not offer fails the connection.
  const extensions = parseExtensionHeader(headers['sec-websocket-extensions']);
  if (extensions instanceof HandshakeError) return extensions;
  if (extensions.length > 0 && !expected.extensionsOffered) {
    return new HandshakeError(
      HandshakeErrorCode.InvalidExtensionHeader,
      'Server sent a Sec-WebSocket-Extensions header but no extension was requested',
    );
  }
  return { protocol, extensions };
}

/**
 * Item 6: a `Sec-WebSocket-Protocol` in the answer must be one token the client offered. Its
 * absence means the server chose none, which is accepted (as browsers and ws do) and gives ''.
 */
function checkProtocol(
  value: string | string[] | undefined,
  offered: string[],
): string | HandshakeError {
  if (value === undefined) return '';
  const protocol = singleHeaderValue(value);
  if (protocol === undefined || !isToken(protocol)) {
    return new HandshakeError(
      HandshakeErrorCode.InvalidSubprotocol,
      'Invalid Sec-WebSocket-Protocol header: the server must answer with one subprotocol',
    );
  }
  if (!offered.includes(protocol)) {
    return new HandshakeError(
      HandshakeErrorCode.InvalidSubprotocol,
      offered.length === 0
        ? 'Server sent a subprotocol but none was requested'
        : `Server sent a subprotocol that was not requested: ${protocol}`,
    );
  }
  return protocol;
}

/**
 * The client's side of extension negotiation (RFC 6455 §4.1, client step 5): every extension
 * the server accepted must be one offered (`factories`), each at most once; each factory then
 * checks its answer's parameters. The core runs one extension per connection, so more than one
 * accepted is refused too. Returns the agreed extension, none, or the error to fail with.
 */
export function acceptExtensions(
  accepted: readonly ExtensionOffer[],
  factories: readonly ClientExtensionFactory[],
): Extension | undefined | HandshakeError {
  if (accepted.length === 0) return undefined;
  const invalid = (reason: string) =>
    new HandshakeError(
      HandshakeErrorCode.InvalidExtensionHeader,
      `Invalid Sec-WebSocket-Extensions header: ${reason}`,
    );
  if (accepted.length > 1) return invalid('the server accepted more than one extension');
  const answer = accepted[0]!;
  const factory = factories.find((f) => f.name === answer.name);
  if (factory === undefined) {
    return invalid(`the server accepted ${JSON.stringify(answer.name)}, which was not offered`);
  }
  const extension = factory.accept(answer);
  if (!(extension instanceof Error)) return extension;
  return extension instanceof HandshakeError ? extension : invalid(extension.message);
}
