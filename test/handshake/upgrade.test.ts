import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptUpgrade,
  asksForUpgrade,
  type CheckedUpgrade,
  checkOrigin,
  checkUpgradeRequest,
  type ExtensionOffer,
  HandshakeError,
  type HeaderField,
  originCheck,
  refuseUpgrade,
  serializeUpgradeResponse,
  type UpgradeRefusal,
  type UpgradeRequestHead,
  upgradeRequired,
} from '../../src/handshake/index.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

const H1_FIELDS: HeaderField[] = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Version', '13'],
];

/** An HTTP/1.1 upgrade request: the defaults without the names in `drop`, then `extra`. */
function h1(
  extra: HeaderField[] = [],
  drop: string[] = [],
  fields: Partial<UpgradeRequestHead> = {},
) {
  const headers = H1_FIELDS.filter(([name]) => !drop.includes(name.toLowerCase()));
  return { method: 'GET', target: '/chat', headers: [...headers, ...extra], ...fields };
}

/** An RFC 8441 extended CONNECT, as an HTTP/2 binding would pass it (lower-case names). */
function h2(extra: HeaderField[] = [], fields: Partial<UpgradeRequestHead> = {}) {
  return {
    method: 'CONNECT',
    target: '/chat',
    httpVersion: '2.0',
    protocol: 'websocket',
    scheme: 'https',
    authority: 'server.example.com',
    headers: [['sec-websocket-version', '13'] as HeaderField, ...extra],
    ...fields,
  };
}

function checked(head: UpgradeRequestHead): CheckedUpgrade {
  const result = checkUpgradeRequest(head);
  if (!result.ok) assert.fail(`refused: ${result.status} ${result.reason}`);
  return result;
}

function refused(head: UpgradeRequestHead, status: number, reason?: RegExp): UpgradeRefusal {
  const result = checkUpgradeRequest(head);
  if (result.ok) assert.fail(`accepted, expected ${status}`);
  assert.equal(result.status, status, result.reason);
  if (reason !== undefined) assert.match(result.reason, reason);
  assert.equal(result.body, result.reason);
  return result;
}

function field(fields: readonly HeaderField[], name: string): string[] {
  return fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

describe('checkUpgradeRequest: HTTP/1.1 (RFC 6455 §4.2.1)', () => {
  it('accepts a valid request and reads key, offers and origin from the list', () => {
    const result = checked(
      h1([
        ['Origin', 'https://example.com'],
        ['Sec-WebSocket-Protocol', 'chat, superchat'],
        ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
      ]),
    );
    assert.equal(result.http2, false);
    assert.equal(result.key, KEY);
    assert.equal(result.target, '/chat');
    assert.deepEqual(result.protocols, ['chat', 'superchat']);
    assert.deepEqual(
      result.extensions.map((offer) => offer.name),
      ['permessage-deflate'],
    );
    assert.equal(result.origin, 'https://example.com');
  });

  it('reads names in any ASCII case, and list fields over repeated lines', () => {
    const result = checked(
      h1(
        [
          ['HOST', 'a'],
          ['upgrade', 'foo'],
          ['UPGRADE', 'WebSocket'],
          ['connection', 'keep-alive'],
          ['CONNECTION', 'upgrade'],
          ['sec-websocket-key', KEY],
          ['SEC-WEBSOCKET-VERSION', '13'],
          ['Sec-WebSocket-Protocol', 'a'],
          ['sec-websocket-protocol', 'b'],
        ],
        ['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version'],
      ),
    );
    assert.deepEqual(result.protocols, ['a', 'b']);
  });

  it('refuses a method other than GET with 405 and Allow: GET', () => {
    for (const method of ['POST', 'get', 'CONNECT', '']) {
      const result = refused(h1([], [], { method }), 405);
      assert.deepEqual(field(result.headers, 'allow'), ['GET']);
    }
  });

  it('refuses HTTP/1.0 and malformed versions with 400, accepts 1.1 and higher', () => {
    for (const httpVersion of ['1.0', '0.9', 'x', '']) {
      refused(h1([], [], { httpVersion }), 400, /HTTP\/1\.1/);
    }
    for (const httpVersion of ['1.1', '1.2', '2.0', '3']) checked(h1([], [], { httpVersion }));
  });

  it('refuses a missing, empty or repeated Host with 400 (RFC 7230 §5.4)', () => {
    refused(h1([], ['host']), 400, /Host/);
    refused(h1([['Host', '']], ['host']), 400, /Host/);
    refused(h1([['Host', 'b']]), 400, /Host/);
  });

  it('refuses a declared body with 400 (request smuggling)', () => {
    refused(h1([['Content-Length', '5']]), 400, /body/);
    refused(h1([['Transfer-Encoding', 'chunked']]), 400, /body/);
    refused(
      h1([
        ['Content-Length', '0'],
        ['Content-Length', '3'],
      ]),
      400,
      /body/,
    );
    checked(h1([['Content-Length', '0']]));
  });

  it('refuses a missing or wrong Upgrade, Connection or Sec-WebSocket-Key with 400', () => {
    refused(h1([], ['upgrade']), 400, /Upgrade header/);
    refused(h1([['Upgrade', 'h2c']], ['upgrade']), 400, /Upgrade header/);
    refused(h1([], ['connection']), 400, /Connection header/);
    refused(h1([['Connection', 'keep-alive']], ['connection']), 400, /Connection header/);
    refused(h1([], ['sec-websocket-key']), 400, /Sec-WebSocket-Key/);
    refused(h1([['Sec-WebSocket-Key', 'short']], ['sec-websocket-key']), 400, /Sec-WebSocket-Key/);
    refused(h1([['Sec-WebSocket-Key', KEY]]), 400, /Sec-WebSocket-Key/);
  });

  it('refuses a missing, repeated or other version with 426, Sec-WebSocket-Version and Upgrade', () => {
    const versions: HeaderField[][] = [[], [['Sec-WebSocket-Version', '8']]];
    for (const extra of versions) {
      const result = refused(h1(extra, ['sec-websocket-version']), 426, /Sec-WebSocket-Version/);
      assert.deepEqual(field(result.headers, 'sec-websocket-version'), ['13']);
      assert.deepEqual(field(result.headers, 'upgrade'), ['websocket']);
    }
    const repeated = h1([['Sec-WebSocket-Version', '13']]);
    refused(repeated, 426);
  });

  it('refuses a repeated Origin with 400 (RFC 6454 §7.3)', () => {
    refused(
      h1([
        ['Origin', 'https://a.example'],
        ['origin', 'https://a.example'],
      ]),
      400,
      /Origin/,
    );
  });

  it('refuses malformed Sec-WebSocket-Protocol and Sec-WebSocket-Extensions with 400', () => {
    refused(h1([['Sec-WebSocket-Protocol', 'a b']]), 400, /Sec-WebSocket-Protocol/);
    refused(h1([['Sec-WebSocket-Extensions', ';;']]), 400);
  });

  it('asksForUpgrade: plain requests (no Upgrade, or no Connection: upgrade) do not', () => {
    assert.equal(asksForUpgrade(h1()), true);
    assert.equal(asksForUpgrade(h1([], ['upgrade'])), false);
    assert.equal(asksForUpgrade(h1([], ['connection'])), false);
    assert.equal(asksForUpgrade(h1([['Connection', 'close']], ['connection'])), false);
  });
});

describe('checkUpgradeRequest: HTTP/2 extended CONNECT (RFC 8441 §4-5)', () => {
  it('accepts CONNECT with :protocol websocket, without key, Upgrade or Connection', () => {
    const result = checked(h2([['sec-websocket-protocol', 'chat']]));
    assert.equal(result.http2, true);
    assert.equal(result.key, undefined);
    assert.deepEqual(result.protocols, ['chat']);
  });

  it('takes Host when :authority is missing, and refuses when both are', () => {
    checked(h2([['host', 'server.example.com']], { authority: undefined }));
    refused(h2([], { authority: undefined }), 400, /authority/);
    refused(h2([], { authority: '' }), 400, /authority/);
  });

  it('refuses another method with 405 and Allow: CONNECT', () => {
    const result = refused(h2([], { method: 'GET' }), 405);
    assert.deepEqual(field(result.headers, 'allow'), ['CONNECT']);
  });

  it('refuses another :protocol, or no :scheme / :path, with 400', () => {
    refused(h2([], { protocol: 'h2c' }), 400, /:protocol/);
    refused(h2([], { scheme: undefined }), 400, /:scheme/);
    refused(h2([], { target: '' }), 400, /:path/);
  });

  it('refuses connection-specific fields with 400 (RFC 7540 §8.1.2.2)', () => {
    for (const name of ['connection', 'upgrade', 'keep-alive', 'proxy-connection']) {
      refused(h2([[name, 'x']]), 400, /Connection-specific/);
    }
  });

  it('refuses another version with 426 and Sec-WebSocket-Version, without Upgrade', () => {
    const result = refused(h2([['sec-websocket-version', '8']]), 426);
    assert.deepEqual(field(result.headers, 'sec-websocket-version'), ['13']);
    assert.deepEqual(field(result.headers, 'upgrade'), []);
  });

  it('refuses a repeated Origin and a body as over HTTP/1.1', () => {
    refused(
      h2([
        ['origin', 'https://a'],
        ['origin', 'https://b'],
      ]),
      400,
      /Origin/,
    );
    refused(h2([['content-length', '1']]), 400, /body/);
  });
});

describe('checkOrigin (the origins / allowMissingOrigin policy)', () => {
  const policy = originCheck(['https://good.example', /^https:\/\/.*\.good\.example$/], false);

  it('allows listed origins and refuses others, and a missing one, with 403', () => {
    const good = checked(h1([['Origin', 'HTTPS://GOOD.example']]));
    assert.equal(checkOrigin(good, policy), undefined);
    assert.equal(
      checkOrigin(checked(h1([['Origin', 'https://a.good.example']])), policy),
      undefined,
    );
    assert.equal(
      checkOrigin(checked(h1([['Origin', 'https://evil.example']])), policy)?.status,
      403,
    );
    assert.equal(checkOrigin(checked(h1()), policy)?.status, 403);
  });

  it('allows anything without a policy, and a missing origin by default', () => {
    assert.equal(checkOrigin(checked(h1()), undefined), undefined);
    assert.equal(checkOrigin(checked(h1()), originCheck(['https://a'], undefined)), undefined);
  });
});

describe('acceptUpgrade', () => {
  const deflateLike = (offers: ExtensionOffer[]) =>
    offers.some((offer) => offer.name === 'x-test')
      ? { response: 'x-test; p=1', agreed: { p: 1 } }
      : undefined;

  it('answers HTTP/1.1 with 101 and Sec-WebSocket-Accept, the protocol and the extensions', () => {
    const request = checked(
      h1([
        ['Sec-WebSocket-Protocol', 'chat, superchat'],
        ['Sec-WebSocket-Extensions', 'x-test, other'],
      ]),
    );
    const result = acceptUpgrade(request, { protocol: 'superchat', negotiate: deflateLike });
    assert.equal(result.status, 101);
    assert.equal(result.protocol, 'superchat');
    assert.equal(result.extensions, 'x-test; p=1');
    assert.deepEqual(result.agreed, { p: 1 });
    assert.equal(
      serializeUpgradeResponse(result),
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: superchat\r\n` +
        'Sec-WebSocket-Extensions: x-test; p=1\r\n\r\n',
    );
  });

  it('answers RFC 8441 with 200 and no Accept, Upgrade or Connection', () => {
    const request = checked(h2([['sec-websocket-extensions', 'x-test']]));
    const result = acceptUpgrade(request, { negotiate: deflateLike });
    assert.equal(result.status, 200);
    assert.deepEqual(result.headers, [['Sec-WebSocket-Extensions', 'x-test; p=1']]);
  });

  it('agrees no extension without a negotiator, or when it declines', () => {
    const request = checked(h1([['Sec-WebSocket-Extensions', 'other']]));
    assert.equal(acceptUpgrade(request).extensions, '');
    const declined = acceptUpgrade(request, { negotiate: deflateLike });
    assert.equal(declined.extensions, '');
    assert.equal(declined.agreed, undefined);
    assert.deepEqual(field(declined.headers, 'sec-websocket-extensions'), []);
  });

  it('does not ask the negotiator when nothing was offered', () => {
    let asked = false;
    acceptUpgrade(checked(h1()), {
      negotiate: () => {
        asked = true;
        return undefined;
      },
    });
    assert.equal(asked, false);
  });

  it('throws for a subprotocol the client did not offer, and for reserved extra headers', () => {
    const request = checked(h1([['Sec-WebSocket-Protocol', 'chat']]));
    assert.throws(
      () => acceptUpgrade(request, { protocol: 'other' }),
      (error: unknown) =>
        error instanceof HandshakeError && error.code === 'WS_ERR_INVALID_SUBPROTOCOL',
    );
    assert.throws(
      () => acceptUpgrade(request, { headers: { Connection: 'close' } }),
      HandshakeError,
    );
    const extra = acceptUpgrade(request, { headers: { 'Set-Cookie': ['a=1', 'b=2'] } });
    assert.deepEqual(field(extra.headers, 'set-cookie'), ['a=1', 'b=2']);
  });
});

describe('refusals and their HTTP/1.1 form', () => {
  it('the 426 for plain requests and for a wrong version is the same answer', () => {
    const plain = upgradeRequired();
    assert.equal(plain.status, 426);
    assert.equal(plain.body, 'Upgrade Required');
    assert.deepEqual(field(plain.headers, 'upgrade'), ['websocket']);
    assert.deepEqual(field(plain.headers, 'sec-websocket-version'), ['13']);
    const text = serializeUpgradeResponse(plain);
    assert.match(text, /^HTTP\/1\.1 426 Upgrade Required\r\nConnection: Upgrade, close\r\n/);
    assert.match(text, /\r\nContent-Length: 16\r\n/);
    assert.ok(text.endsWith('\r\n\r\nUpgrade Required'));
  });

  it('refuseUpgrade: the reason as body, Content-Length in UTF-8 bytes, closes', () => {
    const text = serializeUpgradeResponse(refuseUpgrade(403, 'non ça', { 'X-Why': 'policy' }));
    assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\nConnection: close\r\n/);
    assert.match(text, /\r\nContent-Length: 7\r\n/);
    assert.match(text, /\r\nX-Why: policy\r\n/);
    assert.ok(text.endsWith('\r\n\r\nnon ça'));
  });

  it('refuseUpgrade throws for a status outside 300-599 and for framing headers', () => {
    for (const status of [101, 200, 600, 4.5, Number.NaN]) {
      assert.throws(() => refuseUpgrade(status), HandshakeError);
    }
    assert.throws(() => refuseUpgrade(400, 'x', { 'Content-Length': '1' }), HandshakeError);
    assert.throws(() => refuseUpgrade(400, 'x', { 'X-A': 'a\r\nb' }), HandshakeError);
  });

  it('a refusal keeps a Content-Type the application gave, and adds none', () => {
    const refusal = refuseUpgrade(401, '{}', { 'Content-Type': 'application/json' });
    assert.deepEqual(field(refusal.headers, 'content-type'), ['application/json']);
  });
});
