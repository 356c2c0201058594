/**
 * Issue 13: fuzzing of the transport-neutral upgrade step (src/handshake/upgrade.ts) on
 * arbitrary header lists, HTTP/1.1 and RFC 8441 shaped: the check never throws and gives an
 * accept or a 4xx refusal; an accepted request is accepted again with any fields appended
 * that the check does not read; every result serializes to one well-formed HTTP/1.1 answer.
 * Counts scale with FUZZ_RUNS (npm run fuzz).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  acceptUpgrade,
  checkUpgradeRequest,
  type HeaderField,
  serializeUpgradeResponse,
  type UpgradeRequestHead,
} from '../../src/handshake/index.js';
import { runs } from '../helpers/fuzz.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const NAMES = [
  'Host',
  'host',
  'Upgrade',
  'UPGRADE',
  'Connection',
  'connection',
  'Sec-WebSocket-Key',
  'Sec-WebSocket-Version',
  'sec-websocket-version',
  'Origin',
  'Sec-WebSocket-Protocol',
  'Sec-WebSocket-Extensions',
  'Content-Length',
  'Transfer-Encoding',
  'Keep-Alive',
  'X-Other',
  '__proto__',
  'constructor',
];
const VALUES = [
  '',
  ' ',
  'websocket',
  'WebSocket, h2c',
  'Upgrade',
  'keep-alive, upgrade',
  KEY,
  '13',
  '8',
  '0',
  '5',
  'chunked',
  'https://a.example',
  'chat, superchat',
  'a b',
  ',,',
  'permessage-deflate; client_max_window_bits',
  'permessage-deflate; server_max_window_bits=20',
  'x; a="b"',
  'x; a="',
];

const textArb = fc.string({ maxLength: 24, unit: 'binary' });
const fieldArb: fc.Arbitrary<HeaderField> = fc.tuple(
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: textArb }),
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...VALUES) }, { weight: 1, arbitrary: textArb }),
);
/** Mostly valid requests with arbitrary fields added, sometimes only arbitrary fields. */
const headersArb = fc.oneof(
  fc.array(fieldArb, { maxLength: 12 }),
  fc
    .tuple(fc.array(fieldArb, { maxLength: 4 }), fc.array(fieldArb, { maxLength: 4 }))
    .map(([before, after]) => [
      ...before,
      ['Host', 'h'] as HeaderField,
      ['Upgrade', 'websocket'] as HeaderField,
      ['Connection', 'Upgrade'] as HeaderField,
      ['Sec-WebSocket-Key', KEY] as HeaderField,
      ['Sec-WebSocket-Version', '13'] as HeaderField,
      ...after,
    ]),
);
const headArb: fc.Arbitrary<UpgradeRequestHead> = fc.oneof(
  fc.record({
    method: fc.constantFrom('GET', 'get', 'POST', 'CONNECT', ''),
    target: fc.constantFrom('/', '/chat?x', '*', ''),
    httpVersion: fc.constantFrom('1.1', '1.0', '2.0', 'x'),
    headers: headersArb,
  }),
  fc.record({
    method: fc.constantFrom('CONNECT', 'GET'),
    target: fc.constantFrom('/', '/chat', ''),
    httpVersion: fc.constant('2'),
    protocol: fc.constantFrom('websocket', 'WebSocket', ''),
    scheme: fc.constantFrom('https', 'http', ''),
    authority: fc.option(fc.constantFrom('a.example', ''), { nil: undefined }),
    headers: headersArb,
  }),
);

/** One HTTP/1.1 status line, fields without CR or LF, the blank line, and the body. */
function wellFormed(text: string, status: number): void {
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'a head that ends');
  const [line, ...fields] = text.slice(0, end).split('\r\n');
  assert.match(line!, new RegExp(`^HTTP/1\\.1 ${status} \\S`));
  for (const f of fields) assert.match(f, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [\t\x20-\x7e]*$/);
  if (status !== 101) {
    const length = /\r\nContent-Length: (\d+)\r\n/.exec(text);
    assert.ok(length, 'a Content-Length');
    assert.equal(Buffer.byteLength(text.slice(end + 4)), Number(length[1]));
  }
}

describe('the upgrade step on arbitrary header lists', () => {
  it('never throws; accepts, or refuses with a 4xx that serializes well', () => {
    fc.assert(
      fc.property(headArb, (head) => {
        const result = checkUpgradeRequest(head);
        if (!result.ok) {
          assert.ok(result.status >= 400 && result.status < 500, String(result.status));
          assert.equal(typeof result.reason, 'string');
          wellFormed(serializeUpgradeResponse(result), result.status);
          return;
        }
        assert.equal(result.http2, head.protocol !== undefined);
        assert.equal(result.key === undefined, result.http2);
        const accepted = acceptUpgrade(result, {
          protocol: result.protocols[0],
          negotiate: (offers) => ({ response: offers[0]!.name, agreed: offers }),
        });
        assert.equal(accepted.status, result.http2 ? 200 : 101);
        if (!result.http2) wellFormed(serializeUpgradeResponse(accepted), 101);
      }),
      { numRuns: runs(3000) },
    );
  });

  it('reads only its fields: others appended anywhere do not change the answer', () => {
    const otherArb = fc.array(
      fc.tuple(fc.constantFrom('X-Other', 'Cookie', 'User-Agent', 'Accept'), textArb),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(headArb, otherArb, fc.nat(), (head, others, at) => {
        const headers = [...head.headers];
        headers.splice(at % (headers.length + 1), 0, ...others);
        const before = checkUpgradeRequest(head);
        const after = checkUpgradeRequest({ ...head, headers });
        assert.deepEqual(after, before);
      }),
      { numRuns: runs(1000) },
    );
  });
});
