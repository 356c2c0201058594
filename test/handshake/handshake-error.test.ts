import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeError, HandshakeErrorCode } from '../../src/handshake/index.js';
import { WebSocketError } from '../../src/protocol/index.js';

describe('HandshakeError', () => {
  it('is a WebSocketError with a code and an optional HTTP status', () => {
    const plain = new HandshakeError(HandshakeErrorCode.InvalidAccept, 'bad accept');
    assert.ok(plain instanceof WebSocketError);
    assert.ok(plain instanceof Error);
    assert.equal(plain.name, 'HandshakeError');
    assert.equal(plain.code, 'WS_ERR_INVALID_ACCEPT');
    assert.equal(plain.message, 'bad accept');
    assert.equal(plain.statusCode, undefined);
    const withStatus = new HandshakeError(HandshakeErrorCode.UnexpectedResponse, 'x', 404);
    assert.equal(withStatus.statusCode, 404);
  });

  it('uses WS_ERR_ codes', () => {
    for (const code of Object.values(HandshakeErrorCode)) assert.match(code, /^WS_ERR_[A-Z_]+$/);
  });
});
