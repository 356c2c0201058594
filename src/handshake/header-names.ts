// Request header names: how a repeated one is combined, and the usual spellings, for the
// request-head parser (http-request-parser.ts).

// How Node's IncomingMessage combines a repeated field (lib/_http_incoming.js,
// `matchKnownFields` and `_addHeaderLine`).
export const JOIN = 0; // joined with ', '
export const SEMI = 1; // joined with '; ' (cookie)
export const ARRAY = 2; // an array of every value (set-cookie)
export const FIRST = 3; // the first one kept, the others dropped

export const KIND = new Map<string, number>([
  ['cookie', SEMI],
  ['set-cookie', ARRAY],
]);
for (const name of [
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]) {
  KIND.set(name, FIRST);
}

export interface KnownName {
  raw: string;
  lower: string;
  kind: number;
}

// Common names in their usual spellings (most likely first), by length, so that they are
// lower-cased and classified without hashing or allocating. Bounded: names the peer makes
// up are never added.
const KNOWN_BY_LENGTH: KnownName[][] = [];
for (const spelling of [
  'Host',
  'Upgrade',
  'Connection',
  'Sec-WebSocket-Key',
  'Sec-WebSocket-Version',
  'Sec-WebSocket-Protocol',
  'Sec-WebSocket-Extensions',
  'Origin',
  'User-Agent',
  'Cookie',
  'Authorization',
  'Pragma',
  'Cache-Control',
  'Accept',
  'Accept-Encoding',
  'Accept-Language',
  'Sec-Fetch-Dest',
  'Sec-Fetch-Mode',
  'Sec-Fetch-Site',
  'X-Forwarded-For',
  'X-Forwarded-Proto',
  'X-Forwarded-Host',
  'X-Real-IP',
  'Forwarded',
  'Via',
  'host',
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'origin',
  'user-agent',
  'cookie',
  'authorization',
  'pragma',
  'cache-control',
  'accept',
  'accept-encoding',
  'accept-language',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'forwarded',
  'via',
  'Sec-Websocket-Key',
  'Sec-Websocket-Version',
  'Sec-Websocket-Protocol',
  'Sec-Websocket-Extensions',
]) {
  const lower = spelling.toLowerCase();
  const known: KnownName = {
    raw: spelling,
    lower,
    kind: KIND.get(lower) ?? JOIN,
  };
  while (KNOWN_BY_LENGTH.length <= spelling.length) KNOWN_BY_LENGTH.push([]);
  KNOWN_BY_LENGTH[spelling.length]!.push(known);
}

/** The known spelling `raw` is, if any (string equality is cheaper than hashing). */
export function knownName(raw: string): KnownName | undefined {
  const length = raw.length;
  if (length >= KNOWN_BY_LENGTH.length) return undefined;
  const list = KNOWN_BY_LENGTH[length]!;
  for (let k = 0; k < list.length; k++) {
    if (list[k]!.raw === raw) return list[k];
  }
  return undefined;
}
