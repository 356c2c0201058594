// Sequence ids on the Node binding: the sequenced form of a subscription, `server.replay`
// (history, then live messages with no gap or repeat), and a custom adapter's life with the
// server (started at construction, closed with the server, `undelivered` reports).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AdapterSink,
  compareSeq,
  type Delivery,
  ErrorCode,
  type History,
  LocalAdapter,
  type PubSubAdapter,
  type PubSubMessage,
  type UndeliveredReport,
} from '../../src/index.js';
import { next, nextMessage, startServer } from '../helpers/node-util.js';
import { connect, pairs, texts } from '../helpers/pubsub-util.js';

interface Sequenced {
  topic: string;
  seq: string;
  prev: string;
  data: string;
  binary?: true;
}

const parse = (list: string[]) => list.map((text) => JSON.parse(text) as Sequenced);

describe('pub/sub: the sequenced form', () => {
  it('a sequenced subscriber gets JSON with topic, seq and prev; a plain one the message', async (t) => {
    const {
      wss,
      pairs: [plain, seqd],
    } = await pairs(t, 2);
    plain!.server.subscribe('room');
    seqd!.server.subscribe('room', { sequenced: true });
    const gotPlain = texts(plain!.client, 3);
    const gotSeq = texts(seqd!.client, 3);
    wss.publish('room', 'one');
    wss.publish('room', Buffer.from([0, 1, 255]));
    wss.publish('room', 'three');
    assert.deepEqual(await gotPlain, ['one', '<0001ff>', 'three']);
    const [a, b, c] = parse(await gotSeq);
    assert.deepEqual([a!.topic, a!.data, a!.binary], ['room', 'one', undefined]);
    assert.deepEqual([b!.data, b!.binary], [Buffer.from([0, 1, 255]).toString('base64'), true]);
    assert.equal(c!.data, 'three');
    assert.equal(b!.prev, a!.seq);
    assert.equal(c!.prev, b!.seq);
    assert.ok(compareSeq(a!.seq, c!.seq) < 0);
  });

  it('subscribing again changes the form', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('room', { sequenced: true });
    a!.server.subscribe('room');
    const got = nextMessage(a!.client);
    wss.publish('room', 'plain now');
    assert.equal((await got).data.toString(), 'plain now');
  });
});

describe('pub/sub: replay', () => {
  it('sends what came after `since` from the history, then the live messages', async (t) => {
    const { wss, url } = await startServer(t, { pubsub: { history: 5 } });
    const watcher = await connect(t, wss, url);
    watcher.server.subscribe('room', { sequenced: true });
    const seen = texts(watcher.client, 8);
    for (let i = 1; i <= 8; i++) wss.publish('room', `m${i}`);
    const seqs = parse(await seen).map((m) => m.seq);

    // A client that saw up to m5 comes back: m6..m8 are in the window.
    const back = await connect(t, wss, url);
    const got = texts(back.client, 4);
    const result = await wss.replay(back.server, 'room', seqs[4]!, { sequenced: true });
    assert.deepEqual(result, { replayed: 3, complete: true });
    wss.publish('room', 'm9');
    assert.deepEqual(
      parse(await got).map((m) => m.data),
      ['m6', 'm7', 'm8', 'm9'],
    );
    assert.equal(back.server.isSubscribed('room'), true, 'replay subscribes');

    // One that saw only m1: m2 and m3 are gone (the window is 5: m4..m8... and m9).
    const late = await connect(t, wss, url);
    const gotLate = texts(late.client, 5);
    const lateResult = await wss.replay(late.server, 'room', seqs[0]!);
    assert.deepEqual(lateResult, { replayed: 5, complete: false });
    assert.deepEqual(await gotLate, ['m5', 'm6', 'm7', 'm8', 'm9'], 'plain form: as published');
  });

  it('live messages published while the history is read come after it, none twice', async (t) => {
    const inner = new LocalAdapter({ history: 100 });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The history is read while more messages are published.
    const adapter: PubSubAdapter = {
      start: (sink) => inner.start(sink),
      subscribe: (topic) => inner.subscribe(topic),
      unsubscribe: (topic) => inner.unsubscribe(topic),
      publish: (message, except) => inner.publish(message, except),
      history: async (topic, since) => {
        const history = await inner.history(topic, since);
        await gate;
        return history;
      },
      close: () => inner.close(),
    };
    const { wss, url } = await startServer(t, { pubsub: { adapter } });
    for (let i = 1; i <= 3; i++) wss.publish('room', `m${i}`);
    const c = await connect(t, wss, url);
    const got = texts(c.client, 6);
    const replay = wss.replay(c.server, 'room', '0-0', { sequenced: true });
    for (let i = 4; i <= 6; i++) wss.publish('room', `m${i}`);
    release();
    assert.deepEqual(await replay, { replayed: 3, complete: true });
    const messages = parse(await got);
    assert.deepEqual(
      messages.map((m) => m.data),
      ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'],
    );
    for (let i = 1; i < messages.length; i++) assert.equal(messages[i]!.prev, messages[i - 1]!.seq);
  });

  it('refuses a since that is not a sequence id, and a second replay of the same topic at once', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1, { pubsub: { history: 2 } });
    await assert.rejects(wss.replay(a!.server, 'room', 'yesterday'), {
      code: ErrorCode.InvalidArgument,
    });
    const first = wss.replay(a!.server, 'room', '0-0');
    await assert.rejects(wss.replay(a!.server, 'room', '0-0'), { code: ErrorCode.InvalidState });
    await first;
    await wss.replay(a!.server, 'room', '0-0'); // once over, again is fine
  });

  it('a replay for a connection that is not open sends nothing', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1, { pubsub: { history: 2 } });
    wss.publish('room', 'x');
    const closed = next(a!.server, 'close');
    a!.client.terminate();
    await closed;
    assert.deepEqual(await wss.replay(a!.server, 'room', '0-0'), {
      replayed: 0,
      complete: false,
    });
  });
});

describe('pub/sub: the adapter and the server', () => {
  class SpyAdapter implements PubSubAdapter {
    sink: AdapterSink | undefined;
    calls: string[] = [];
    start(sink: AdapterSink): void {
      this.sink = sink;
      this.calls.push('start');
    }
    subscribe(topic: string): void {
      this.calls.push(`subscribe ${topic}`);
    }
    unsubscribe(topic: string): void {
      this.calls.push(`unsubscribe ${topic}`);
    }
    publish(message: PubSubMessage): boolean {
      this.calls.push(`publish ${message.topic} ${message.data}`);
      return false;
    }
    history(): Promise<History> {
      return Promise.resolve({ messages: [], complete: true });
    }
    close(): Promise<void> {
      this.calls.push('close');
      return Promise.resolve();
    }
  }

  it('is started with the server, told of first and last subscribers, and closed with it', async (t) => {
    const adapter = new SpyAdapter();
    const { wss, url } = await startServer(t, { pubsub: { adapter } });
    assert.deepEqual(adapter.calls, ['start']);
    const a = await connect(t, wss, url);
    const b = await connect(t, wss, url);
    a.server.subscribe('x');
    b.server.subscribe('x');
    assert.equal(wss.publish('x', 'hi'), false, 'what the adapter said');
    a.server.unsubscribe('x');
    const closed = next(b.server, 'close');
    b.client.close();
    await closed;
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    assert.deepEqual(adapter.calls, [
      'start',
      'subscribe x',
      'publish x hi',
      'unsubscribe x',
      'close',
    ]);
    assert.equal(wss.publish('x', 'after close'), false);
  });

  it('delivers what the adapter hands over, and emits what it reports as undelivered', async (t) => {
    const adapter = new SpyAdapter();
    const { wss, url } = await startServer(t, { pubsub: { adapter } });
    const a = await connect(t, wss, url);
    a.server.subscribe('x');
    const got = nextMessage(a.client);
    const delivery: Delivery = {
      topic: 'x',
      data: Buffer.from('from elsewhere'),
      binary: false,
      compress: true,
      seq: '5-1',
      prev: '5-0',
      except: undefined,
    };
    adapter.sink!.deliver(delivery);
    assert.equal((await got).data.toString(), 'from elsewhere');
    const report: UndeliveredReport = { reason: 'gap', topic: 'x', after: '1-0', before: '5-0' };
    const emitted = next<[UndeliveredReport]>(wss, 'undelivered');
    adapter.sink!.undelivered(report);
    assert.deepEqual((await emitted)[0], report);
  });
});
