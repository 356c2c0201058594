// The 'drop-newest' backpressure policy (src/node/send/backpressure-policy.ts): over the limit,
// the new message is dropped, with the rest of it for a first fragment; a later fragment
// cannot be dropped (the message would be cut in two): the connection fails.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Backlog,
  DROP_NEWEST,
  dropNewestPolicy,
  FAIL,
  GO,
  sendPolicy,
} from '../../../src/node/send/backpressure-policy.js';
import { queueWith, sendText, settle } from '../../helpers/fake-writer.js';

const backlog = (pending: number, heldCost: number, limit = 100): Backlog => ({
  heldBytes: heldCost,
  heldCost,
  limit,
  pendingBytes: () => pending,
});

describe("backpressure policy 'drop-newest'", () => {
  it('is one shared object', () => {
    assert.equal(sendPolicy('drop-newest'), dropNewestPolicy);
  });

  it('admits within the limit, drops a whole message or first fragment over it', () => {
    assert.equal(dropNewestPolicy.admit({ first: true }, backlog(50, 50), false), GO);
    assert.equal(dropNewestPolicy.admit({ first: true }, backlog(51, 50), false), DROP_NEWEST);
  });

  it('fails for a later fragment over the limit', () => {
    assert.equal(dropNewestPolicy.admit({ first: false }, backlog(51, 50), false), FAIL);
    assert.equal(dropNewestPolicy.admit({ first: false }, backlog(0, 10), false), GO);
  });

  it('through the queue: drops the newest, reports it, counts it, calls back with the error', async () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'drop-newest' });
    writer.pending = 100;
    const calls: string[] = [];
    sendText(box, 'a'.repeat(50), { cb: (e) => calls.push(`a:${e?.message ?? 'ok'}`) });
    sendText(box, 'b'.repeat(10), { cb: (e) => calls.push(`b:${(e as { code?: string })?.code}`) });
    await settle();
    assert.deepEqual(calls, ['b:WS_ERR_MESSAGE_DROPPED']);
    assert.deepEqual(writer.dropped, [{ bytes: 10, isBinary: false, policy: 'drop-newest' }]);
    assert.equal(box.droppedMessages, 1);
    assert.equal(box.droppedBytes, 10);
    assert.equal(box.heldBytes, 50);
    writer.pending = 0;
    box.onTransportDrain();
    await settle();
    assert.deepEqual(writer.texts(), ['a'.repeat(50)]);
    assert.deepEqual(calls, ['b:WS_ERR_MESSAGE_DROPPED', 'a:ok']);
  });

  it('a message larger than the limit goes when the sender heeds false answers', () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'drop-newest' });
    writer.pending = 100;
    sendText(box, 'x'.repeat(500));
    assert.equal(box.heldBytes, 500);
    writer.pending = 0;
    box.onTransportDrain();
    assert.deepEqual(writer.texts(), ['x'.repeat(500)]);
    assert.equal(writer.dropped.length, 0);
  });

  it('a dropped first fragment drops the rest of its message; one event for the whole', async () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'drop-newest' });
    writer.pending = 100;
    sendText(box, 'held');
    const codes: string[] = [];
    const cb = (e?: Error | null) => codes.push(String((e as { code?: string })?.code));
    sendText(box, 'f1', { fin: false, cb });
    sendText(box, 'f2', { fin: false, cb });
    writer.pending = 0;
    sendText(box, 'f3', { cb });
    await settle();
    assert.deepEqual(codes, Array(3).fill('WS_ERR_MESSAGE_DROPPED'));
    assert.deepEqual(writer.dropped, [{ bytes: 6, isBinary: false, policy: 'drop-newest' }]);
    assert.equal(box.droppedMessages, 1);
    assert.equal(box.droppedBytes, 6);
    box.onTransportDrain();
    sendText(box, 'next');
    assert.deepEqual(writer.texts(), ['held', 'next']);
    assert.deepEqual(writer.violations, []);
  });

  it('a later fragment over the limit fails the connection', () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'drop-newest' });
    sendText(box, 'f1', { fin: false }); // straight to the wire
    writer.pending = 100;
    sendText(box, 'f2', { fin: false }); // heeded: queued
    sendText(box, 'f3'); // ignored false, over the limit: cannot be dropped
    assert.match(writer.failed ?? '', /over its limit/);
    assert.equal(writer.dropped.length, 0);
  });
});
