/** WebSockets §3.1 steps 1-2 ("get a URL record"): http(s) becomes ws(s), other schemes and fragments fail. */
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

/** WebSockets §3.1 steps 3-4: the protocols as a list of distinct tokens (RFC 6455 §4.1). */
export function protocolList(protocols: unknown, interfaceName = 'WebSocket'): string[] {
  if (protocols === undefined) return [];
  const list =
    typeof protocols === 'object' && protocols !== null && Symbol.iterator in protocols
      ? Array.from(protocols as Iterable<unknown>, (p) => String(p))
      : [String(protocols)];
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
