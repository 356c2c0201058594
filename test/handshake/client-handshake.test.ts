import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildAcceptResponse,
  createClientHandshake,
  type ExpectedResponse,
  HandshakeError,
  isValidKey,
  type ServerResponse,
  validateServerResponse,
  validateUpgradeRequest,
} from '../../src/handshake/index.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function assertThrowsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof HandshakeError && err.code === code);
}

describe('createClientHandshake', () => {
  it('writes the handshake headers of RFC 6455 §4.1', () => {
    const { key, headers } = createClientHandshake({ key: KEY });
    assert.equal(key, KEY);
    assert.deepEqual(
      { ...headers },
      {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': KEY,
      },
    );
  });

  it('adds protocols, extensions, origin and extra headers', () => {
    const { headers } = createClientHandshake({
      key: KEY,
      protocols: ['chat', 'superchat'],
      extensions: 'permessage-deflate; client_max_window_bits',
      origin: 'https://example.com',
      headers: { Authorization: 'Bearer x', 'User-Agent': 'tsws' },
    });
    assert.deepEqual(
      { ...headers },
      {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': KEY,
        'Sec-WebSocket-Protocol': 'chat, superchat',
        'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
        Origin: 'https://example.com',
        Authorization: 'Bearer x',
        'User-Agent': 'tsws',
      },
    );
  });

  it('leaves out empty protocols, extensions and origin', () => {
    const { headers } = createClientHandshake({
      key: KEY,
      protocols: [],
      extensions: '',
      origin: '',
    });
    assert.deepEqual(Object.keys(headers), [
      'Connection',
      'Upgrade',
      'Sec-WebSocket-Version',
      'Sec-WebSocket-Key',
    ]);
  });

  it('generates a fresh valid key when none is given', () => {
    const a = createClientHandshake({});
    const b = createClientHandshake({});
    assert.ok(isValidKey(a.key));
    assert.equal(a.headers['Sec-WebSocket-Key'], a.key);
    assert.notEqual(a.key, b.key);
  });

  it('refuses a given key that is not 16 bytes of base64', () => {
    for (const key of ['', 'abc', Buffer.alloc(15).toString('base64'), `${KEY}\r\nX: 1`]) {
      assertThrowsCode(() => createClientHandshake({ key }), 'WS_ERR_INVALID_ARGUMENT');
    }
  });

  it('refuses protocols that are not tokens or that repeat (RFC 6455 §4.1 item 10)', () => {
    for (const protocols of [[''], ['a b'], ['a,b'], ['chat\r\nX: 1'], ['chat', 'chat']]) {
      assertThrowsCode(
        () => createClientHandshake({ key: KEY, protocols }),
        'WS_ERR_INVALID_SUBPROTOCOL',
      );
    }
    assert.equal(
      createClientHandshake({ key: KEY, protocols: ['chat', 'Chat'] }).headers[
        'Sec-WebSocket-Protocol'
      ],
      'chat, Chat',
    );
  });

  it('refuses CR, LF and controls in extensions, origin and extra headers', () => {
    const bad = 'a\r\nX-Evil: 1';
    assertThrowsCode(() => createClientHandshake({ extensions: bad }), 'WS_ERR_INVALID_HEADER');
    assertThrowsCode(() => createClientHandshake({ origin: bad }), 'WS_ERR_INVALID_HEADER');
    assertThrowsCode(() => createClientHandshake({ headers: { X: bad } }), 'WS_ERR_INVALID_HEADER');
    assertThrowsCode(
      () => createClientHandshake({ headers: { X: 'a\u0000' } }),
      'WS_ERR_INVALID_HEADER',
    );
    assertThrowsCode(
      () => createClientHandshake({ headers: { 'X\nY': 'a' } }),
      'WS_ERR_INVALID_HEADER',
    );
    assertThrowsCode(
      () => createClientHandshake({ headers: { '': 'a' } }),
      'WS_ERR_INVALID_HEADER',
    );
  });

  it("refuses extra headers that would override the handshake's own, in any case", () => {
    for (const name of [
      'Connection',
      'upgrade',
      'SEC-WEBSOCKET-KEY',
      'Sec-WebSocket-Version',
      'sec-websocket-version',
    ]) {
      assertThrowsCode(
        () => createClientHandshake({ headers: { [name]: 'x' } }),
        'WS_ERR_INVALID_HEADER',
      );
    }
  });

  it('refuses Sec-WebSocket-Protocol, Sec-WebSocket-Extensions and Origin only when set', () => {
    const cases: Array<[string, object]> = [
      ['Sec-WebSocket-Protocol', { protocols: ['a'] }],
      ['sec-websocket-extensions', { extensions: 'x' }],
      ['origin', { origin: 'https://a.example' }],
    ];
    for (const [name, options] of cases) {
      assertThrowsCode(
        () => createClientHandshake({ ...options, headers: { [name]: 'v' } }),
        'WS_ERR_INVALID_HEADER',
      );
      assert.equal(createClientHandshake({ headers: { [name]: 'v' } }).headers[name], 'v');
    }
  });

  it('returns headers without a prototype, so __proto__ is only a header', () => {
    const extra = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const { headers } = createClientHandshake({ key: KEY, headers: extra });
    assert.equal(Object.getPrototypeOf(headers), null);
    assert.ok(Object.hasOwn(headers, '__proto__'));
    assert.equal(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, 'x');
  });

  it('makes a request that the server accepts', () => {
    const { key, headers } = createClientHandshake({
      protocols: ['v2', 'v1'],
      extensions: 'permessage-deflate',
      origin: 'https://example.com',
    });
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const result = validateUpgradeRequest({
      method: 'GET',
      httpVersion: '1.1',
      headers: { ...lower, host: 'example.com' },
    });
    assert.deepEqual(result, {
      ok: true,
      key,
      protocols: ['v2', 'v1'],
      extensions: [{ name: 'permessage-deflate', params: [] }],
      origin: 'https://example.com',
    });
  });
});

/** The RFC 6455 §1.3 answer, with `headers` merged over it (undefined removes one). */
function response(headers: ServerResponse['headers'] = {}, statusCode = 101): ServerResponse {
  return {
    statusCode,
    headers: {
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-accept': ACCEPT,
      ...headers,
    },
  };
}

function expect(overrides: Partial<ExpectedResponse> = {}): ExpectedResponse {
  return { key: KEY, protocols: [], extensionsOffered: false, ...overrides };
}

function assertFails(
  res: ServerResponse,
  expected: ExpectedResponse,
  code: string,
  message?: string | RegExp,
): HandshakeError {
  const result = validateServerResponse(res, expected);
  assert.ok(result instanceof HandshakeError, `should fail: ${JSON.stringify(res)}`);
  assert.equal(result.code, code);
  if (typeof message === 'string') assert.equal(result.message, message);
  else if (message) assert.match(result.message, message);
  return result;
}

describe('validateServerResponse', () => {
  it('accepts the answer of RFC 6455 §1.3', () => {
    assert.deepEqual(validateServerResponse(response(), expect()), {
      protocol: '',
      extensions: [],
    });
  });

  describe('status (RFC 6455 §4.1 item 1)', () => {
    it('fails on anything but 101, with the status code', () => {
      for (const status of [200, 204, 301, 302, 400, 401, 404, 426, 500]) {
        const err = assertFails(
          response({}, status),
          expect(),
          'WS_ERR_UNEXPECTED_RESPONSE',
          `Unexpected server response: ${status}`,
        );
        assert.equal(err.statusCode, status);
      }
    });

    it('is checked before the headers', () => {
      assertFails({ statusCode: 404, headers: {} }, expect(), 'WS_ERR_UNEXPECTED_RESPONSE');
    });
  });

  describe('Upgrade (RFC 6455 §4.1 item 2)', () => {
    it('accepts websocket in any case, in a list or over lines', () => {
      for (const upgrade of ['WebSocket', 'WEBSOCKET', 'h2c, websocket', ['x', 'websocket']]) {
        assert.ok(!(validateServerResponse(response({ upgrade }), expect()) instanceof Error));
      }
    });

    it('fails when missing or different', () => {
      for (const upgrade of [undefined, '', 'h2c', 'websockets', 'websoc\u212Aet']) {
        assertFails(
          response({ upgrade }),
          expect(),
          'WS_ERR_INVALID_UPGRADE_HEADER',
          'Missing or invalid Upgrade header',
        );
      }
    });
  });

  describe('Connection (RFC 6455 §4.1 item 3)', () => {
    it('accepts upgrade in any case, in a list or over lines', () => {
      for (const connection of ['upgrade', 'UPGRADE', 'keep-alive, Upgrade', ['x', 'Upgrade']]) {
        assert.ok(!(validateServerResponse(response({ connection }), expect()) instanceof Error));
      }
    });

    it('fails when missing or different', () => {
      for (const connection of [undefined, '', 'keep-alive', 'close', 'upgraded']) {
        assertFails(
          response({ connection }),
          expect(),
          'WS_ERR_INVALID_CONNECTION_HEADER',
          'Missing or invalid Connection header',
        );
      }
    });
  });

  describe('Sec-WebSocket-Accept (RFC 6455 §4.1 item 4)', () => {
    it('accepts the right value, given once, whitespace around it ignored', () => {
      for (const accept of [ACCEPT, [ACCEPT], ` ${ACCEPT}\t`]) {
        const res = response({ 'sec-websocket-accept': accept });
        assert.ok(!(validateServerResponse(res, expect()) instanceof Error));
      }
    });

    it('fails when missing, wrong, for another key or repeated', () => {
      for (const accept of [
        undefined,
        '',
        ACCEPT.toLowerCase(),
        ACCEPT.slice(0, -1),
        KEY,
        `${ACCEPT}, ${ACCEPT}`,
        [ACCEPT, ACCEPT],
      ]) {
        assertFails(
          response({ 'sec-websocket-accept': accept }),
          expect(),
          'WS_ERR_INVALID_ACCEPT',
          'Missing or invalid Sec-WebSocket-Accept header',
        );
      }
      assertFails(response(), expect({ key: 'AQIDBAUGBwgJCgsMDQ4PEA==' }), 'WS_ERR_INVALID_ACCEPT');
    });
  });

  describe('Sec-WebSocket-Protocol (RFC 6455 §4.1 item 6)', () => {
    it('returns the subprotocol the server chose among the offered ones', () => {
      const res = response({ 'sec-websocket-protocol': 'superchat' });
      assert.deepEqual(validateServerResponse(res, expect({ protocols: ['chat', 'superchat'] })), {
        protocol: 'superchat',
        extensions: [],
      });
      const lines = response({ 'sec-websocket-protocol': [' chat '] });
      assert.deepEqual(validateServerResponse(lines, expect({ protocols: ['chat'] })), {
        protocol: 'chat',
        extensions: [],
      });
    });

    it("gives '' when the server chose none of the offered ones", () => {
      assert.deepEqual(validateServerResponse(response(), expect({ protocols: ['chat'] })), {
        protocol: '',
        extensions: [],
      });
    });

    it('fails on a subprotocol that was not offered, compared exactly', () => {
      for (const value of ['other', 'Chat', 'CHAT']) {
        assertFails(
          response({ 'sec-websocket-protocol': value }),
          expect({ protocols: ['chat'] }),
          'WS_ERR_INVALID_SUBPROTOCOL',
          `Server sent a subprotocol that was not requested: ${value}`,
        );
      }
    });

    it('fails on a subprotocol when none was offered', () => {
      assertFails(
        response({ 'sec-websocket-protocol': 'chat' }),
        expect(),
        'WS_ERR_INVALID_SUBPROTOCOL',
        'Server sent a subprotocol but none was requested',
      );
    });

    it('fails on anything but one token', () => {
      for (const value of ['', 'chat, superchat', 'chat,chat', ['chat', 'chat'], [], 'a b']) {
        assertFails(
          response({ 'sec-websocket-protocol': value }),
          expect({ protocols: ['chat', 'superchat', 'a b'] }),
          'WS_ERR_INVALID_SUBPROTOCOL',
          /^Invalid Sec-WebSocket-Protocol header/,
        );
      }
    });
  });

  describe('Sec-WebSocket-Extensions (RFC 6455 §4.1 item 5)', () => {
    it('returns the accepted extensions when an offer was sent', () => {
      const res = response({
        'sec-websocket-extensions': ['permessage-deflate; server_max_window_bits=10', 'x'],
      });
      assert.deepEqual(validateServerResponse(res, expect({ extensionsOffered: true })), {
        protocol: '',
        extensions: [
          { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
          { name: 'x', params: [] },
        ],
      });
      assert.deepEqual(validateServerResponse(response(), expect({ extensionsOffered: true })), {
        protocol: '',
        extensions: [],
      });
    });

    it('fails on an extension when no offer was sent', () => {
      assertFails(
        response({ 'sec-websocket-extensions': 'permessage-deflate' }),
        expect(),
        'WS_ERR_INVALID_EXTENSION_HEADER',
        'Server sent a Sec-WebSocket-Extensions header but no extension was requested',
      );
    });

    it('accepts a blank header when no offer was sent: it names no extension', () => {
      const res = response({ 'sec-websocket-extensions': '' });
      assert.deepEqual(validateServerResponse(res, expect()), { protocol: '', extensions: [] });
    });

    it('fails on a malformed header', () => {
      for (const value of ['a;', ',', 'a; b="x y"']) {
        assertFails(
          response({ 'sec-websocket-extensions': value }),
          expect({ extensionsOffered: true }),
          'WS_ERR_INVALID_EXTENSION_HEADER',
          /^Invalid Sec-WebSocket-Extensions header: /,
        );
      }
    });
  });

  it("accepts the server's answer to the client's request, end to end", () => {
    const { key } = createClientHandshake({ protocols: ['a', 'b'], extensions: 'x' });
    const head = buildAcceptResponse({ key, protocol: 'b', extensions: 'x; y=1' });
    const [statusLine, ...lines] = head.split('\r\n').filter((line) => line !== '');
    assert.equal(statusLine, 'HTTP/1.1 101 Switching Protocols');
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    assert.deepEqual(
      validateServerResponse(
        { statusCode: 101, headers },
        { key, protocols: ['a', 'b'], extensionsOffered: true },
      ),
      { protocol: 'b', extensions: [{ name: 'x', params: [['y', '1']] }] },
    );
  });
});
