/**
 * An incremental, strict and pure parser of an HTTP/1.1 request head (RFC 9112 §2-§5), for a
 * server that reads the opening handshake from a raw byte stream without Node's `http` module.
 * No I/O: it takes bytes and gives back a parsed head, "need more bytes", or a status to answer
 * with. Bytes after the head (the first WebSocket frames) are left to the caller: `bodyOffset`.
 *
 * Cost model: the bytes are validated by tight loops over the input, one loop per part of a
 * line (method, target, version, field name, field value), and each byte is looked at once
 * whatever the split of the input: a part cut by a chunk boundary resumes where the scan
 * stopped. The offsets of the parts are recorded; the strings are made once the head is
 * complete, from one latin1 decoding of the head. When the whole head comes in one chunk (the
 * usual case) nothing is copied; otherwise the head bytes are gathered in a buffer that never
 * grows beyond `maxHeaderSize` + 2 × `MAX_LEADING_EMPTY_LINES`.
 */
import { ErrorCode, UsageError } from '../protocol/errors.js';
import { HandshakeError, HandshakeErrorCode } from './handshake-error.js';
import { ARRAY, JOIN, KIND, knownName, SEMI } from './header-names.js';
import { HOST, isRequestTarget } from './request-target.js';
import { isTokenChar } from './tokens.js';

export interface ParsedRequestHead {
  method: string;
  /** The request-target as sent: origin-form (`/path?q`), absolute-form, authority or `*`. */
  url: string;
  /** `'1.1'`, `'1.0'`... (always HTTP/1.x: another major version is a 505). */
  httpVersion: string;
  httpVersionMajor: number;
  httpVersionMinor: number;
  /**
   * Lower-case names, duplicates combined as `http.IncomingMessage.headers` does; a plain
   * object as Node's (a field named `__proto__` is dropped, as Node does). Host,
   * Content-Length, Transfer-Encoding and Origin are never repeated (the head is refused).
   */
  headers: Record<string, string | string[]>;
  /** `[name, value, name, value...]` as sent (names in their case), as `IncomingMessage.rawHeaders`. */
  rawHeaders: string[];
}

export type ParseResult =
  | { state: 'incomplete' }
  | {
      state: 'complete';
      head: ParsedRequestHead;
      /** Index in the *last* chunk given where the bytes after the head start. */
      bodyOffset: number;
    }
  | { state: 'error'; status: 400 | 414 | 431 | 505 | 501; reason: string };

export type ParseErrorStatus = Extract<ParseResult, { state: 'error' }>['status'];

export interface RequestHeadParserOptions {
  /**
   * The largest head accepted, in bytes, from the first byte of the request-line through the
   * empty line that ends the head (its CRLF included); default 16384, as Node's
   * `--max-http-header-size`. Going over it while in the request-line is a 414, after it a 431.
   */
  maxHeaderSize?: number;
  /** The most header fields accepted (default 100); one more is a 431. */
  maxHeaders?: number;
}

/** RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line. */
export const MAX_LEADING_EMPTY_LINES = 4;

/**
 * RFC 9112 §3: "A server that receives a method longer than any that it implements SHOULD
 * respond with a 501". The longest registered method (`UPDATEREDIRECTREF`) has 17 characters.
 */
export const MAX_METHOD_LENGTH = 20;

const DEFAULT_MAX_HEADER_SIZE = 16384;
const DEFAULT_MAX_HEADERS = 100;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

// Byte classes, as bits of one table.
const TOKEN = 1; // tchar (RFC 9110 §5.6.2)
const TARGET = 2; // VCHAR: what a request-target may hold (RFC 9112 §3.2, RFC 3986)
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  let bits = 0;
  if (c > 0x20 && c < 0x7f) bits |= TARGET;
  if (isTokenChar(c)) bits |= TOKEN;
  CLASS[c] = bits;
}

// "HTTP/" (RFC 9112 §2.3: HTTP-name is case-sensitive).
const HTTP_NAME = [0x48, 0x54, 0x54, 0x50, 0x2f];

// Parser states: where the next byte goes.
const S_LEADING = 0; // before the request-line: an empty line or the method
const S_LEADING_LF = 1; // the LF of a leading empty line
const S_METHOD = 2;
const S_TARGET = 3;
const S_VERSION = 4; // "HTTP/d.d" CR LF
const S_LINE_START = 5; // a field name, or the CR of the empty line that ends the head
const S_NAME = 6;
const S_VALUE = 7; // OWS field-value OWS, up to the CR
const S_FIELD_LF = 8;
const S_END_LF = 9; // the LF of the empty line that ends the head
const S_DONE = 10;

// The limit before the request-line starts (leading empty lines are counted apart); a small
// integer, so that it stays a Smi.
const NO_LIMIT = 0x3fffffff;

const INCOMPLETE: ParseResult = Object.freeze({ state: 'incomplete' });

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;
// Buffer's own decoder (what Node uses for header strings); it accepts any Uint8Array.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Latin1Slice }).latin1Slice;

function checkOption(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new HandshakeError(
      HandshakeErrorCode.InvalidArgument,
      `${name} must be an integer >= ${min}, got ${String(value)}`,
    );
  }
  return value;
}

/** Fields refused when repeated (see #build). */
const SINGLE = new Set(['host', 'content-length', 'transfer-encoding', 'origin']);

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * Parses one request head from a byte stream given in chunks of any size. One parser per
 * connection; it is spent once it returns 'complete' or 'error'.
 */
export class RequestHeadParser {
  readonly #maxHeaderSize: number;
  readonly #maxHeaders: number;

  #state = S_LEADING;
  /** Next byte to look at, in stream coordinates (index 0 = the first byte ever fed). */
  #pos = 0;
  /** Start of the part being scanned (method, target, version, name or value). */
  #mark = 0;
  #leadingLines = 0;
  /** First byte of the request-line, and the index the head must end by. */
  #headStart = 0;
  #limit = 0;
  #methodEnd = 0;
  #targetStart = 0;
  #targetEnd = 0;
  /** Per field: name start, name end, value start, value end. */
  #fields: number[] = [];

  /** The head so far, when it did not come in one chunk; bytes [0, #accLength). */
  #acc: Uint8Array | null = null;
  #accLength = 0;

  constructor(options: RequestHeadParserOptions = {}) {
    this.#maxHeaderSize = checkOption(
      'maxHeaderSize',
      options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
      1,
    );
    this.#maxHeaders = checkOption('maxHeaders', options.maxHeaders ?? DEFAULT_MAX_HEADERS, 0);
  }

  /** Bytes held between calls to `feed` (0 when the head came in one chunk, or once done). */
  get bufferedBytes(): number {
    return this.#accLength;
  }

  /**
   * Feed the next bytes of the stream (any split: one byte at a time works). After a result
   * of 'complete' or 'error', another call throws a `UsageError` (`WS_ERR_INVALID_STATE`).
   */
  feed(chunk: Uint8Array): ParseResult {
    if (this.#state === S_DONE) {
      throw new UsageError(ErrorCode.InvalidState, 'The request head has already been parsed');
    }
    // The usual case: the head starts in this chunk; parse it in place.
    if (this.#accLength === 0 && this.#pos === 0) {
      const result = this.#run(chunk, chunk.length, 0);
      if (result === INCOMPLETE && chunk.length > 0) {
        // Bounded: #run fails once the head reaches its limit.
        this.#acc = new Uint8Array(Math.min(Math.max(1024, chunk.length * 2), this.#maxBuffered()));
        this.#acc.set(chunk);
        this.#accLength = chunk.length;
      }
      return result;
    }
    // The head started in an earlier chunk: append what it may still need, no more.
    const base = this.#accLength;
    const cap = this.#state <= S_LEADING_LF ? this.#maxBuffered() : this.#limit;
    const n = Math.min(chunk.length, cap - base);
    let acc = this.#acc!;
    if (base + n > acc.length) {
      const grown = new Uint8Array(Math.min(Math.max(acc.length * 2, base + n), cap));
      grown.set(acc.subarray(0, base));
      this.#acc = acc = grown;
    }
    acc.set(n === chunk.length ? chunk : chunk.subarray(0, n), base);
    this.#accLength = base + n;
    return this.#run(acc, base + n, base);
  }

  /** Leading empty lines, then the largest head: the most the stream may need to hold. */
  #maxBuffered(): number {
    return 2 * MAX_LEADING_EMPTY_LINES + this.#maxHeaderSize;
  }

  #fail(status: ParseErrorStatus, reason: string): ParseResult {
    this.#finish();
    return { state: 'error', status, reason };
  }

  #finish(): void {
    this.#state = S_DONE;
    this.#acc = null;
    this.#accLength = 0;
    this.#fields = [];
  }

  /** Scan data[#pos, length); `base` is where the current chunk starts in `data`. */
  #run(data: Uint8Array, length: number, base: number): ParseResult {
    let state = this.#state;
    let p = this.#pos;
    let mark = this.#mark;
    // Bytes at index >= limit cannot be part of an acceptable head.
    let limit = state <= S_LEADING_LF ? NO_LIMIT : this.#limit;
    let end = Math.min(length, limit);

    for (;;) {
      switch (state) {
        case S_LEADING: {
          if (p === length) break;
          const c = data[p]!;
          if (c === CR) {
            if (this.#leadingLines === MAX_LEADING_EMPTY_LINES) {
              return this.#fail(400, 'Too many empty lines before the request-line');
            }
            p++;
            state = S_LEADING_LF;
            continue;
          }
          if ((CLASS[c]! & TOKEN) === 0) {
            return this.#fail(400, 'Invalid request-line: expected a method');
          }
          this.#headStart = mark = p;
          this.#limit = limit = p + this.#maxHeaderSize;
          end = Math.min(length, limit);
          state = S_METHOD;
          continue;
        }

        case S_LEADING_LF: {
          if (p === length) break;
          if (data[p] !== LF) return this.#fail(400, 'Invalid line ending: expected CRLF');
          this.#leadingLines++;
          p++;
          state = S_LEADING;
          continue;
        }

        case S_METHOD: {
          while (p < end && (CLASS[data[p]!]! & TOKEN) !== 0) p++;
          if (p - mark > MAX_METHOD_LENGTH) return this.#fail(501, 'Method not implemented');
          if (p === end) break;
          if (data[p] !== SP) return this.#fail(400, 'Invalid request-line: bad method');
          this.#methodEnd = p;
          mark = ++p;
          state = S_TARGET;
          continue;
        }

        case S_TARGET: {
          while (p < end && (CLASS[data[p]!]! & TARGET) !== 0) p++;
          if (p === end) break;
          if (data[p] !== SP) {
            return this.#fail(400, 'Invalid request-line: bad character in the request-target');
          }
          if (p === mark) return this.#fail(400, 'Invalid request-line: empty request-target');
          this.#targetStart = mark;
          this.#targetEnd = p;
          mark = ++p;
          state = S_VERSION;
          continue;
        }

        case S_VERSION: {
          // "HTTP/" DIGIT "." DIGIT CR LF (RFC 9112 §2.3, §3).
          while (p < end) {
            const c = data[p]!;
            const i = p - mark;
            if (i < 8) {
              const ok = i < 5 ? c === HTTP_NAME[i] : i === 6 ? c === 0x2e : c >= 0x30 && c <= 0x39;
              if (!ok) return this.#fail(400, 'Invalid request-line: bad HTTP version');
            } else if (c !== (i === 8 ? CR : LF)) {
              return this.#fail(400, 'Invalid request-line: expected CRLF after the version');
            }
            p++;
            if (i === 9) break;
          }
          if (p - mark < 10) break;
          // HTTP/1.0 and HTTP/1.1 only: no 1.x beyond 1.1 exists (RFC 9112 §2.3), and llhttp
          // refuses them too.
          if (data[mark + 5] !== 0x31 || data[mark + 7]! > 0x31) {
            return this.#fail(505, 'HTTP version not supported');
          }
          state = S_LINE_START;
          continue;
        }

        case S_LINE_START: {
          if (p === end) break;
          const c = data[p]!;
          if (c === CR) {
            p++;
            state = S_END_LF;
            continue;
          }
          const bits = CLASS[c]!;
          if ((bits & TOKEN) === 0) {
            if (isOws(c)) {
              return this.#fail(400, 'Obsolete line folding (obs-fold) is not accepted');
            }
            return this.#fail(400, 'Invalid header field name');
          }
          if (this.#fields.length === 4 * this.#maxHeaders) {
            return this.#fail(431, 'Too many header fields');
          }
          mark = p++;
          state = S_NAME;
          continue;
        }

        case S_NAME: {
          while (p < end && (CLASS[data[p]!]! & TOKEN) !== 0) p++;
          if (p === end) break;
          if (data[p] !== COLON) {
            // RFC 9112 §5.1: whitespace between the name and the colon MUST be a 400.
            return this.#fail(
              400,
              isOws(data[p]!)
                ? 'Whitespace between a header field name and the colon'
                : 'Invalid header field name',
            );
          }
          this.#fields.push(mark, p);
          mark = ++p;
          state = S_VALUE;
          continue;
        }

        case S_VALUE: {
          // field-vchar / SP / HTAB: anything but CTLs other than HTAB (RFC 9110 §5.5).
          while (p < end) {
            const c = data[p]!;
            if (c < 0x20 ? c !== HTAB : c === 0x7f) break;
            p++;
          }
          if (p === end) break;
          if (data[p] !== CR) return this.#fail(400, 'Invalid character in a header field value');
          // OWS around the value is not part of it (RFC 9112 §5.1).
          let valueStart = mark;
          let valueEnd = p;
          while (valueStart < valueEnd && isOws(data[valueStart]!)) valueStart++;
          while (valueEnd > valueStart && isOws(data[valueEnd - 1]!)) valueEnd--;
          this.#fields.push(valueStart, valueEnd);
          p++;
          state = S_FIELD_LF;
          continue;
        }

        case S_FIELD_LF: {
          if (p === end) break;
          if (data[p] !== LF) return this.#fail(400, 'Invalid line ending: expected CRLF');
          p++;
          state = S_LINE_START;
          continue;
        }

        case S_END_LF: {
          if (p === end) break;
          if (data[p] !== LF) return this.#fail(400, 'Invalid line ending: expected CRLF');
          p++;
          const head = this.#build(data, p);
          if (typeof head === 'string') return this.#fail(400, head);
          this.#finish();
          return { state: 'complete', head, bodyOffset: p - base };
        }
      }

      // Out of bytes in the current state.
      if (p === limit) {
        return state <= S_VERSION
          ? this.#fail(414, 'Request-line too long')
          : this.#fail(431, 'Request header fields too large');
      }
      this.#state = state;
      this.#pos = p;
      this.#mark = mark;
      return INCOMPLETE;
    }
  }

  /**
   * The strings of a complete head that ends at data[headEnd - 1], or why it is refused (a
   * 400): a request-target of the wrong form, a field that may not be repeated, or an invalid
   * Host or Content-Length.
   */
  #build(data: Uint8Array, headEnd: number): ParsedRequestHead | string {
    const headStart = this.#headStart;
    // One decoding for the whole head; the parts are substrings of it.
    const text = latin1Slice.call(data, headStart, headEnd);
    const version = data[this.#targetEnd + 8]! - 0x30;
    const fields = this.#fields;
    const rawHeaders: string[] = [];
    const method = text.slice(0, this.#methodEnd - headStart);
    const url = text.slice(this.#targetStart - headStart, this.#targetEnd - headStart);
    if (!isRequestTarget(method, url)) return 'Invalid request-target';
    // A plain object, as http.IncomingMessage's: code written for the http path may call
    // `headers.hasOwnProperty(...)`. Inherited names are no field (Object.hasOwn below).
    const headers: Record<string, string | string[]> = {};
    for (let i = 0; i < fields.length; i += 4) {
      const value = text.slice(fields[i + 2]! - headStart, fields[i + 3]! - headStart);
      const raw = text.slice(fields[i]! - headStart, fields[i + 1]! - headStart);
      rawHeaders.push(raw, value);
      const known = knownName(raw);
      let name: string;
      let kind: number;
      if (known !== undefined) {
        name = known.lower;
        kind = known.kind;
      } else {
        // A token is ASCII, so toLowerCase is the ASCII lower case here.
        name = raw.toLowerCase();
        kind = KIND.get(name) ?? JOIN;
      }
      // Node drops a field named __proto__ (its assignment would set the prototype).
      if (name === '__proto__') continue;
      const previous = Object.hasOwn(headers, name) ? headers[name] : undefined;
      if (SINGLE.has(name)) {
        // RFC 9112 §3.2 (Host), §6.3 (framing: two lengths let two parsers disagree on where
        // the request ends), RFC 6454 §7.3 (one Origin, never joined into one value).
        if (previous !== undefined) return `Repeated ${raw} header`;
        if (name === 'host' && !HOST.test(value)) return 'Invalid Host header';
        // Digits only, and few enough to be exact (llhttp refuses an overflow of 64 bits).
        if (name === 'content-length' && !/^\d{1,15}$/.test(value)) {
          return 'Invalid Content-Length header';
        }
        // RFC 9112 §6.3: a request whose final coding is not chunked has no reliable length.
        if (name === 'transfer-encoding' && !/(?:^|,)[ \t]*chunked$/i.test(value)) {
          return 'Invalid Transfer-Encoding header';
        }
        if (name === 'transfer-encoding' && Object.hasOwn(headers, 'content-length')) {
          return 'Both Transfer-Encoding and Content-Length';
        }
        if (name === 'content-length' && Object.hasOwn(headers, 'transfer-encoding')) {
          return 'Both Transfer-Encoding and Content-Length';
        }
        headers[name] = value;
        continue;
      }
      if (previous === undefined) {
        headers[name] = kind === ARRAY ? [value] : value;
      } else if (kind === JOIN) {
        headers[name] = `${previous as string}, ${value}`;
      } else if (kind === SEMI) {
        headers[name] = `${previous as string}; ${value}`;
      } else if (kind === ARRAY) {
        (previous as string[]).push(value);
      }
      // FIRST: a repeated field is dropped, as Node does.
    }
    return {
      method,
      url,
      httpVersion: version === 1 ? '1.1' : `1.${version}`,
      httpVersionMajor: 1,
      httpVersionMinor: version,
      headers,
      rawHeaders,
    };
  }
}
