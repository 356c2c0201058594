/**
 * Issue 11: fuzzing of what a server reads from a peer before the upgrade, and of the
 * refusals it builds from what the application gives.
 * - The request-head parser against llhttp (Node's own parser) on mostly INVALID input: tsws
 *   must be as strict or stricter (never accept a head llhttp refuses), and read an accepted
 *   head's request-line as llhttp does.
 * - The Sec-WebSocket-Extensions and Sec-WebSocket-Protocol parsers: any input gives a list or
 *   the documented HandshakeError, never a throw; formatting then parsing gives the list back.
 * - Refusals from arbitrary application statuses, reasons and headers: never a throw, always
 *   one well-formed HTTP/1.1 response.
 * Counts scale with FUZZ_RUNS (npm run fuzz); the numbers run are in docs/robustness.md.
 */
import assert from 'node:assert/strict';
import { METHODS } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type ExtensionOffer,
  formatExtensionHeader,
  HandshakeError,
  parseExtensionHeader,
  parseSubprotocolHeader,
  RequestHeadParser,
} from '../../src/handshake/index.js';
import { rejectionResponse } from '../../src/node/server/upgrade-rejection.js';
import { runs } from '../helpers/fuzz.js';
import { LlhttpOracle } from '../helpers/llhttp-oracle.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const tokenArb = fc
  .array(fc.constantFrom(...TCHARS), { minLength: 1, maxLength: 10 })
  .map((c) => c.join(''));
/** Any bytes, as a latin1 string (one char per byte). */
const bytesArb = (maxLength: number) =>
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength }).map((b) => String.fromCharCode(...b));

// ---- the request head, against llhttp ----

/** Mostly printable ASCII, sometimes obs-text. */
const printableArb = fc
  .array(
    fc.oneof(
      { weight: 10, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
      { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    ),
    { maxLength: 12 },
  )
  .map((b) => String.fromCharCode(...b));

const FIELD_VALUES: Record<string, string[]> = {
  'Content-Length': [
    '0',
    '5',
    '',
    '0x5',
    '-1',
    '+1',
    '1,1',
    '0, 0',
    '00',
    ' 1',
    '18446744073709551616',
  ],
  'Transfer-Encoding': [
    'chunked',
    'gzip',
    'chunked, gzip',
    'gzip, chunked',
    'identity',
    '',
    'CHUNKED',
  ],
  Expect: ['100-continue', 'foo', ''],
  Host: ['a', 'a:80', '[::1]:8', 'ex\xe9mple', 'a b', '', 'a@b', 'a:', 'a:x', '1.2.3.4'],
  Origin: ['https://a.example', 'null', ''],
  Upgrade: ['websocket'],
  Connection: ['Upgrade', 'close', 'keep-alive, Upgrade'],
};
const fieldArb = fc.oneof(
  {
    weight: 16,
    arbitrary: fc
      .constantFrom(...Object.keys(FIELD_VALUES))
      .chain((name) =>
        fc.tuple(
          fc.constantFrom(name, name.toLowerCase(), name.toUpperCase()),
          fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom(...FIELD_VALUES[name]!) },
            { weight: 1, arbitrary: bytesArb(6) },
          ),
        ),
      ),
  },
  { weight: 3, arbitrary: fc.tuple(tokenArb, printableArb) },
  { weight: 1, arbitrary: fc.tuple(tokenArb, bytesArb(8)) },
  // Names off the grammar.
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom(' Host', 'Host ', 'Ho st', 'X\x00', 'X\xe9', '', 'X:Y', 'X\t'),
      bytesArb(4),
    ),
  },
);
const requestArb = fc.record({
  leading: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, fc.constantFrom('\r\n', '\n')),
  method: fc.constantFrom(
    'GET',
    'GET',
    'POST',
    'OPTIONS',
    'CONNECT',
    'get',
    'G\x00T',
    'PRI',
    'FOO',
  ),
  sp: fc.oneof({ weight: 12, arbitrary: fc.constant(' ') }, fc.constantFrom('  ', '\t')),
  target: fc.oneof(
    fc.constantFrom('/', '/a?b=c', '*', '@p', '..', 'evil.example:80', 'http://a.example/x'),
    fc.constantFrom('http:/x', '//a', 'a', '/a#f', 'HTTP://A.example', '/\xe9', '/%', 'x:1'),
    bytesArb(6).map((s) => `/${s}`),
  ),
  version: fc.oneof(
    { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
    fc.constantFrom(
      'HTTP/1.0',
      'HTTP/1.2',
      'HTTP/1.9',
      'HTTP/2.0',
      'HTTP/0.9',
      'http/1.1',
      'HTTP/1',
      'HTTP/11.1',
      'HTTP/1.1 ',
    ),
  ),
  eol: fc.oneof({ weight: 30, arbitrary: fc.constant('\r\n') }, fc.constantFrom('\n', '\r')),
  fields: fc.array(fieldArb, { maxLength: 6 }),
  ows: fc.constantFrom('', ' ', '\t', '  '),
});

type Request = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function requestText(r: Request): string {
  let text = `${r.leading}${r.method}${r.sp}${r.target} ${r.version}\r\n`;
  for (const [name, value] of r.fields) text += `${name}:${r.ows}${value}${r.eol}`;
  return `${text}\r\n`;
}

describe('the request-head parser against llhttp, on invalid input too', {
  timeout: 600_000,
}, () => {
  const oracle = new LlhttpOracle();
  before(() => oracle.start());
  after(() => oracle.stop());

  it('never accepts a head llhttp refuses, and reads the request-line as llhttp does', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const input = Buffer.from(requestText(request), 'latin1');
        const ours = new RequestHeadParser().feed(input);
        // A method llhttp does not know is still a token to our parser; the server answers it
        // with 405 before anything else (validateUpgradeRequest), so the server is as strict.
        if (ours.state !== 'complete' || !METHODS.includes(ours.head.method)) {
          refused++;
          return;
        }
        accepted++;
        const node = await oracle.parse(input);
        assert.ok(node.ok, `llhttp refused (${node.ok ? '' : node.error}) what we accept`);
        assert.deepEqual(
          [ours.head.method, ours.head.url, ours.head.httpVersion],
          [node.method, node.url, node.httpVersion],
        );
      }),
      { numRuns: runs(300) },
    );
    // The generator must reach both outcomes, or the property says little.
    assert.ok(accepted > 0 && refused > 0, `${accepted} accepted, ${refused} refused`);
    if (process.env.FUZZ_VERBOSE)
      console.log(`llhttp differential: ${accepted} accepted, ${refused} refused`);
  });
});

// ---- Sec-WebSocket-Extensions and Sec-WebSocket-Protocol ----

/** Strings made of the characters these grammars care about, and some they do not. */
const headerTextArb = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...TCHARS, ';', ',', '=', '"', '\\', ' ', '\t') },
      { weight: 1, arbitrary: fc.constantFrom('\r', '\n', '\x00', '\x7f', 'é', '😀', '\ud800') },
      { weight: 1, arbitrary: fc.constantFrom('permessage-deflate', 'client_max_window_bits') },
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));
const headerValueArb = fc.oneof(
  fc.constant(undefined),
  headerTextArb,
  fc.array(headerTextArb, { maxLength: 3 }),
);

describe('the Sec-WebSocket-Extensions parser', () => {
  it('gives a list or the documented HandshakeError for any input, never a throw', () => {
    fc.assert(
      fc.property(headerValueArb, (value) => {
        const result = parseExtensionHeader(value);
        if (result instanceof HandshakeError) {
          assert.equal(result.code, 'WS_ERR_INVALID_EXTENSION_HEADER');
        } else {
          assert.ok(Array.isArray(result));
          // What it accepted formats and parses back to the same list.
          assert.deepEqual(parseExtensionHeader(formatExtensionHeader(result)), result);
        }
      }),
      { numRuns: runs(2000) },
    );
  });

  it('round-trips any list of extensions (values quoted or not)', () => {
    const offerArb = fc
      .record({
        name: tokenArb,
        params: fc.array(fc.tuple(tokenArb, fc.oneof(fc.constant<true>(true), tokenArb)), {
          maxLength: 4,
        }),
      })
      .map(({ name, params }): ExtensionOffer => ({ name, params }));
    fc.assert(
      fc.property(
        fc.array(offerArb, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (offers, quote) => {
          let text = formatExtensionHeader(offers as ExtensionOffer[]);
          if (quote) text = text.replace(/=([^;,\s]+)/g, '="$1"');
          assert.deepEqual(parseExtensionHeader(text), offers);
        },
      ),
      { numRuns: runs(1000) },
    );
  });
});

describe('the Sec-WebSocket-Protocol parser', () => {
  it('gives a list or the documented HandshakeError for any input, never a throw', () => {
    fc.assert(
      fc.property(headerValueArb, (value) => {
        const result = parseSubprotocolHeader(value);
        if (result instanceof HandshakeError) {
          assert.equal(result.code, 'WS_ERR_INVALID_SUBPROTOCOL');
        } else {
          assert.ok(result.every((p) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)));
          assert.equal(new Set(result).size, result.length);
        }
      }),
      { numRuns: runs(2000) },
    );
  });

  it('round-trips any list of distinct tokens, on one line or several', () => {
    fc.assert(
      fc.property(fc.uniqueArray(tokenArb, { maxLength: 6 }), fc.boolean(), (protocols, split) => {
        const value = split ? protocols : protocols.join(', ');
        assert.deepEqual(parseSubprotocolHeader(value), protocols);
      }),
      { numRuns: runs(1000) },
    );
  });
});

// ---- refusals built from what the application gives ----

const RESPONSE =
  /^HTTP\/1\.1 ([3-5]\d\d) [^\r\n]*\r\n((?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [\t\x20-\x7e]*\r\n)*)\r\n/;

describe('refusals from arbitrary application statuses and headers', () => {
  const anyValue = fc.oneof(
    fc.string({ maxLength: 12 }),
    headerTextArb,
    fc.integer(),
    fc.double(),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, null, undefined, true, {}, []),
    fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 3 }),
  );
  const headersArb = fc.oneof(
    fc.dictionary(
      fc.oneof(
        tokenArb,
        fc.string({ maxLength: 8 }),
        fc.constantFrom('Content-Length', 'connection', 'Upgrade'),
      ),
      anyValue,
      { maxKeys: 4 },
    ),
    fc.constantFrom(undefined, null, 'x', 5),
  );
  it('never throw, and always give one well-formed HTTP/1.1 response', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 250, max: 650 }), fc.integer(), fc.double()),
        fc.oneof(fc.constant(undefined), fc.string({ maxLength: 20 }), textish()),
        headersArb,
        (status, reason, headers) => {
          const { response, error } = rejectionResponse(status, reason, headers);
          const match = RESPONSE.exec(response);
          assert.ok(match, JSON.stringify(response));
          const body = response.slice(match[0].length);
          const length = /\r\nContent-Length: (\d+)\r\n/.exec(`\r\n${match[2]}`);
          assert.equal(Number(length?.[1]), Buffer.byteLength(body));
          assert.equal((match[2]!.match(/^content-length:/gim) ?? []).length, 1);
          if (error === undefined) assert.equal(Number(match[1]), status);
          else assert.equal(match[1], '500');
        },
      ),
      { numRuns: runs(2000) },
    );
  });
});

function textish(): fc.Arbitrary<string> {
  return fc.string({ unit: 'binary', maxLength: 20 });
}
