// Every way Chromium and tsws's WHATWG classes are known to differ, by name, with the reason,
// and how a log is normalized so the rest still compares. A scenario lists the ones it meets;
// compareLogs fails if a listed one is not needed. Two reasons only are accepted:
// - Node cannot do what a page does (no document, no origin, no trusted events);
// - a published standard (the WebSockets Standard, WebIDL, RFC 6455) says otherwise than
//   Chromium, and tsws follows the standard (the text is cited).
// WebSocketStream and WebSocketError have none: they are a proposal (whatwg/websockets#48, not
// in the published standard), so tsws does what Chromium, which ships them, does.
import {
  type Entry,
  type KnownDifference,
  knownDifference,
  replaceDeep,
} from './browser-harness.js';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Removes `keys` from every top-level entry of a log. */
export function dropKeys(log: Entry[], keys: string[]): Entry[] {
  return log.map((entry) => {
    if (!isObject(entry)) return entry;
    const copy = { ...entry };
    for (const key of keys) delete copy[key];
    return copy;
  });
}

/** Replaces the value of every top-level `{ [key]: value }` whose key matches. */
export function replaceValues(log: Entry[], key: RegExp, replacement: string): Entry[] {
  return log.map((entry) => {
    if (!isObject(entry)) return entry;
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) copy[k] = key.test(k) ? replacement : v;
    return copy;
  });
}

/** Replaces the entries `{ case, ... }` of the listed cases by the name of the difference. */
export function replaceCases(log: Entry[], cases: string[], difference: string): Entry[] {
  return log.map((entry) =>
    isObject(entry) && cases.includes(entry.case as string)
      ? { case: entry.case, knownDifference: difference }
      : entry,
  );
}

// ---- the API ----

/** `new WebSocket('/path')`: resolved against the page, or refused in Node. */
export const relativeUrl = knownDifference(
  'relative URLs',
  'a page resolves the URL against its document base URL (WebSockets, "new WebSocket(url, ' +
    'protocols)" step 1: "API base URL"); Node has no document, so tsws can only refuse it as ' +
    'an invalid URL',
  (log) => replaceValues(log, /^relative/, 'resolved against the page, or refused'),
);

/** `close(undefined, ...)`: Chromium converts an explicit undefined code to 0. */
export const explicitUndefinedCode = (cases: string[]) =>
  knownDifference(
    'explicit undefined code',
    "Chromium's bindings take an explicit undefined as a given code and convert it with " +
      '[Clamp] to 0, so close(undefined, ...) throws InvalidAccessError. In WebIDL an explicit ' +
      'undefined passed for an optional argument is "missing" (the overload resolution ' +
      'algorithm), and WebSockets close() step 1 checks the code only "if code is present", so ' +
      'tsws closes without a code; with a reason it sends 1000 and the reason (a close frame ' +
      'cannot carry a reason without a code, RFC 6455 §5.5.1)',
    (log) => replaceCases(log, cases, 'explicit undefined code'),
  );

/** [Clamp] on a fractional close code: Chromium truncates, WebIDL rounds (ties to even). */
export const clampRounds = (cases: string[]) =>
  knownDifference(
    '[Clamp] rounds',
    'close(optional [Clamp] unsigned short code) in the WebSockets Standard; WebIDL [Clamp] ' +
      '(ConvertToInt) rounds to the nearest integer, ties to even: 1000.6 is 1001 (refused), ' +
      '2999.5 is 3000 (valid), 3000.9 is 3001. Chromium truncates instead (1000, 2999, 3000). ' +
      'tsws follows WebIDL',
    (log) => replaceCases(log, cases, '[Clamp] rounds'),
  );

/** `new CloseEvent(type, { reason })` with a lone surrogate. */
export const closeEventReason = knownDifference(
  'CloseEventInit reason',
  'the WebSockets Standard\'s IDL ("The CloseEvent interface": `USVString reason` in ' +
    "CloseEventInit) turns lone surrogates into U+FFFD, which tsws follows; Chromium's IDL has " +
    'a DOMString and keeps them. Only the constructor can tell: a reason from the network is ' +
    'always decoded UTF-8',
  (log) =>
    replaceDeep(
      log,
      (key, value) => key === 'reason' && typeof value === 'string' && /\uFFFD|\uD800/.test(value),
      () => 'a lone surrogate, or U+FFFD',
    ),
);

/** Event.isTrusted. */
export const isTrusted = knownDifference(
  'isTrusted',
  'events the browser dispatches are trusted; in Node only the runtime itself can make an ' +
    'Event whose isTrusted is true, so every event a library dispatches has it false',
  (log) => dropKeys(log, ['isTrusted']),
);

// ---- the wire (not visible to the page, seen by the test server) ----

export const origin = knownDifference(
  'Origin',
  "a page's fetch sends its document's origin (Fetch: the request's origin); a Node process " +
    'has no origin (tsws sends one only when given the Node-only `origin` option)',
  (log) => dropKeys(log, ['origin']),
);

export const userAgent = knownDifference(
  'User-Agent',
  "Chromium names itself; Node's http client sends no User-Agent, and scripts see neither",
  (log) => dropKeys(log, ['userAgent']),
);

export const browserHeaders = knownDifference(
  'browser request headers',
  'Chromium adds its usual request headers (Cache-Control, Pragma, Accept-Encoding, ' +
    'Accept-Language); they belong to the browser, not to the WebSocket API',
  (log) => dropKeys(log, ['cacheControl', 'pragma', 'acceptEncoding', 'acceptLanguage']),
);

export const invalidUtf8CloseCode = knownDifference(
  'close code for invalid UTF-8',
  'on the wire only (the page sees 1006 either way): Chromium fails the connection with ' +
    '1002, tsws with 1007, the code RFC 6455 §7.4.1 gives to "data within a message that was ' +
    'not consistent with the type of the message (e.g., non-UTF-8 [RFC3629] data within a ' +
    'text message)"',
  (log) =>
    replaceDeep(
      log,
      (key, value) => key === 'code' && (value === 1002 || value === 1007),
      () => '1002 or 1007',
    ),
);

export type { KnownDifference };
