import type { ExtensionOffer } from '../protocol/extension.js';
import { HandshakeError, HandshakeErrorCode } from './handshake-error.js';
import { isOws, isToken, isTokenChar, joinHeaderValue, trimOws } from './tokens.js';

/**
 * One extension of a `Sec-WebSocket-Extensions` header: a client's offer or a server's answer
 * (the core's type). Parameters stay a list in the order given, so that a repeated one is
 * visible to the negotiator (RFC 7692 §7 refuses an offer that repeats a parameter) and a name
 * such as `__proto__` is plain data.
 */
export type { ExtensionOffer };

/** Reading position in a header value. */
interface Cursor {
  readonly text: string;
  pos: number;
}

function malformed(c: Cursor, expected: string): HandshakeError {
  const found = c.pos < c.text.length ? JSON.stringify(c.text[c.pos]) : 'the end';
  return new HandshakeError(
    HandshakeErrorCode.InvalidExtensionHeader,
    `Invalid Sec-WebSocket-Extensions header: expected ${expected} at index ${c.pos}, found ${found}`,
  );
}

function peek(c: Cursor): number {
  return c.pos < c.text.length ? c.text.charCodeAt(c.pos) : -1;
}

// RFC 6455 §9.1 uses RFC 2616's "implied *LWS rule": whitespace may sit between any two
// tokens or separators. Line folding is not accepted (obsolete, RFC 7230 §3.2.4).
function skipOws(c: Cursor): void {
  while (isOws(peek(c))) c.pos++;
}

/** The token at the cursor, or '' when there is none. */
function readToken(c: Cursor): string {
  const start = c.pos;
  while (isTokenChar(peek(c))) c.pos++;
  return c.text.slice(start, c.pos);
}

/**
 * The unescaped content of the quoted-string at the cursor (RFC 7230 §3.2.6: a backslash
 * quotes the next character), or `undefined` when it is not closed.
 */
function readQuotedString(c: Cursor): string | undefined {
  let out = '';
  for (c.pos++; c.pos < c.text.length; c.pos++) {
    const ch = c.text[c.pos]!;
    if (ch === '"') {
      c.pos++;
      return out;
    }
    if (ch === '\\') {
      c.pos++;
      if (c.pos === c.text.length) return undefined;
      out += c.text[c.pos];
    } else {
      out += ch;
    }
  }
  return undefined;
}

/** `token [ "=" ( token | quoted-string ) ]` after the `;` (RFC 6455 §9.1). */
function readParam(c: Cursor): [string, string | true] | HandshakeError {
  const name = readToken(c);
  if (name === '') return malformed(c, 'a parameter name');
  skipOws(c);
  if (peek(c) !== 0x3d /* = */) return [name, true];
  c.pos++;
  skipOws(c);
  if (peek(c) !== 0x22 /* " */) {
    const value = readToken(c);
    return value === '' ? malformed(c, 'a parameter value') : [name, value];
  }
  const start = c.pos;
  const value = readQuotedString(c);
  if (value === undefined) return malformed(c, 'a closing quote');
  // RFC 6455 §9.1: a quoted value must itself be a token once unescaped.
  if (!isToken(value)) {
    c.pos = start;
    return malformed(c, 'a token inside the quoted parameter value');
  }
  return [name, value];
}

/** `extension-token *( ";" extension-param )` (RFC 6455 §9.1). */
function readExtension(c: Cursor): ExtensionOffer | HandshakeError {
  const name = readToken(c);
  if (name === '') return malformed(c, 'an extension name');
  const params: ExtensionOffer['params'] = [];
  skipOws(c);
  while (peek(c) === 0x3b /* ; */) {
    c.pos++;
    skipOws(c);
    const param = readParam(c);
    if (param instanceof HandshakeError) return param;
    params.push(param);
    skipOws(c);
  }
  return { name, params };
}

/**
 * Parses `Sec-WebSocket-Extensions` (RFC 6455 §9.1: `1#extension`). Repeated header lines
 * are one list (§9.1: the offers may be split over several lines). Empty list elements are
 * skipped (RFC 2616 §2.1), but a value of commas only lists nothing and is an error. A
 * missing or blank header gives []. Anything off the grammar is an error: §9.1 says the
 * connection must then fail.
 */
export function parseExtensionHeader(
  value: string | string[] | undefined,
): ExtensionOffer[] | HandshakeError {
  const c: Cursor = { text: joinHeaderValue(value), pos: 0 };
  if (trimOws(c.text) === '') return [];
  const offers: ExtensionOffer[] = [];
  for (;;) {
    skipOws(c);
    if (c.pos === c.text.length) break;
    if (peek(c) === 0x2c /* , */) {
      c.pos++;
      continue;
    }
    const offer = readExtension(c);
    if (offer instanceof HandshakeError) return offer;
    offers.push(offer);
    if (c.pos < c.text.length && peek(c) !== 0x2c) return malformed(c, '";" or ","');
  }
  if (offers.length === 0) return malformed(c, 'an extension name');
  return offers;
}

function checkToken(kind: string, s: string): void {
  if (!isToken(s)) {
    throw new HandshakeError(
      HandshakeErrorCode.InvalidExtensionHeader,
      `Invalid extension ${kind}: ${JSON.stringify(s)}`,
    );
  }
}

/**
 * Formats extensions as a `Sec-WebSocket-Extensions` value: `a; p=1; q, b`. Names and
 * values must be tokens, else this throws: §9.1 allows a quoted value only when its content is
 * a token, so quoting could never make a non-token value valid (and a value with CR LF in it
 * would inject a header line).
 */
export function formatExtensionHeader(offers: ExtensionOffer[]): string {
  return offers
    .map(({ name, params }) => {
      checkToken('name', name);
      let out = name;
      for (const [param, value] of params) {
        checkToken('parameter name', param);
        if (value === true) {
          out += `; ${param}`;
        } else {
          checkToken('parameter value', value);
          out += `; ${param}=${value}`;
        }
      }
      return out;
    })
    .join(', ');
}
