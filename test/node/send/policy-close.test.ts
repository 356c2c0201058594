// The 'close' backpressure policy (src/node/send/backpressure-policy.ts): over the limit, the
// connection fails; alone and driving the send queue.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Backlog,
  closePolicy,
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

describe("backpressure policy 'close'", () => {
  it('is one shared object', () => {
    assert.equal(sendPolicy('close'), closePolicy);
  });

  it('admits while the transport and the queue together are within the limit', () => {
    assert.equal(closePolicy.admit({ first: true }, backlog(60, 40), false), GO);
    assert.equal(closePolicy.admit({ first: false }, backlog(0, 100), false), GO);
  });

  it('fails over the limit, whole messages and fragments alike', () => {
    assert.equal(closePolicy.admit({ first: true }, backlog(61, 40), false), FAIL);
    assert.equal(closePolicy.admit({ first: false }, backlog(0, 101), false), FAIL);
  });

  it('through the queue: a sender ignoring false fails the connection; every callback gets the error once', async () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'close' });
    writer.pending = 100; // the hold mark is min(1 MiB, limit)
    const calls: string[] = [];
    const cb = (name: string) => (e?: Error | null) => calls.push(`${name}:${e?.message ?? 'ok'}`);
    // Heeded (no false answer pending): goes into the queue even over the limit.
    assert.equal(sendText(box, 'x'.repeat(200), { cb: cb('big') }), false);
    assert.equal(writer.failed, undefined);
    assert.equal(sendText(box, 'y', { cb: cb('ignored') }), false);
    assert.match(writer.failed ?? '', /over its limit/);
    await settle();
    assert.deepEqual(calls.sort(), [
      'big:WebSocket is not open: readyState 2+ (CLOSING or CLOSED)',
      'ignored:WebSocket is not open: readyState 2+ (CLOSING or CLOSED)',
    ]);
    assert.equal(box.heldBytes, 0);
    assert.equal(writer.dropped.length, 0);
  });

  it('a publish meets the policy (the publisher does not wait for drain)', () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'close' });
    writer.pending = 101;
    assert.equal(box.publish(Buffer.from('p'), 1, false), false);
    assert.ok(writer.failed !== undefined);
  });
});
