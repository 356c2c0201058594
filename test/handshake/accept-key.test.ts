import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  computeAcceptKey,
  generateKey,
  isValidKey,
  WEBSOCKET_GUID,
} from '../../src/handshake/index.js';

describe('computeAcceptKey', () => {
  it('uses the GUID of RFC 6455 §1.3', () => {
    assert.equal(WEBSOCKET_GUID, '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
  });

  it('gives the accept value of the RFC 6455 §1.3 example', () => {
    assert.equal(computeAcceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('depends on every character of the key', () => {
    assert.notEqual(
      computeAcceptKey('dGhlIHNhbXBsZSBub25jZQ=='),
      computeAcceptKey('dGhlIHNhbXBsZSBub25jZA=='),
    );
  });
});

describe('generateKey', () => {
  it('gives valid keys, all different, across several refills of the random pool', () => {
    // 1024-byte pool = 64 keys; 300 keys cross four refills.
    const keys = Array.from({ length: 300 }, () => generateKey());
    for (const key of keys) {
      assert.ok(isValidKey(key), key);
      assert.equal(Buffer.from(key, 'base64').length, 16);
    }
    assert.equal(new Set(keys).size, keys.length);
  });
});

describe('isValidKey', () => {
  it('accepts the base64 encoding of any 16 bytes', () => {
    assert.ok(isValidKey('dGhlIHNhbXBsZSBub25jZQ=='));
    assert.ok(isValidKey(Buffer.alloc(16).toString('base64')));
    assert.ok(isValidKey(Buffer.alloc(16, 0xff).toString('base64')));
    for (let i = 0; i < 200; i++) assert.ok(isValidKey(randomBytes(16).toString('base64')));
  });

  it('refuses other lengths', () => {
    for (const n of [0, 1, 12, 15, 17, 18, 20, 32]) {
      assert.equal(isValidKey(Buffer.alloc(n, 7).toString('base64')), false, `${n} bytes`);
    }
  });

  it('refuses malformed base64', () => {
    for (const key of [
      '',
      'dGhlIHNhbXBsZSBub25jZQ', // no padding
      'dGhlIHNhbXBsZSBub25jZQ=', // short padding
      'dGhlIHNhbXBsZSBub25jZR==', // non-zero trailing bits
      'dGhlIHNhbXBsZSBub25jZ===',
      'dGhlIHNhbXBsZSBub25j-Q==', // base64url alphabet
      'dGhlIHNhbXBsZSBub25j_Q==',
      'dGhlIHNhbXBsZSBub25jZQ==\n',
      ' dGhlIHNhbXBsZSBub25jZQ==',
      'dGhlIHNhbXBsZSBub2 5jZQ==',
      'dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==',
    ]) {
      assert.equal(isValidKey(key), false, JSON.stringify(key));
    }
  });
});
