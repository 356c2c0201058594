import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AdapterSink,
  compareSeq,
  type Delivery,
  FIRST_PREV,
  LocalAdapter,
  type UndeliveredReport,
} from '../../src/pubsub/index.js';

function recorder(): AdapterSink & { delivered: Delivery[]; reports: UndeliveredReport[] } {
  const delivered: Delivery[] = [];
  const reports: UndeliveredReport[] = [];
  return {
    delivered,
    reports,
    deliver: (d) => delivered.push(d),
    undelivered: (r) => reports.push(r),
  };
}

const msg = (topic: string, text: string) => ({
  topic,
  data: Buffer.from(text),
  binary: false,
  compress: true,
});

describe('LocalAdapter (the in-process broker)', () => {
  it('delivers at once, in order, each with a growing seq chained to the one before', () => {
    const adapter = new LocalAdapter();
    const sink = recorder();
    adapter.start(sink);
    adapter.subscribe('t');
    for (const text of ['a', 'b', 'c'])
      assert.equal(adapter.publish(msg('t', text), undefined), true);
    assert.deepEqual(
      sink.delivered.map((d) => d.data.toString()),
      ['a', 'b', 'c'],
    );
    const [a, b, c] = sink.delivered;
    assert.equal(a!.prev, FIRST_PREV);
    assert.equal(b!.prev, a!.seq);
    assert.equal(c!.prev, b!.seq);
    assert.ok(compareSeq(a!.seq, b!.seq) < 0 && compareSeq(b!.seq, c!.seq) < 0);
  });

  it('hands `except` back with the delivery, untouched', () => {
    const adapter = new LocalAdapter();
    const sink = recorder();
    adapter.start(sink);
    adapter.subscribe('t');
    const token = { me: true };
    adapter.publish(msg('t', 'x'), token);
    assert.equal(sink.delivered[0]!.except, token);
  });

  it('a topic nobody subscribes to delivers nothing and returns false', () => {
    const adapter = new LocalAdapter();
    const sink = recorder();
    adapter.start(sink);
    assert.equal(adapter.publish(msg('nobody', 'x'), undefined), false);
    adapter.subscribe('t');
    adapter.unsubscribe('t');
    assert.equal(adapter.publish(msg('t', 'x'), undefined), false);
    assert.equal(sink.delivered.length, 0);
  });

  it('serves one server only', () => {
    const adapter = new LocalAdapter();
    adapter.start(recorder());
    assert.throws(() => adapter.start(recorder()), /already serves/);
  });

  it('refuses a negative or fractional history', () => {
    assert.throws(() => new LocalAdapter({ history: -1 }), TypeError);
    assert.throws(() => new LocalAdapter({ history: 1.5 }), TypeError);
    assert.throws(() => new LocalAdapter({ historyTtl: -5 }), TypeError);
  });
});

describe('LocalAdapter history', () => {
  it('replays what came after `since`, complete while the window reaches back to it', async () => {
    const adapter = new LocalAdapter({ history: 3 });
    const sink = recorder();
    adapter.start(sink);
    adapter.subscribe('t');
    for (const text of ['1', '2', '3', '4', '5']) adapter.publish(msg('t', text), undefined);
    const seqs = sink.delivered.map((d) => d.seq);
    // The window holds 3, 4 and 5.
    let h = await adapter.history('t', seqs[2]!);
    assert.deepEqual(
      h.messages.map((m) => m.data.toString()),
      ['4', '5'],
    );
    assert.equal(h.complete, true);
    h = await adapter.history('t', seqs[1]!);
    assert.deepEqual(
      h.messages.map((m) => m.data.toString()),
      ['3', '4', '5'],
    );
    assert.equal(h.complete, true, '2 is the predecessor of 3: nothing missing');
    h = await adapter.history('t', seqs[0]!);
    assert.deepEqual(
      h.messages.map((m) => m.data.toString()),
      ['3', '4', '5'],
    );
    assert.equal(h.complete, false, '2 is gone');
    h = await adapter.history('t', seqs[4]!);
    assert.deepEqual(h.messages, []);
    assert.equal(h.complete, true, 'up to date');
    h = await adapter.history('t', FIRST_PREV);
    assert.equal(h.complete, false, 'from the start: 1 and 2 are gone');
    assert.equal(h.messages[0]!.except, undefined, 'history carries no except');
  });

  it('without history, a replay can only say whether anything was missed', async () => {
    const adapter = new LocalAdapter();
    const sink = recorder();
    adapter.start(sink);
    adapter.subscribe('t');
    adapter.publish(msg('t', 'a'), undefined);
    adapter.publish(msg('t', 'b'), undefined);
    const [a, b] = sink.delivered;
    assert.deepEqual(await adapter.history('t', b!.seq), { messages: [], complete: true });
    assert.deepEqual(await adapter.history('t', a!.seq), { messages: [], complete: false });
    assert.deepEqual(await adapter.history('unknown', '1-1'), { messages: [], complete: true });
  });

  it('keeps history of a topic without subscribers until it has been idle for historyTtl', async () => {
    let now = 1_000_000;
    const adapter = new LocalAdapter({ history: 10, historyTtl: 60_000, now: () => now });
    adapter.start(recorder());
    assert.equal(adapter.publish(msg('t', 'kept'), undefined), false, 'no subscriber');
    const h = await adapter.history('t', FIRST_PREV);
    assert.deepEqual(
      h.messages.map((m) => m.data.toString()),
      ['kept'],
    );
    assert.equal(h.complete, true);
    const first = h.messages[0]!.seq;
    now += 59_000;
    adapter.publish(msg('other', 'x'), undefined);
    assert.equal(
      (await adapter.history('t', FIRST_PREV)).messages.length,
      1,
      'not idle long enough',
    );
    now += 61_000;
    adapter.publish(msg('other', 'y'), undefined); // the sweep runs on a publish
    assert.equal((await adapter.history('t', FIRST_PREV)).messages.length, 0, 'dropped');
    // A new log of the same topic numbers after the old one: ids never go back.
    adapter.publish(msg('t', 'again'), undefined);
    const again = (await adapter.history('t', FIRST_PREV)).messages[0]!;
    assert.ok(compareSeq(again.seq, first) > 0);
  });

  it('a subscribed topic keeps its history however long it is idle', async () => {
    let now = 0;
    const adapter = new LocalAdapter({ history: 2, historyTtl: 10, now: () => now });
    adapter.start(recorder());
    adapter.subscribe('t');
    adapter.publish(msg('t', 'a'), undefined);
    now += 1_000_000;
    adapter.publish(msg('x', 'sweep'), undefined);
    assert.equal((await adapter.history('t', FIRST_PREV)).messages.length, 1);
  });

  it('close stops deliveries', async () => {
    const adapter = new LocalAdapter({ history: 2 });
    const sink = recorder();
    adapter.start(sink);
    adapter.subscribe('t');
    await adapter.close();
    adapter.publish(msg('t', 'late'), undefined);
    assert.equal(sink.delivered.length, 0);
  });
});

describe('LocalAdapter memory bounds (issue 11)', () => {
  const big = (topic: string, n: number, size: number) => ({
    topic,
    data: Buffer.alloc(size, n),
    binary: true,
    compress: false,
  });

  it('historyBytes: the history is capped in bytes as well as in messages, oldest first', async () => {
    const adapter = new LocalAdapter({ history: 1000, historyBytes: 10_000 });
    adapter.start(recorder());
    adapter.subscribe('t');
    for (let n = 0; n < 50; n++) adapter.publish(big('t', n, 3000), undefined);
    const { messages, complete } = await adapter.history('t', FIRST_PREV);
    assert.deepEqual(
      messages.map((m) => m.data[0]),
      [47, 48, 49],
      'the newest that fit in 10,000 bytes',
    );
    assert.equal(complete, false);
    // A message larger than the budget is not kept at all (nor does it keep older ones).
    adapter.publish(big('t', 99, 20_000), undefined);
    assert.deepEqual((await adapter.history('t', FIRST_PREV)).messages, []);
    adapter.publish(big('t', 7, 10), undefined);
    assert.deepEqual(
      (await adapter.history('t', FIRST_PREV)).messages.map((m) => m.data[0]),
      [7],
    );
  });

  it('history stays in order over many trims (the ring compacts)', async () => {
    const adapter = new LocalAdapter({ history: 5 });
    adapter.start(recorder());
    for (let n = 0; n < 500; n++) adapter.publish(big('t', n & 0xff, 1), undefined);
    const { messages } = await adapter.history('t', FIRST_PREV);
    assert.deepEqual(
      messages.map((m) => m.data[0]),
      [495, 496, 497, 498, 499].map((n) => n & 0xff),
    );
  });

  it('maxTopics: a new topic replaces the longest-idle history; with none idle it keeps none', async () => {
    let now = 1_000_000;
    const adapter = new LocalAdapter({ history: 10, maxTopics: 2, now: () => now });
    adapter.start(recorder());
    adapter.publish(big('a', 1, 1), undefined);
    now += 10;
    adapter.publish(big('b', 2, 1), undefined);
    now += 10;
    adapter.publish(big('c', 3, 1), undefined);
    assert.equal((await adapter.history('a', FIRST_PREV)).messages.length, 0, 'a evicted');
    assert.equal((await adapter.history('b', FIRST_PREV)).messages.length, 1);
    assert.equal((await adapter.history('c', FIRST_PREV)).messages.length, 1);
    // Both topics have subscribers: nothing can be evicted, a third topic keeps nothing.
    adapter.subscribe('b');
    adapter.subscribe('c');
    assert.equal(adapter.publish(big('d', 4, 1), undefined), false);
    assert.equal((await adapter.history('d', FIRST_PREV)).messages.length, 0);
    assert.equal((await adapter.history('b', FIRST_PREV)).messages.length, 1);
  });

  it('refuses a bad historyBytes or maxTopics', () => {
    assert.throws(() => new LocalAdapter({ historyBytes: 0 }), TypeError);
    assert.throws(() => new LocalAdapter({ maxTopics: 1.5 }), TypeError);
  });
});
