// The 'drop-oldest' backpressure policy (src/node/send/backpressure-policy.ts): the limit counts
// what waits in the queue (what the transport holds is on its way); over it, the oldest whole
// messages waiting make room; when they cannot, the new message is dropped (a later fragment
// cannot be: the connection fails).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Backlog,
  DROP_NEWEST,
  DROP_OLDEST,
  dropOldestPolicy,
  FAIL,
  GO,
  sendPolicy,
} from '../../../src/node/send/backpressure-policy.js';
import { FakeDeflate, queueWith, sendText, settle } from '../../helpers/fake-writer.js';

const backlog = (pending: number, heldBytes: number, limit = 100): Backlog => ({
  heldBytes,
  heldCost: heldBytes,
  limit,
  pendingBytes: () => pending,
});

describe("backpressure policy 'drop-oldest'", () => {
  it('is one shared object', () => {
    assert.equal(sendPolicy('drop-oldest'), dropOldestPolicy);
  });

  it('counts only what waits in the queue', () => {
    assert.equal(dropOldestPolicy.admit({ first: true }, backlog(10_000, 100), false), GO);
  });

  it('over the limit asks for room first, then drops the new message or fails', () => {
    assert.equal(dropOldestPolicy.admit({ first: true }, backlog(0, 101), false), DROP_OLDEST);
    assert.equal(dropOldestPolicy.admit({ first: false }, backlog(0, 101), false), DROP_OLDEST);
    assert.equal(dropOldestPolicy.admit({ first: true }, backlog(0, 50), true), GO);
    assert.equal(dropOldestPolicy.admit({ first: true }, backlog(0, 101), true), DROP_NEWEST);
    assert.equal(dropOldestPolicy.admit({ first: false }, backlog(0, 101), true), FAIL);
  });

  it('through the queue: the oldest messages make room; the newest go, in order', async () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'drop-oldest' });
    writer.pending = 100;
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      sendText(box, `${i}`.repeat(40), {
        cb: (e) => codes.push(`${i}:${(e as { code?: string })?.code ?? 'ok'}`),
      });
    }
    await settle();
    // Each send over 100 held bytes drops the oldest until it fits.
    assert.ok(box.heldBytes <= 100 + 40);
    assert.ok(box.droppedMessages > 0);
    writer.pending = 0;
    box.onTransportDrain();
    await settle();
    const sent = writer.texts().map((t) => Number(t[0]));
    assert.deepEqual(sent, [...sent].sort(), 'in order');
    assert.equal(sent.at(-1), 5, 'the newest went');
    assert.equal(sent.length + box.droppedMessages, 6);
    for (const d of writer.dropped)
      assert.deepEqual(d, { bytes: 40, isBinary: false, policy: 'drop-oldest' });
    assert.equal(codes.length, 6, 'every callback once');
    assert.equal(
      codes.filter((c) => c.endsWith('WS_ERR_MESSAGE_DROPPED')).length,
      box.droppedMessages,
    );
  });

  it('a message larger than the limit makes room and goes', () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'drop-oldest' });
    writer.pending = 100;
    sendText(box, 'a'.repeat(60));
    sendText(box, 'b'.repeat(60));
    sendText(box, 'c'.repeat(300));
    writer.pending = 0;
    box.onTransportDrain();
    assert.deepEqual(writer.texts(), ['b'.repeat(60), 'c'.repeat(300)]);
    assert.equal(box.droppedMessages, 1);
  });

  it('never drops a message being compressed with this connection', async () => {
    const deflate = new FakeDeflate(0);
    const { writer, box } = queueWith({ limit: 100, policy: 'drop-oldest', deflate });
    sendText(box, 'a'.repeat(150)); // the head, compressing
    sendText(box, 'b'.repeat(10)); // ignored false: no room can be made (the head stays)
    await settle();
    assert.deepEqual(writer.dropped, [{ bytes: 10, isBinary: false, policy: 'drop-oldest' }]);
    deflate.finish();
    await settle();
    assert.deepEqual(writer.texts(), [`z:${'a'.repeat(150)}`]);
  });

  it('a later fragment when no room can be made fails the connection', () => {
    const { writer, box } = queueWith({ limit: 100, policy: 'drop-oldest' });
    writer.pending = 1024 * 1024;
    sendText(box, 'f1', { fin: false }); // heeded: queued (a first fragment)
    sendText(box, 'x'.repeat(200), { fin: false }); // within the limit when sent: queued
    assert.equal(writer.failed, undefined);
    // Over the limit, and the message's first fragment cannot make room (its continuation is
    // queued): this later fragment cannot be dropped either.
    sendText(box, 'f3', { fin: false });
    assert.match(writer.failed ?? '', /over its limit/);
    assert.equal(writer.dropped.length, 0);
  });
});
