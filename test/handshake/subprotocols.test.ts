import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeError, parseSubprotocolHeader } from '../../src/handshake/index.js';

function assertInvalid(value: string | string[], pattern: RegExp): void {
  const result = parseSubprotocolHeader(value);
  assert.ok(result instanceof HandshakeError, `${JSON.stringify(value)} should be refused`);
  assert.equal(result.code, 'WS_ERR_INVALID_SUBPROTOCOL');
  assert.equal(result.statusCode, undefined);
  assert.match(result.message, /^Invalid Sec-WebSocket-Protocol header: /);
  assert.match(result.message, pattern);
}

describe('parseSubprotocolHeader', () => {
  it('gives [] for a missing or blank header', () => {
    assert.deepEqual(parseSubprotocolHeader(undefined), []);
    assert.deepEqual(parseSubprotocolHeader(''), []);
    assert.deepEqual(parseSubprotocolHeader(' \t'), []);
    assert.deepEqual(parseSubprotocolHeader([]), []);
    assert.deepEqual(parseSubprotocolHeader(['', ' ']), []);
  });

  it('reads a list of tokens in the client order, case kept', () => {
    assert.deepEqual(parseSubprotocolHeader('chat'), ['chat']);
    assert.deepEqual(parseSubprotocolHeader('chat, superchat'), ['chat', 'superchat']);
    assert.deepEqual(parseSubprotocolHeader('superchat,chat'), ['superchat', 'chat']);
    assert.deepEqual(parseSubprotocolHeader('\tv1.Proto ,  v2~x\t'), ['v1.Proto', 'v2~x']);
  });

  it('joins repeated header lines', () => {
    assert.deepEqual(parseSubprotocolHeader(['a, b', 'c']), ['a', 'b', 'c']);
  });

  it('skips empty list elements', () => {
    assert.deepEqual(parseSubprotocolHeader(',a,, b ,'), ['a', 'b']);
  });

  it('refuses a list of commas only', () => {
    assertInvalid(',', /no subprotocol/);
    assertInvalid(' , ,', /no subprotocol/);
    assertInvalid(['', ','], /no subprotocol/);
  });

  it('refuses elements that are not tokens', () => {
    for (const value of ['a b', 'a;b', '"chat"', 'chat/1', 'ch@t', 'a=b', 'caf\u00e9', 'a\u0000']) {
      assertInvalid(value, /invalid subprotocol name/);
    }
    assertInvalid('good, b{ad}', /"b\{ad\}"/);
  });

  it('refuses a repeated name, also across header lines', () => {
    assertInvalid('chat, chat', /duplicate subprotocol name "chat"/);
    assertInvalid('a, b, a', /duplicate/);
    assertInvalid(['chat', 'chat'], /duplicate/);
  });

  it('compares names exactly: names differing in case are distinct', () => {
    assert.deepEqual(parseSubprotocolHeader('chat, Chat'), ['chat', 'Chat']);
  });
});
