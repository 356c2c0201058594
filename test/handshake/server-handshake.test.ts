import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildAcceptResponse,
  buildRejectResponse,
  HandshakeError,
  type RejectedUpgrade,
  selectSubprotocol,
  type UpgradeRequest,
  type ValidUpgrade,
  validateUpgradeRequest,
} from '../../src/handshake/index.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

type Headers = UpgradeRequest['headers'];

/** A valid request, with `headers` merged over the defaults (undefined removes one). */
function request(headers: Headers = {}, fields: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return {
    method: 'GET',
    httpVersion: '1.1',
    headers: {
      host: 'server.example.com',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': KEY,
      'sec-websocket-version': '13',
      ...headers,
    },
    ...fields,
  };
}

function accepted(req: UpgradeRequest): ValidUpgrade {
  const result = validateUpgradeRequest(req);
  if (!result.ok) assert.fail(`refused: ${result.status} ${result.reason}`);
  return result;
}

function rejected(req: UpgradeRequest): RejectedUpgrade {
  const result = validateUpgradeRequest(req);
  if (result.ok) assert.fail('accepted');
  return result;
}

function assertBadRequest(req: UpgradeRequest, reason: string | RegExp): void {
  const result = rejected(req);
  assert.equal(result.status, 400);
  if (typeof reason === 'string') assert.equal(result.reason, reason);
  else assert.match(result.reason, reason);
  assert.deepEqual(result.headers, {});
}

function assertThrowsCode(fn: () => unknown, code = 'WS_ERR_INVALID_HEADER'): void {
  assert.throws(fn, (err: unknown) => err instanceof HandshakeError && err.code === code);
}

describe('validateUpgradeRequest', () => {
  it('accepts a minimal valid request', () => {
    assert.deepEqual(validateUpgradeRequest(request()), {
      ok: true,
      key: KEY,
      protocols: [],
      extensions: [],
      origin: undefined,
    });
  });

  it('accepts the request of RFC 6455 §1.2 and returns what the client offered', () => {
    const result = accepted(
      request({
        origin: 'http://example.com',
        'sec-websocket-protocol': 'chat, superchat',
        'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
      }),
    );
    assert.equal(result.origin, 'http://example.com');
    assert.deepEqual(result.protocols, ['chat', 'superchat']);
    assert.deepEqual(result.extensions, [
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
    ]);
  });

  describe('method (RFC 6455 §4.2.1 item 1)', () => {
    it('refuses anything but GET with 405 and Allow: GET', () => {
      for (const method of ['POST', 'HEAD', 'PUT', 'CONNECT', 'get', 'Get', '']) {
        const result = rejected(request({}, { method }));
        assert.equal(result.status, 405, method);
        assert.deepEqual(result.headers, { Allow: 'GET' });
        assert.equal(result.reason, 'The WebSocket handshake requires a GET request');
      }
    });

    it('is checked before everything else', () => {
      const result = rejected({ method: 'POST', httpVersion: '1.0', headers: {} });
      assert.equal(result.status, 405);
    });
  });

  describe('HTTP version (RFC 6455 §4.2.1 item 1)', () => {
    it('refuses versions below 1.1 and malformed versions with 400', () => {
      for (const httpVersion of ['1.0', '0.9', '0.10', '1', '', 'abc', '1.x', '1.1.1', ' 1.1']) {
        assertBadRequest(
          request({}, { httpVersion }),
          'The WebSocket handshake requires HTTP/1.1 or higher',
        );
      }
    });

    it('accepts 1.1 and any higher version, compared numerically', () => {
      for (const httpVersion of ['1.1', '1.2', '1.10', '2.0', '2', '3.0', '10.0']) {
        accepted(request({}, { httpVersion }));
      }
    });
  });

  describe('Host (RFC 6455 §4.2.1 item 2)', () => {
    it('refuses a missing, empty or repeated Host with 400', () => {
      for (const host of [undefined, '', ' \t', [], ['a.example', 'b.example']]) {
        assertBadRequest(request({ host }), 'Missing or invalid Host header');
      }
    });

    it('accepts a Host given once', () => {
      accepted(request({ host: ['a.example'] }));
      accepted(request({ host: 'a.example:8080' }));
    });
  });

  describe('Upgrade (RFC 6455 §4.2.1 item 3)', () => {
    it('accepts websocket in any ASCII case, within a list, over repeated lines', () => {
      for (const upgrade of [
        'websocket',
        'WebSocket',
        'WEBSOCKET',
        ' websocket\t',
        'foo, WebSocket',
        'h2c, websocket, foo/2',
        ['foo', 'websocket'],
      ]) {
        accepted(request({ upgrade }));
      }
    });

    it('refuses a missing or different Upgrade with 400', () => {
      for (const upgrade of [
        undefined,
        '',
        'h2c',
        'websockets',
        'websocket/13',
        'web socket',
        'websoc\u212Aet',
        ['h2c', 'foo'],
      ]) {
        assertBadRequest(request({ upgrade }), 'Missing or invalid Upgrade header');
      }
    });
  });

  describe('Connection (RFC 6455 §4.2.1 item 4)', () => {
    it('accepts upgrade in any case, within a list, over repeated lines', () => {
      for (const connection of [
        'Upgrade',
        'upgrade',
        'UPGRADE',
        'keep-alive, Upgrade',
        'Upgrade,keep-alive',
        ['keep-alive', 'Upgrade'],
      ]) {
        accepted(request({ connection }));
      }
    });

    it('refuses a missing or different Connection with 400', () => {
      for (const connection of [undefined, '', 'keep-alive', 'close', 'upgrades', 'up grade']) {
        assertBadRequest(request({ connection }), 'Missing or invalid Connection header');
      }
    });
  });

  describe('Sec-WebSocket-Key (RFC 6455 §4.2.1 item 5)', () => {
    it('refuses a missing, malformed or repeated key with 400', () => {
      for (const key of [
        undefined,
        '',
        'not a key',
        'dGhlIHNhbXBsZSBub25jZQ', // no padding
        Buffer.alloc(15).toString('base64'),
        Buffer.alloc(17).toString('base64'),
        `${KEY}, ${KEY}`, // two lines, as Node joins them
        [KEY, KEY],
        [],
      ]) {
        assertBadRequest(
          request({ 'sec-websocket-key': key }),
          'Missing or invalid Sec-WebSocket-Key header',
        );
      }
    });

    it('accepts a key given once and returns it without surrounding whitespace', () => {
      assert.equal(accepted(request({ 'sec-websocket-key': [KEY] })).key, KEY);
      assert.equal(accepted(request({ 'sec-websocket-key': ` ${KEY}\t` })).key, KEY);
    });
  });

  describe('Sec-WebSocket-Version (RFC 6455 §4.2.1 item 6, §4.4)', () => {
    it('refuses a missing or other version with 426, naming version 13', () => {
      for (const version of [
        undefined,
        '',
        '8',
        '12',
        '14',
        '013',
        '13.0',
        '13, 8',
        ['13', '13'],
      ]) {
        const result = rejected(request({ 'sec-websocket-version': version }));
        assert.equal(result.status, 426, JSON.stringify(version));
        assert.equal(
          result.reason,
          'Missing or unsupported Sec-WebSocket-Version header (13 is required)',
        );
        assert.deepEqual(result.headers, { 'Sec-WebSocket-Version': '13', Upgrade: 'websocket' });
      }
    });

    it('accepts 13 given once', () => {
      accepted(request({ 'sec-websocket-version': ['13'] }));
      accepted(request({ 'sec-websocket-version': ' 13 ' }));
    });

    it('is checked after the key', () => {
      const result = rejected(request({ 'sec-websocket-key': 'x', 'sec-websocket-version': '8' }));
      assert.equal(result.status, 400);
    });
  });

  describe('Origin (RFC 6455 §4.2.1 item 7)', () => {
    it('returns the origin, or undefined without one', () => {
      assert.equal(accepted(request()).origin, undefined);
      assert.equal(accepted(request({ origin: 'https://a.example' })).origin, 'https://a.example');
      assert.equal(accepted(request({ origin: ['null'] })).origin, 'null');
    });

    it('refuses repeated Origin lines with 400', () => {
      assertBadRequest(request({ origin: ['https://a.example', 'https://b.example'] }), /Origin/);
    });
  });

  describe('Sec-WebSocket-Protocol (RFC 6455 §4.2.1 item 8)', () => {
    it('returns the offered list, repeated lines joined', () => {
      const result = accepted(request({ 'sec-websocket-protocol': ['chat', 'superchat, v2'] }));
      assert.deepEqual(result.protocols, ['chat', 'superchat', 'v2']);
    });

    it('refuses a malformed list with 400', () => {
      for (const value of ['a b', 'chat, chat', ',', ['x', 'x']]) {
        assertBadRequest(
          request({ 'sec-websocket-protocol': value }),
          /^Invalid Sec-WebSocket-Protocol header: /,
        );
      }
    });
  });

  describe('Sec-WebSocket-Extensions (RFC 6455 §4.2.1 item 9)', () => {
    it('returns the offers, repeated lines joined', () => {
      const result = accepted(request({ 'sec-websocket-extensions': ['a; x=1', 'b'] }));
      assert.deepEqual(result.extensions, [
        { name: 'a', params: [['x', '1']] },
        { name: 'b', params: [] },
      ]);
    });

    it('refuses a malformed header with 400', () => {
      for (const value of ['a;', 'a; b=', ',', 'a b', ['a', ';']]) {
        assertBadRequest(
          request({ 'sec-websocket-extensions': value }),
          /^Invalid Sec-WebSocket-Extensions header: /,
        );
      }
    });
  });
});

describe('selectSubprotocol', () => {
  it("picks the first of the client's offers that the server supports", () => {
    assert.equal(selectSubprotocol(['b', 'a'], ['a', 'b']), 'b');
    assert.equal(selectSubprotocol(['x', 'a', 'b'], new Set(['b', 'a'])), 'a');
  });

  it('gives undefined when nothing matches', () => {
    assert.equal(selectSubprotocol([], ['a']), undefined);
    assert.equal(selectSubprotocol(['a'], []), undefined);
    assert.equal(selectSubprotocol(['a'], ['b']), undefined);
  });

  it('compares names exactly', () => {
    assert.equal(selectSubprotocol(['Chat'], ['chat']), undefined);
  });

  it('accepts any iterable, read once', () => {
    function* supported(): Generator<string> {
      yield 'a';
      yield 'b';
    }
    assert.equal(selectSubprotocol(['c', 'b', 'a'], supported()), 'b');
    assert.equal(selectSubprotocol(['b'], new Map([['b', 1]]).keys()), 'b');
  });
});

describe('buildAcceptResponse', () => {
  it('writes the 101 response of RFC 6455 §1.3', () => {
    assert.equal(
      buildAcceptResponse({ key: KEY }),
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        '\r\n',
    );
  });

  it('adds the subprotocol, the extensions, then the extra headers, arrays as repeated lines', () => {
    assert.equal(
      buildAcceptResponse({
        key: KEY,
        protocol: 'chat',
        extensions: 'permessage-deflate; server_max_window_bits=10',
        headers: { 'Set-Cookie': ['a=1', 'b=2'], 'X-Empty': [], 'X-Id': '7' },
      }),
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        'Sec-WebSocket-Protocol: chat\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n' +
        'Set-Cookie: a=1\r\n' +
        'Set-Cookie: b=2\r\n' +
        'X-Id: 7\r\n' +
        '\r\n',
    );
  });

  it('leaves out an empty protocol or extension list', () => {
    assert.equal(
      buildAcceptResponse({ key: KEY, protocol: '', extensions: '' }),
      buildAcceptResponse({ key: KEY }),
    );
  });

  it('never writes the obsolete Sec-WebSocket-Origin or Sec-WebSocket-Location', () => {
    const head = buildAcceptResponse({ key: KEY, protocol: 'chat', extensions: 'x' });
    assert.doesNotMatch(head, /Sec-WebSocket-(Origin|Location)/i);
  });

  it('refuses a subprotocol that is not a single token', () => {
    for (const protocol of ['a b', 'chat, superchat', 'chat\r\nX-Evil: 1', 'caf\u00e9']) {
      assertThrowsCode(
        () => buildAcceptResponse({ key: KEY, protocol }),
        'WS_ERR_INVALID_SUBPROTOCOL',
      );
    }
  });

  it('refuses CR, LF and other controls in values (header injection)', () => {
    for (const value of [
      'a\r\nX-Evil: 1',
      'a\nb',
      'a\rb',
      'a\u0000',
      'a\u007f',
      'caf\u00e9',
      '\u2028',
    ]) {
      assertThrowsCode(() => buildAcceptResponse({ key: KEY, extensions: value }));
      assertThrowsCode(() => buildAcceptResponse({ key: KEY, headers: { 'X-A': value } }));
      assertThrowsCode(() => buildAcceptResponse({ key: KEY, headers: { 'X-A': ['ok', value] } }));
    }
  });

  it('accepts values with spaces, tabs and any visible ASCII', () => {
    const value = '\t !"#$%&()*+,-./09:;<=>?@AZ[\\]^_`az{|}~ ';
    assert.match(
      buildAcceptResponse({ key: KEY, headers: { 'X-A': value } }),
      new RegExp(`\r\nX-A: ${value.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}\r\n\r\n$`),
    );
  });

  it('refuses header names that are not tokens', () => {
    for (const name of ['', 'X A', 'X-A:', 'X\r\nY', 'X\nY', 'Caf\u00e9', '(x)']) {
      assertThrowsCode(() => buildAcceptResponse({ key: KEY, headers: { [name]: 'v' } }));
    }
  });

  it('refuses extra headers the handshake writes itself, in any case', () => {
    for (const name of [
      'Upgrade',
      'connection',
      'SEC-WEBSOCKET-ACCEPT',
      'Content-Length',
      'transfer-encoding',
    ]) {
      assertThrowsCode(() => buildAcceptResponse({ key: KEY, headers: { [name]: 'x' } }));
    }
  });

  it('refuses Sec-WebSocket-Protocol/Extensions among the extra headers only when set', () => {
    assertThrowsCode(() =>
      buildAcceptResponse({ key: KEY, protocol: 'a', headers: { 'sec-websocket-protocol': 'b' } }),
    );
    assertThrowsCode(() =>
      buildAcceptResponse({
        key: KEY,
        extensions: 'a',
        headers: { 'Sec-WebSocket-Extensions': 'b' },
      }),
    );
    assert.match(
      buildAcceptResponse({ key: KEY, headers: { 'Sec-WebSocket-Protocol': 'b' } }),
      /\r\nSec-WebSocket-Protocol: b\r\n/,
    );
    assert.match(
      buildAcceptResponse({ key: KEY, headers: { 'Sec-WebSocket-Extensions': 'b' } }),
      /\r\nSec-WebSocket-Extensions: b\r\n/,
    );
  });

  it('keeps a header named __proto__ as data', () => {
    const headers = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    assert.match(buildAcceptResponse({ key: KEY, headers }), /\r\n__proto__: x\r\n\r\n$/);
  });
});

describe('buildRejectResponse', () => {
  it('writes a plain-text response with the reason phrase as its body by default', () => {
    assert.equal(
      buildRejectResponse(400),
      'HTTP/1.1 400 Bad Request\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 11\r\n' +
        '\r\n' +
        'Bad Request',
    );
  });

  it('uses the reason as the body and counts its UTF-8 bytes', () => {
    const response = buildRejectResponse(403, { reason: 'Origin refusée ✓' });
    assert.ok(response.startsWith('HTTP/1.1 403 Forbidden\r\n'));
    assert.match(response, /\r\nContent-Length: 19\r\n/);
    assert.ok(response.endsWith('\r\n\r\nOrigin refusée ✓'));
    assert.equal(Buffer.byteLength('Origin refusée ✓'), 19);
  });

  it('allows an empty reason', () => {
    assert.ok(buildRejectResponse(401, { reason: '' }).endsWith('Content-Length: 0\r\n\r\n'));
  });

  it('writes the headers of a rejected upgrade', () => {
    const rejection = rejected(request({}, { method: 'POST' }));
    assert.equal(
      buildRejectResponse(rejection.status, rejection),
      'HTTP/1.1 405 Method Not Allowed\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 46\r\n' +
        'Allow: GET\r\n' +
        '\r\n' +
        'The WebSocket handshake requires a GET request',
    );
  });

  it('lists Upgrade in Connection when it sends Upgrade, as a 426 must (RFC 7230 §6.7)', () => {
    const rejection = rejected(request({ 'sec-websocket-version': '8' }));
    const response = buildRejectResponse(rejection.status, rejection);
    assert.ok(
      response.startsWith('HTTP/1.1 426 Upgrade Required\r\nConnection: Upgrade, close\r\n'),
    );
    assert.match(response, /\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\r\n/);
    assert.match(
      buildRejectResponse(426, { headers: { upgrade: 'x' } }),
      /Connection: Upgrade, close/,
    );
  });

  it('writes "Unknown" for a status without a standard phrase', () => {
    assert.ok(buildRejectResponse(499).startsWith('HTTP/1.1 499 Unknown\r\n'));
  });

  it('accepts redirections and errors, and refuses 1xx, 2xx and non-status numbers', () => {
    assert.ok(
      buildRejectResponse(302, { headers: { Location: '/login' } }).startsWith(
        'HTTP/1.1 302 Found',
      ),
    );
    assert.ok(buildRejectResponse(300).startsWith('HTTP/1.1 300 '));
    assert.ok(buildRejectResponse(599).startsWith('HTTP/1.1 599 '));
    for (const status of [0, 101, 200, 299, 600, 1000, -400, 400.5, Number.NaN]) {
      assertThrowsCode(() => buildRejectResponse(status), 'WS_ERR_INVALID_ARGUMENT');
    }
  });

  it("lets the caller's Content-Type replace the default", () => {
    const response = buildRejectResponse(400, {
      reason: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.doesNotMatch(response, /text\/plain/);
    assert.match(response, /\r\ncontent-type: application\/json\r\n/);
  });

  it('refuses framing headers and invalid headers among the extra ones', () => {
    for (const name of ['Connection', 'content-length', 'Transfer-Encoding']) {
      assertThrowsCode(() => buildRejectResponse(400, { headers: { [name]: '1' } }));
    }
    assertThrowsCode(() => buildRejectResponse(400, { headers: { 'X-A': 'a\r\nb' } }));
    assertThrowsCode(() => buildRejectResponse(400, { headers: { 'X A': 'a' } }));
  });
});

describe('upgrade requests with a body', () => {
  const base = {
    method: 'GET',
    httpVersion: '1.1',
    headers: {
      host: 'example.com',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
    },
  };

  it('refuses Transfer-Encoding and a non-zero Content-Length (request smuggling)', () => {
    for (const extra of [
      { 'transfer-encoding': 'chunked' },
      { 'content-length': '5' },
      { 'content-length': '0, 5' },
    ]) {
      const result = validateUpgradeRequest({ ...base, headers: { ...base.headers, ...extra } });
      assert.equal(result.ok, false, JSON.stringify(extra));
      assert.equal((result as { status: number }).status, 400);
    }
  });

  it('accepts Content-Length: 0', () => {
    const result = validateUpgradeRequest({
      ...base,
      headers: { ...base.headers, 'content-length': '0' },
    });
    assert.equal(result.ok, true);
  });
});
