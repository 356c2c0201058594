// tsws/whatwg's message events look like Chromium's (issue 11): the class string, and `ports`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageEvent as WhatwgMessageEvent } from '../../src/whatwg/message-event.js';

describe('whatwg: MessageEvent', () => {
  it('has the class string [object MessageEvent] and is a MessageEvent', () => {
    const event = new WhatwgMessageEvent('message', { data: 'x', origin: 'ws://127.0.0.1' });
    assert.equal(Object.prototype.toString.call(event), '[object MessageEvent]');
    assert.ok(event instanceof MessageEvent);
    assert.equal(event.constructor.name, 'MessageEvent');
    assert.equal(event.data, 'x');
    assert.equal(event.origin, 'ws://127.0.0.1');
  });

  it('ports is a frozen empty array, the same at each access', () => {
    const event = new WhatwgMessageEvent('message', { data: 'x' });
    const ports = event.ports;
    assert.ok(Array.isArray(ports));
    assert.equal(ports.length, 0);
    assert.ok(Object.isFrozen(ports));
    assert.equal(event.ports, ports);
  });
});
