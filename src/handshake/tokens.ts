/**
 * Tokens and comma-separated token lists of HTTP header fields (RFC 7230 §3.2.6, §7), as used
 * by `Upgrade`, `Connection` and `Sec-WebSocket-Protocol`.
 */

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
// "~" / DIGIT / ALPHA (RFC 7230 §3.2.6).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `s` is a non-empty `token` (RFC 7230 §3.2.6). */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

const TCHAR = new Uint8Array(0x80);
for (let c = 0; c < 0x80; c++) TCHAR[c] = TOKEN.test(String.fromCharCode(c)) ? 1 : 0;

/** Whether char code `c` is a `tchar` (RFC 7230 §3.2.6). */
export function isTokenChar(c: number): boolean {
  return c < 0x80 && TCHAR[c] === 1;
}

/** Whether `c` is optional whitespace: SP or HTAB (RFC 7230 §3.2.3). */
export function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** `s` without leading and trailing OWS (only SP and HTAB, unlike `String#trim`). */
export function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/**
 * Repeated header lines as one value: a list field may be split across lines (RFC 7230 §3.2.2).
 * Blank lines add nothing, so they add no comma either.
 */
export function joinHeaderValue(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return value.filter((line) => trimOws(line) !== '').join(', ');
}

/**
 * The elements of a comma-separated list (`#element`, RFC 7230 §7): split at commas, OWS
 * trimmed, empty elements dropped (a recipient must accept them), case kept. The elements are
 * not checked to be tokens: `Upgrade` holds `protocol/version` pairs; callers that need
 * tokens check with `isToken`.
 */
export function parseTokenList(value: string | string[] | undefined): string[] {
  const out: string[] = [];
  for (const part of joinHeaderValue(value).split(',')) {
    const element = trimOws(part);
    if (element !== '') out.push(element);
  }
  return out;
}

/**
 * ASCII-only lower case: header tokens compare case-insensitively in ASCII only, so
 * `'websoc\u212Aet'` (KELVIN SIGN) must not match `websocket` as `toLowerCase` would make it.
 */
export function asciiLowerCase(s: string): string {
  // On ASCII, toLowerCase changes A-Z only (and is native); header names are ASCII.
  return ASCII.test(s)
    ? s.toLowerCase()
    : s.replace(/[A-Z]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) | 0x20));
}

const ASCII = /^[\x00-\x7f]*$/;

/** Whether the list `value` holds `token`, compared ASCII case-insensitively (RFC 7230 §6.1, §6.7). */
export function hasToken(value: string | string[] | undefined, token: string): boolean {
  const wanted = asciiLowerCase(token);
  return parseTokenList(value).some((element) => asciiLowerCase(element) === wanted);
}
