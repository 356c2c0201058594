import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseEvent } from '../../src/whatwg/index.js';

describe('CloseEvent (§5 "The CloseEvent interface")', () => {
  it('defaults: wasClean false, code 0, reason ""', () => {
    const event = new CloseEvent('close');
    assert.equal(event.type, 'close');
    assert.deepEqual([event.wasClean, event.code, event.reason], [false, 0, '']);
    assert.ok(event instanceof Event);
    assert.equal(Object.prototype.toString.call(event), '[object CloseEvent]');
  });

  it('requires the type argument (WebIDL: TypeError)', () => {
    assert.throws(() => Reflect.construct(CloseEvent, []), TypeError);
    assert.equal(CloseEvent.length, 1);
  });

  it('takes wasClean, code and reason from the init dictionary, and EventInit too', () => {
    const event = new CloseEvent('x', {
      wasClean: true,
      code: 4000,
      reason: 'ok ✓',
      bubbles: true,
      cancelable: true,
    });
    assert.deepEqual(
      [event.type, event.wasClean, event.code, event.reason, event.bubbles, event.cancelable],
      ['x', true, 4000, 'ok ✓', true, true],
    );
  });

  it('code is an unsigned short (WebIDL modulo conversion); reason a USVString', () => {
    assert.equal(new CloseEvent('close', { code: 65537 }).code, 1);
    assert.equal(new CloseEvent('close', { code: -1 }).code, 65535);
    assert.equal(new CloseEvent('close', { code: 1000.9 }).code, 1000);
    assert.equal(new CloseEvent('close', { code: NaN }).code, 0);
    assert.equal(new CloseEvent('close', { reason: 'a\uD800' }).reason, 'a\uFFFD');
    assert.equal(new CloseEvent('close', { wasClean: 1 as unknown as boolean }).wasClean, true);
  });

  it('the attributes are read-only', () => {
    const event = new CloseEvent('close', { code: 1000 });
    assert.throws(() => {
      (event as unknown as { code: number }).code = 1;
    }, TypeError);
    assert.equal(event.code, 1000);
  });
});
