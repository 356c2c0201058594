import { HandshakeError, HandshakeErrorCode } from './handshake-error.js';

export interface WebSocketUrl {
  /** The URL with a ws: or wss: scheme (a copy: the input is never changed). */
  url: URL;
  secure: boolean;
  /** The host name for `net.connect`, an IPv6 address without its brackets. */
  host: string;
  port: number;
  /** The request target: path and query, '/' at least. */
  path: string;
}

// The WHATWG WebSocket constructor accepts http(s) URLs as ws(s) ones.
function webSocketScheme(protocol: string): 'ws:' | 'wss:' | undefined {
  if (protocol === 'ws:' || protocol === 'http:') return 'ws:';
  if (protocol === 'wss:' || protocol === 'https:') return 'wss:';
  return undefined;
}

function invalidUrl(message: string): HandshakeError {
  return new HandshakeError(HandshakeErrorCode.InvalidUrl, message);
}

/**
 * Reads a WebSocket URI (RFC 6455 §3): ws or wss, http and https mapped to them; default ports
 * 80 and 443. A fragment, even an empty `#`, is an error: §3 forbids it in a WebSocket URI.
 */
export function parseWebSocketUrl(input: string | URL): WebSocketUrl | HandshakeError {
  let url: URL;
  try {
    url = new URL(input instanceof URL ? input.href : input);
  } catch {
    return invalidUrl(`Invalid URL: ${String(input)}`);
  }
  const scheme = webSocketScheme(url.protocol);
  if (scheme === undefined) {
    return invalidUrl(`The URL's protocol must be one of "ws:", "wss:", "http:" or "https:"`);
  }
  // `hash` is '' both without a fragment and with an empty one; the serialization tells.
  if (url.href.includes('#')) return invalidUrl('The URL must not contain a fragment');
  url.protocol = scheme;
  const secure = scheme === 'wss:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  return { url, secure, host, port, path: url.pathname + url.search };
}
