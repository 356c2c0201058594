// The send queue (src/node/send/outbox.ts) driven through a fake writer: order, asynchronous
// items, callbacks, `drain`, publishes around fragmented messages, abort.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedFrame } from '../../../src/pubsub/prepared-message.js';
import { FakeDeflate, queueWith, sendText, settle } from '../../helpers/fake-writer.js';

const HELD = 2 * 1024 * 1024;

describe('Outbox', () => {
  it('sends at once while nothing waits and the transport is under the hold mark', () => {
    const { writer, box } = queueWith();
    assert.equal(sendText(box, 'a'), true);
    assert.equal(sendText(box, 'b'), true);
    assert.deepEqual(writer.texts(), ['a', 'b']);
    assert.equal(box.active, false);
    assert.equal(box.heldBytes, 0);
    assert.equal(writer.drains, 0);
  });

  it('holds messages while the transport is backed up, then sends them in order and owes one drain', () => {
    const { writer, box } = queueWith();
    writer.pending = HELD;
    assert.equal(sendText(box, 'a'), false);
    assert.equal(sendText(box, 'bb'), false);
    assert.equal(box.heldBytes, 3);
    assert.deepEqual(writer.texts(), []);
    assert.ok(writer.awaits > 0, 'asks the transport for a drain notice');
    writer.pending = 0;
    box.onTransportDrain();
    assert.deepEqual(writer.texts(), ['a', 'bb']);
    assert.equal(box.heldBytes, 0);
    assert.equal(writer.drains, 1);
    box.onTransportDrain();
    assert.equal(writer.drains, 1, 'drain once per false answer');
  });

  it('keeps a later message behind one being compressed', async () => {
    const deflate = new FakeDeflate(4);
    const { writer, box } = queueWith({ deflate });
    assert.equal(sendText(box, 'compressed'), false);
    assert.equal(sendText(box, 'x'), false, 'below the threshold, but behind the compression');
    assert.deepEqual(writer.texts(), []);
    deflate.finish();
    await settle();
    assert.deepEqual(writer.texts(), ['z:compressed', 'x']);
    const first = writer.wire[0]!;
    assert.ok(first.kind === 'frame' && first.rsv1 === true);
  });

  it('sets RSV1 on the first fragment of a compressed message only, all fragments compressed', async () => {
    const deflate = new FakeDeflate(4);
    const { writer, box } = queueWith({ deflate });
    sendText(box, 'first', { fin: false });
    sendText(box, 'a', { fin: false }); // under the threshold: compressed like its message
    sendText(box, 'last');
    for (let i = 0; i < 3; i++) {
      deflate.finish();
      await settle();
    }
    assert.deepEqual(
      writer.wire.map((e) => (e.kind === 'frame' ? [e.text, e.rsv1, e.fin] : e.kind)),
      [
        ['z:first', true, false],
        ['z:a', false, false],
        ['z:last', false, true],
      ],
    );
    assert.deepEqual(writer.violations, []);
  });

  it('reads a Blob-like payload in order with the sends', async () => {
    const { writer, box } = queueWith();
    let release!: (bytes: Uint8Array) => void;
    const read = new Promise<Uint8Array>((resolve) => {
      release = resolve;
    });
    assert.equal(
      box.send(new Uint8Array(0), false, true, undefined, undefined, 4, () => read),
      false,
    );
    assert.equal(box.heldBytes, 4);
    sendText(box, 'after');
    await settle();
    assert.deepEqual(writer.texts(), []);
    release(Buffer.from('blob'));
    await settle();
    assert.deepEqual(writer.texts(), ['blob', 'after']);
  });

  it('an item whose preparation fails is reported once and what follows goes', async () => {
    const deflate = new FakeDeflate(0);
    const { writer, box } = queueWith({ deflate });
    deflate.failNext = true;
    const errors: (Error | null | undefined)[] = [];
    sendText(box, 'bad', { cb: (error) => errors.push(error) });
    sendText(box, 'good', { compress: false });
    deflate.finish();
    await settle();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /deflate failed/);
    assert.deepEqual(writer.texts(), ['good']);
    assert.equal(box.heldBytes, 0);
  });

  it('pings and pongs go ahead of ready messages held for the peer, behind those being prepared', async () => {
    const deflate = new FakeDeflate(4);
    const { writer, box } = queueWith({ deflate });
    writer.pending = HELD;
    sendText(box, 'ab', { compress: false });
    box.control(true, Buffer.from('p1'), undefined, undefined);
    assert.deepEqual(writer.wire, [{ kind: 'control', ping: true, text: 'p1' }]);
    sendText(box, 'being compressed');
    box.control(false, Buffer.from('p2'), undefined, undefined);
    assert.equal(writer.wire.length, 1, 'p2 waits: a message before it is still to be prepared');
    writer.pending = 0;
    box.onTransportDrain();
    deflate.finish();
    await settle();
    assert.deepEqual(
      writer.wire.map((e) => `${e.kind}:${'text' in e ? e.text : ''}`),
      ['control:p1', 'frame:ab', 'frame:z:being compressed', 'control:p2'],
    );
  });

  it('the close frame goes after everything queued before it', () => {
    const { writer, box } = queueWith();
    writer.pending = HELD;
    sendText(box, 'a');
    box.close(1000, 'bye');
    box.control(true, Buffer.from('late'), undefined, undefined);
    writer.pending = 0;
    box.onTransportDrain();
    assert.deepEqual(
      writer.wire.map((e) => e.kind),
      ['frame', 'close', 'control'],
    );
  });

  it('a message queued when the connection no longer sends fails its callback', async () => {
    const { writer, box } = queueWith();
    writer.pending = HELD;
    const errors: (Error | null | undefined)[] = [];
    sendText(box, 'a', { cb: (error) => errors.push(error) });
    writer.open = false;
    writer.pending = 0;
    box.onTransportDrain();
    await settle();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /not open/);
    assert.deepEqual(writer.texts(), []);
  });

  it('abort fails every waiting callback once and wakes waiters', async () => {
    const deflate = new FakeDeflate(0);
    const { writer, box } = queueWith({ deflate });
    const calls: string[] = [];
    sendText(box, 'compressing', { cb: (e) => calls.push(`a:${e?.message}`) });
    sendText(box, 'waiting', { cb: (e) => calls.push(`b:${e?.message}`) });
    box.control(true, Buffer.from('p'), undefined, (e) => calls.push(`p:${e?.message}`));
    let woke = 0;
    void box.whenIdle().then(() => woke++);
    void box.drained(() => true).then(() => woke++);
    box.abort();
    deflate.finish(); // the compression finishes after the abort: reports nothing more
    await settle();
    await settle();
    assert.equal(calls.length, 3);
    for (const call of calls) assert.match(call, /not open/);
    assert.equal(woke, 2);
    assert.equal(box.heldBytes, 0);
    assert.deepEqual(writer.texts(), []);
  });

  it('publishes never go inside a fragmented message (RFC 6455 §5.4)', () => {
    const { writer, box } = queueWith();
    sendText(box, 'f1', { fin: false });
    assert.equal(box.publish(Buffer.from('pub'), 3, false), true);
    assert.equal(box.idle, false, 'the publish waits for the end of the message');
    sendText(box, 'f2', { fin: false });
    sendText(box, 'f3');
    assert.deepEqual(writer.texts(), ['f1', 'f2', 'f3', 'pub']);
    assert.deepEqual(writer.violations, []);
    assert.equal(box.idle, true);
  });

  it('a queue created in the middle of a message sent straight to the wire defers publishes too', () => {
    const { writer, box } = queueWith({ midMessage: true });
    box.publish(Buffer.from('pub'), 3, false);
    assert.deepEqual(writer.texts(), []);
    sendText(box, 'end');
    assert.deepEqual(writer.texts(), ['end', 'pub']);
  });

  it('publishes held while a message never ends are dropped by close', () => {
    const { writer, box } = queueWith();
    sendText(box, 'f1', { fin: false });
    box.publish(Buffer.from('pub'), 3, false);
    assert.equal(box.heldBytes, 3);
    box.close(1000, undefined);
    assert.equal(box.heldBytes, 0);
    assert.deepEqual(writer.texts(), ['f1']);
    assert.deepEqual(
      writer.wire.map((e) => e.kind),
      ['frame', 'close'],
    );
  });

  it('a publish whose shared frame is being made holds its place', () => {
    const { writer, box } = queueWith();
    let make!: (error: Error | null, frame?: Buffer) => void;
    const shared = new SharedFrame(
      (done) => {
        make = done;
      },
      () => Buffer.from('fallback'),
    );
    box.publish(shared, 6, false);
    sendText(box, 'after');
    assert.deepEqual(writer.texts(), []);
    make(null, Buffer.from('shared'));
    assert.deepEqual(writer.texts(), ['shared', 'after']);
  });

  it('whenIdle resolves once nothing waits and the transport is under the hold mark', async () => {
    const { writer, box } = queueWith();
    writer.pending = HELD;
    sendText(box, 'a');
    let idle = false;
    void box.whenIdle().then(() => {
      idle = true;
    });
    await settle();
    assert.equal(idle, false);
    writer.pending = 0;
    box.onTransportDrain();
    await settle();
    assert.equal(idle, true);
  });

  it('callbacks of messages sent at once and queued are each called once, without error', async () => {
    const { writer, box } = queueWith();
    const calls: (Error | null | undefined)[] = [];
    sendText(box, 'now', { cb: (e) => calls.push(e) });
    writer.pending = HELD;
    sendText(box, 'later', { cb: (e) => calls.push(e) });
    writer.pending = 0;
    box.pump();
    await settle();
    assert.deepEqual(calls, [null, null]);
  });

  it('a ping whose payload cannot be read is reported and leaves the counts alone', async () => {
    const { writer, box } = queueWith();
    writer.pending = HELD;
    sendText(box, 'held');
    const errors: (Error | null | undefined)[] = [];
    box.control(
      true,
      undefined,
      () => Promise.reject(new Error('unreadable')),
      (e) => errors.push(e),
    );
    await settle();
    writer.pending = 0;
    box.onTransportDrain();
    await settle();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /unreadable/);
    assert.equal(box.heldBytes, 0);
    assert.equal(box.heldCost, 0);
    assert.deepEqual(writer.texts(), ['held']);
  });

  it('after a compressed message in fragments is dropped, the next message chooses afresh', async () => {
    const deflate = new FakeDeflate(10);
    const { writer, box } = queueWith({ deflate, limit: 100, policy: 'drop-newest' });
    writer.pending = 100;
    sendText(box, 'x'.repeat(200), { compress: false }); // heeded: queued
    sendText(box, 'compressed first', { fin: false }); // dropped, with the rest of its message
    sendText(box, 'end');
    assert.equal(writer.dropped.length, 1);
    writer.pending = 0;
    box.onTransportDrain();
    assert.equal(sendText(box, 'small'), true, 'under the threshold: straight out, uncompressed');
    assert.deepEqual(writer.texts(), ['x'.repeat(200), 'small']);
  });
});
