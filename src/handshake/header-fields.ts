import { HandshakeError, HandshakeErrorCode } from './handshake-error.js';
import { asciiLowerCase, isToken, trimOws } from './tokens.js';

/** Header fields as Node gives them: lower-case names, repeated lines as arrays. */
export type IncomingHeaders = Record<string, string | string[] | undefined>;

/**
 * Header fields to write: a value per line, an array for repeated lines. A finite number is
 * written in decimal, as Node's `setHeader` takes it (`'Retry-After': 5`).
 */
export type OutgoingHeaders = Record<string, HeaderValue | readonly HeaderValue[]>;
export type HeaderValue = string | number;

/**
 * The value of a field that must appear once, OWS trimmed (RFC 7230 §3.2.4); `undefined` when
 * it is missing or repeated.
 */
export function singleHeaderValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return trimOws(value);
  return value.length === 1 ? trimOws(value[0]!) : undefined;
}

// field-value = *( HTAB / SP / VCHAR ) (RFC 7230 §3.2). obs-text is refused too: the head is
// written as UTF-8 by the binding, so a Latin-1 byte could not go out as the caller meant.
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/**
 * Throws unless `name` is a token and `value` holds no CR, LF or other control character
 * (RFC 7230 §3.2): a CR LF in either would let a caller's input inject header lines.
 */
export function checkHeaderField(name: string, value: HeaderValue): void {
  if (!isToken(name)) {
    throw new HandshakeError(
      HandshakeErrorCode.InvalidHeader,
      `Invalid header name: ${JSON.stringify(name)}`,
    );
  }
  if (typeof value === 'number' ? !Number.isFinite(value) : !isFieldValue(value)) {
    throw new HandshakeError(
      HandshakeErrorCode.InvalidHeader,
      `Invalid value for header ${JSON.stringify(name)}`,
    );
  }
}

function isFieldValue(value: unknown): boolean {
  return typeof value === 'string' && FIELD_VALUE.test(value);
}

/**
 * `Name: value` lines for `headers` (an array gives one line per element), each checked with
 * `checkHeaderField`. A name in `reserved` (lower case) throws: the handshake writes it itself,
 * and a second line would contradict it.
 */
export function headerLines(headers: OutgoingHeaders, reserved: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  if (headers === null || typeof headers !== 'object') {
    throw new HandshakeError(HandshakeErrorCode.InvalidHeader, 'Headers must be an object');
  }
  for (const [name, value] of Object.entries(headers)) {
    if (reserved.has(asciiLowerCase(name))) {
      throw new HandshakeError(
        HandshakeErrorCode.InvalidHeader,
        `The ${name} header is set by the handshake and cannot be given`,
      );
    }
    for (const v of Array.isArray(value) ? (value as HeaderValue[]) : [value as HeaderValue]) {
      checkHeaderField(name, v);
      lines.push(`${name}: ${String(v)}`);
    }
  }
  return lines;
}
