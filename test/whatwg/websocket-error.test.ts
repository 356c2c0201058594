import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocketError } from '../../src/whatwg/index.js';
import { throwsDOMException } from '../helpers/whatwg-util.js';

describe('WebSocketError constructor(message, init)', () => {
  it('defaults: message "", closeCode null, reason ""; a DOMException named WebSocketError', () => {
    const error = new WebSocketError();
    assert.equal(error.message, '');
    assert.equal(error.closeCode, null);
    assert.equal(error.reason, '');
    assert.equal(error.name, 'WebSocketError');
    assert.equal(error.code, 0, 'no legacy code for this name');
    assert.ok(error instanceof DOMException);
    assert.ok(error instanceof Error);
    assert.equal(Object.prototype.toString.call(error), '[object WebSocketError]');
  });

  it('keeps the message, the closeCode and the reason', () => {
    const error = new WebSocketError('it broke', { closeCode: 4000, reason: 'because ✓' });
    assert.deepEqual(
      [error.message, error.closeCode, error.reason],
      ['it broke', 4000, 'because ✓'],
    );
    const plain = new WebSocketError('m', { closeCode: 1000 });
    assert.deepEqual([plain.closeCode, plain.reason], [1000, '']);
  });

  it('a reason without a closeCode gives closeCode 1000; an empty reason does not', () => {
    assert.equal(new WebSocketError('', { reason: 'r' }).closeCode, 1000);
    assert.equal(new WebSocketError('', { reason: '' }).closeCode, null);
    assert.equal(new WebSocketError('', {}).closeCode, null);
  });

  it('a closeCode other than 1000 or 3000-4999 throws an InvalidAccessError', () => {
    for (const closeCode of [0, 999, 1001, 1005, 1006, 1015, 2999, 5000, 65535]) {
      throwsDOMException(
        () => new WebSocketError('', { closeCode }),
        'InvalidAccessError',
        `closeCode ${closeCode}`,
      );
    }
  });

  it('closeCode is clamped to 0-65535 and truncated before the check, as Chromium does (the interface is a proposal)', () => {
    // Probed in Chromium 156: each becomes 0 or 65535, or is truncated below 1000/3000.
    for (const closeCode of [-1, 65536, 1e10, NaN, Infinity, -Infinity, 2999.9, 999.9, -0.5]) {
      throwsDOMException(
        () => new WebSocketError('', { closeCode }),
        'InvalidAccessError',
        `closeCode ${closeCode}`,
      );
    }
    for (const closeCode of ['abc', null, true, '']) {
      throwsDOMException(
        () => new WebSocketError('', { closeCode: closeCode as unknown as number }),
        'InvalidAccessError',
        `closeCode ${String(closeCode)}`,
      );
    }
    assert.equal(new WebSocketError('', { closeCode: 3000.9 }).closeCode, 3000);
    assert.equal(new WebSocketError('', { closeCode: 4999.9 }).closeCode, 4999);
    assert.equal(new WebSocketError('', { closeCode: 1000.2 }).closeCode, 1000);
    assert.equal(
      new WebSocketError('', { closeCode: ' 4001 ' as unknown as number }).closeCode,
      4001,
    );
    // A BigInt cannot become a number (WebIDL): a TypeError.
    assert.throws(
      () => new WebSocketError('', { closeCode: 4000n as unknown as number }),
      TypeError,
    );
  });

  it('a reason over 123 bytes of UTF-8 throws a SyntaxError; 123 bytes are fine', () => {
    for (const reason of ['x'.repeat(124), 'é'.repeat(62), `${'😀'.repeat(31)}`]) {
      throwsDOMException(() => new WebSocketError('', { closeCode: 1000, reason }), 'SyntaxError');
      throwsDOMException(() => new WebSocketError('', { reason }), 'SyntaxError');
    }
    assert.equal(new WebSocketError('', { reason: 'x'.repeat(123) }).reason, 'x'.repeat(123));
    assert.equal(new WebSocketError('', { reason: `${'é'.repeat(61)}a` }).closeCode, 1000);
  });

  it('the closeCode is checked before the reason', () => {
    throwsDOMException(
      () => new WebSocketError('', { closeCode: 1001, reason: 'x'.repeat(200) }),
      'InvalidAccessError',
    );
  });

  it('the reason is a USVString: lone surrogates become U+FFFD (and count 3 bytes)', () => {
    assert.equal(new WebSocketError('', { reason: 'a\uD800' }).reason, 'a\uFFFD');
    throwsDOMException(
      () => new WebSocketError('', { reason: '\uDC00'.repeat(42) }),
      'SyntaxError',
    );
    assert.equal(
      new WebSocketError('', { reason: '\uDC00'.repeat(41) }).reason,
      '\uFFFD'.repeat(41),
    );
  });

  it('closeCode and reason are read-only accessors on the prototype', () => {
    for (const name of ['closeCode', 'reason']) {
      const descriptor = Object.getOwnPropertyDescriptor(WebSocketError.prototype, name);
      assert.ok(descriptor?.get !== undefined, `${name} has a getter`);
      assert.equal(descriptor.set, undefined, `${name} has no setter`);
    }
    const error = new WebSocketError('', { closeCode: 3000 });
    assert.throws(() => {
      (error as unknown as { closeCode: number }).closeCode = 4000;
    }, TypeError);
    assert.equal(error.closeCode, 3000);
  });
});
