import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import {
  type IpcChannel,
  IpcLogHub,
  type IpcLogHubOptions,
  type PubSubMessage,
  WorkerAdapter,
} from '../../../src/pubsub/index.js';
import { RecordingSink } from '../../helpers/memory-log.js';

/**
 * A primary's hub and its workers' adapters in one process: each direction of a channel is a
 * queue of structured clones delivered a turn later, as IPC does (Buffers arrive as
 * Uint8Arrays, the shape the `advanced` serialization may give).
 */
class Primary {
  readonly hub: IpcLogHub;
  private next = 0;
  inFlight = 0;

  constructor(options?: IpcLogHubOptions) {
    this.hub = new IpcLogHub(options);
  }

  worker() {
    const id = ++this.next;
    const channel = new EventEmitter() as EventEmitter & IpcChannel & { connected: boolean };
    channel.connected = true;
    channel.send = (message: unknown) => {
      if (!channel.connected) throw new Error('channel closed');
      this.later(() => this.hub.receive(id, structuredClone(message)));
      return true;
    };
    this.hub.attach(id, (message) => {
      this.later(() => {
        if (channel.connected) channel.emit('message', structuredClone(message));
      });
    });
    const adapter = new WorkerAdapter({ channel, retryMs: 1 });
    const sink = new RecordingSink();
    adapter.start(sink);
    const leave = () => {
      channel.connected = false;
      this.hub.detach(id);
    };
    return { id, adapter, sink, channel, leave };
  }

  private later(fn: () => void): void {
    this.inFlight++;
    setImmediate(() => {
      this.inFlight--;
      fn();
    });
  }

  /** Until nothing has been in flight for a few turns. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 5; ) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      quiet = this.inFlight === 0 ? quiet + 1 : 0;
    }
  }
}

const msg = (topic: string, text: string): PubSubMessage => ({
  topic,
  data: Buffer.from(text),
  binary: false,
  compress: false,
});

describe('WorkerAdapter through the primary (IpcLogHub)', () => {
  it('delivers each publish once to every worker subscribed, in one order, the publisher too', async () => {
    const primary = new Primary();
    const [a, b, c] = [primary.worker(), primary.worker(), primary.worker()];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    // c publishes without subscribing.
    await primary.settle();
    for (let i = 0; i < 20; i++) {
      assert.equal(a.adapter.publish(msg('t', `a${i}`), undefined), true);
      b.adapter.publish(msg('t', `b${i}`), undefined);
      c.adapter.publish(msg('t', `c${i}`), undefined);
    }
    await primary.settle();
    const seen = a.sink.texts('t');
    assert.equal(seen.length, 60);
    assert.deepEqual(b.sink.texts('t'), seen, 'the same order in both workers');
    assert.equal(new Set(seen).size, 60, 'each once');
    for (const who of ['a', 'b', 'c']) {
      const own = seen.filter((text) => text.startsWith(who));
      assert.deepEqual(
        own,
        Array.from({ length: 20 }, (_, i) => `${who}${i}`),
        `${who}'s publishes in the order it made them`,
      );
    }
    assert.equal(c.sink.delivered.length, 0, 'no subscription, no delivery');
    // Sequence ids grow and each names the one before it.
    const delivered = a.sink.delivered;
    for (let i = 1; i < delivered.length; i++) {
      assert.equal(delivered[i]!.prev, delivered[i - 1]!.seq);
    }
    assert.ok(Buffer.isBuffer(delivered[0]!.data));
    assert.deepEqual(
      [a, b].map((w) => w.sink.reports),
      [[], []],
    );
  });

  it('hands `except` back with an own publish only, once', async () => {
    const primary = new Primary();
    const [a, b] = [primary.worker(), primary.worker()];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await primary.settle();
    const token = { sender: 1 };
    a.adapter.publish(msg('t', 'x'), token);
    await primary.settle();
    assert.equal(a.sink.delivered.length, 1);
    assert.equal(a.sink.delivered[0]!.except, token);
    assert.equal(b.sink.delivered[0]!.except, undefined);
  });

  it('replays from the history the primary keeps, and says when it does not reach back', async () => {
    const primary = new Primary({ history: 5 });
    const a = primary.worker();
    a.adapter.subscribe('t');
    await primary.settle();
    for (let i = 0; i < 8; i++) a.adapter.publish(msg('t', `m${i}`), undefined);
    await primary.settle();
    const seqs = a.sink.delivered.map((d) => d.seq);
    const b = primary.worker();
    const recent = await b.adapter.history('t', seqs[5]!);
    assert.deepEqual(
      recent.messages.map((m) => m.data.toString()),
      ['m6', 'm7'],
    );
    assert.equal(recent.complete, true);
    // m0..m2 are gone (5 kept): a replay from m0 misses m1 and m2.
    const old = await b.adapter.history('t', seqs[0]!);
    assert.deepEqual(
      old.messages.map((m) => m.data.toString()),
      ['m3', 'm4', 'm5', 'm6', 'm7'],
    );
    assert.equal(old.complete, false);
  });

  it('a worker that subscribes while others publish gets what follows, with no gap reported', async () => {
    const primary = new Primary();
    const [a, b] = [primary.worker(), primary.worker()];
    a.adapter.subscribe('t');
    await primary.settle();
    // One publish a turn (a turn's publishes cross together), b subscribing meanwhile.
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 10; i++) {
      a.adapter.publish(msg('t', `m${i}`), undefined);
      await turn();
    }
    b.adapter.subscribe('t');
    for (let i = 10; i < 20; i++) {
      a.adapter.publish(msg('t', `m${i}`), undefined);
      await turn();
    }
    await primary.settle();
    const got = b.sink.texts('t');
    assert.ok(got.length >= 10, `b got ${got.length}`);
    assert.deepEqual(got, a.sink.texts('t').slice(20 - got.length), 'a tail of the one order');
    assert.deepEqual(b.sink.reports, []);
  });

  it('forgets a worker that left: its topics go, the others go on', async () => {
    const primary = new Primary();
    const [a, b] = [primary.worker(), primary.worker()];
    a.adapter.subscribe('t');
    b.adapter.subscribe('u');
    await primary.settle();
    assert.equal(primary.hub.topics, 2);
    b.leave();
    assert.equal(primary.hub.topics, 1, "b's topic has no subscriber left");
    // What b still had on its way is dropped (it would subscribe a worker that is gone).
    assert.equal(primary.hub.receive(b.id, { tsws: 'ps', op: 'sub', id: 9, topic: 'v' }), true);
    assert.equal(primary.hub.topics, 1);
    assert.equal(primary.hub.receive(b.id, { hello: 'not ours' }), false);
    a.adapter.publish(msg('t', 'still'), undefined);
    await primary.settle();
    assert.deepEqual(a.sink.texts('t'), ['still']);
    // b's channel is closed: its publishes fail at once and are reported.
    assert.equal(b.adapter.publish(msg('u', 'lost'), undefined), false);
    await primary.settle();
    assert.equal(b.sink.reports[0]?.reason, 'publish-failed');
  });

  it('unsubscribing stops the deliveries; close lets go of the channel', async () => {
    const primary = new Primary();
    const [a, b] = [primary.worker(), primary.worker()];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await primary.settle();
    b.adapter.unsubscribe('t');
    await primary.settle();
    a.adapter.publish(msg('t', 'x'), undefined);
    await primary.settle();
    assert.deepEqual(b.sink.texts('t'), []);
    assert.deepEqual(a.sink.texts('t'), ['x']);
    assert.equal(a.channel.listenerCount('message'), 1);
    await a.adapter.close();
    assert.equal(a.channel.listenerCount('message'), 0);
  });

  it('refuses to run without an IPC channel', () => {
    const channel = { on() {}, off() {} } as unknown as IpcChannel;
    assert.throws(() => new WorkerAdapter({ channel }), { code: 'WS_ERR_INVALID_STATE' });
  });
});
