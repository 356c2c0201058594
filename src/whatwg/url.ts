import { toDOMString } from './webidl.js';

/**
 * WebSockets "get a URL record": parse (step 1; failure is a SyntaxError, step 2), http becomes
 * ws and https wss (steps 3-4), other schemes (step 5) and fragments (step 6) are a SyntaxError.
 */
export function parseUrl(url: string, interfaceName = 'WebSocket'): URL {
  let record: URL;
  try {
    record = new URL(url);
  } catch {
    throw new DOMException(
      `Failed to construct '${interfaceName}': The URL '${url}' is invalid.`,
      'SyntaxError',
    );
  }
  if (record.protocol === 'http:') record.protocol = 'ws:';
  else if (record.protocol === 'https:') record.protocol = 'wss:';
  if (record.protocol !== 'ws:' && record.protocol !== 'wss:') {
    throw new DOMException(
      `Failed to construct '${interfaceName}': The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '${record.protocol.slice(0, -1)}' is not allowed.`,
      'SyntaxError',
    );
  }
  if (record.hash !== '' || url.includes('#')) {
    throw new DOMException(
      `Failed to construct '${interfaceName}': The URL contains a fragment identifier ('${record.hash}'). Fragment identifiers are not allowed in WebSocket URLs.`,
      'SyntaxError',
    );
  }
  return record;
}

/**
 * WebIDL conversion of WebSocket's `(DOMString or sequence<DOMString>) protocols`: an iterable
 * object is a sequence, anything else one DOMString (a Symbol is a TypeError).
 */
export function toProtocols(protocols: unknown, interfaceName = 'WebSocket'): string[] {
  if (protocols === undefined) return [];
  const context = `Failed to construct '${interfaceName}'`;
  return typeof protocols === 'object' && protocols !== null && Symbol.iterator in protocols
    ? Array.from(protocols as Iterable<unknown>, (p) => toDOMString(p, context))
    : [toDOMString(protocols, context)];
}

/**
 * "new WebSocket(url, protocols)" steps 3-4 (and WebSocketStream's): a repeated value or one
 * that is not a token (RFC 6455 §4.1, RFC 7230 §3.2.6) is a SyntaxError.
 */
export function protocolList(list: string[], interfaceName = 'WebSocket'): string[] {
  const seen = new Set<string>();
  for (const protocol of list) {
    if (!isToken(protocol)) {
      throw new DOMException(
        `Failed to construct '${interfaceName}': The subprotocol '${protocol}' is invalid.`,
        'SyntaxError',
      );
    }
    if (seen.has(protocol)) {
      throw new DOMException(
        `Failed to construct '${interfaceName}': The subprotocol '${protocol}' is duplicated.`,
        'SyntaxError',
      );
    }
    seen.add(protocol);
  }
  return list;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
function isToken(value: string): boolean {
  return TOKEN.test(value);
}
