// Topics on the Node binding (src/node/server-pubsub.ts and the delivery path in
// socket-base.ts/outbox.ts) with the default in-process broker: the API, what subscribers
// receive, `except`, order per topic and with the connection's own sends, framing once and
// one write per subscriber. Flow control and compression: pubsub-flow.test.ts; replay:
// pubsub-replay.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, WebSocket } from '../../src/index.js';
import { decodeFrames } from '../helpers/frames.js';
import { next, nextClose, nextMessage, until } from '../helpers/node-util.js';
import { countWrites, pairs, spyPrepared, texts } from '../helpers/pubsub-util.js';

/** Waits a little to show that nothing happens (an absence cannot be awaited as an event). */
const quietPeriod = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('pub/sub: subscriptions', () => {
  it('subscribe, isSubscribed, topics, unsubscribe and numSubscribers', async (t) => {
    const {
      wss,
      pairs: [a, b],
    } = await pairs(t, 2);
    assert.equal(a!.server.subscribe('news'), true);
    assert.equal(a!.server.subscribe('news'), false, 'already subscribed');
    assert.equal(a!.server.subscribe('sport'), true);
    assert.equal(b!.server.subscribe('news'), true);
    assert.equal(a!.server.isSubscribed('news'), true);
    assert.equal(b!.server.isSubscribed('sport'), false);
    assert.deepEqual(a!.server.topics, ['news', 'sport']);
    assert.equal(wss.numSubscribers('news'), 2);
    assert.equal(wss.numSubscribers('sport'), 1);
    assert.equal(wss.numSubscribers('nothing'), 0);
    assert.equal(a!.server.unsubscribe('news'), true);
    assert.equal(a!.server.unsubscribe('news'), false, 'not subscribed any more');
    assert.deepEqual(a!.server.topics, ['sport']);
    assert.equal(wss.numSubscribers('news'), 1);
  });

  it('a topic is any string; anything else is a TypeError', async (t) => {
    const {
      pairs: [a],
    } = await pairs(t, 1);
    assert.equal(a!.server.subscribe(''), true);
    assert.equal(a!.server.subscribe('a/b/ü 🌍'), true);
    assert.throws(() => a!.server.subscribe(42 as never), TypeError);
    assert.throws(() => a!.server.unsubscribe(undefined as never), TypeError);
  });

  it('a connection leaves its topics when it closes, before its close event', async (t) => {
    const {
      wss,
      pairs: [a, b],
    } = await pairs(t, 2);
    a!.server.subscribe('x');
    a!.server.subscribe('y');
    b!.server.subscribe('x');
    const closed = new Promise<[number, string[]]>((resolve) =>
      a!.server.on('close', () => resolve([wss.numSubscribers('x'), a!.server.topics])),
    );
    a!.client.close();
    const [countX, topics] = await closed;
    assert.equal(countX, 1);
    assert.deepEqual(topics, []);
    assert.equal(wss.numSubscribers('y'), 0);
    assert.equal(a!.server.subscribe('x'), false, 'a closed connection cannot subscribe');
    assert.equal(wss.numSubscribers('x'), 1);
  });

  it('a terminated connection leaves its topics too', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('x');
    const closed = next(a!.server, 'close');
    a!.client.terminate();
    await closed;
    assert.equal(wss.numSubscribers('x'), 0);
  });

  it('topics are for server connections: a client refuses to subscribe or publish', async (t) => {
    const {
      pairs: [a],
    } = await pairs(t, 1);
    assert.throws(() => a!.client.subscribe('x'), { code: ErrorCode.InvalidState });
    assert.throws(() => a!.client.publish('x', 'y'), { code: ErrorCode.InvalidState });
    assert.equal(a!.client.isSubscribed('x'), false);
    assert.equal(a!.client.unsubscribe('x'), false);
    assert.deepEqual(a!.client.topics, []);
    const lone = new WebSocket(null);
    assert.deepEqual(lone.topics, []);
  });
});

describe('pub/sub: publishing', () => {
  it('every subscriber gets the message, with its type; others do not', async (t) => {
    const {
      wss,
      pairs: [a, b, c],
    } = await pairs(t, 3);
    a!.server.subscribe('t');
    b!.server.subscribe('t');
    const onC: unknown[] = [];
    c!.client.on('message', (data) => onC.push(data));
    const atA = texts(a!.client, 5);
    const atB = texts(b!.client, 5);
    assert.equal(wss.publish('t', 'héllo'), true);
    wss.publish('t', Buffer.from([1, 2]));
    wss.publish('t', 'as binary', { binary: true });
    wss.publish('t', new Uint16Array([0x0102]).buffer);
    wss.publish('t', new Uint8Array([9, 8, 7]).subarray(1), { binary: false });
    const expected = [
      'héllo',
      '<0102>',
      `<${Buffer.from('as binary').toString('hex')}>`,
      '<0201>',
      '\b\u0007',
    ];
    assert.deepEqual(await atA, expected);
    assert.deepEqual(await atB, expected);
    await quietPeriod();
    assert.deepEqual(onC, []);
    assert.equal(wss.publish('nobody', 'x'), false, 'no subscriber: false');
  });

  it('publish refuses data it cannot send (TypeError), and a topic that is not a string', async (t) => {
    const { wss } = await pairs(t, 0);
    assert.throws(() => wss.publish('t', 42 as never), TypeError);
    assert.throws(() => wss.publish(Symbol('t') as never, 'x'), TypeError);
  });

  it('except leaves out one connection, or several', async (t) => {
    const { wss, pairs: ps } = await pairs(t, 3);
    for (const p of ps) p.server.subscribe('t');
    const got = ps.map(() => [] as string[]);
    for (const [i, p] of ps.entries()) p.client.on('message', (d) => got[i]!.push(d.toString()));
    wss.publish('t', 'not a', { except: ps[0]!.server });
    wss.publish('t', 'not a nor b', { except: [ps[0]!.server, ps[1]!.server] });
    wss.publish('t', 'not c', { except: new Set([ps[2]!.server]) });
    wss.publish('t', 'all');
    await until(
      () => got[0]!.length === 2 && got[1]!.length === 3 && got[2]!.length === 3,
      'deliveries',
    );
    assert.deepEqual(got, [
      ['not c', 'all'],
      ['not a', 'not c', 'all'],
      ['not a', 'not a nor b', 'all'],
    ]);
  });

  it('ws.publish reaches the other subscribers, not the publisher', async (t) => {
    const {
      pairs: [a, b],
    } = await pairs(t, 2);
    a!.server.subscribe('room');
    b!.server.subscribe('room');
    const atB = nextMessage(b!.client);
    const onA: string[] = [];
    a!.client.on('message', (d) => onA.push(d.toString()));
    assert.equal(a!.server.publish('room', 'from a'), true);
    assert.equal((await atB).data.toString(), 'from a');
    await quietPeriod();
    assert.deepEqual(onA, []);
  });

  it('a connection not subscribed may publish', async (t) => {
    const {
      pairs: [a, b],
    } = await pairs(t, 2);
    b!.server.subscribe('room');
    const atB = nextMessage(b!.client);
    a!.server.publish('room', 'hi');
    assert.equal((await atB).data.toString(), 'hi');
  });

  it('the data is taken at the call: changing the buffer afterwards changes nothing', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('t');
    const data = Buffer.from('original');
    const got = nextMessage(a!.client);
    wss.publish('t', data);
    data.fill(0);
    assert.equal(((await got).data as Buffer).toString(), 'original');
  });

  it('keeps each topic in publish order for every subscriber', async (t) => {
    const { wss, pairs: ps } = await pairs(t, 3);
    for (const p of ps) {
      p.server.subscribe('x');
      p.server.subscribe('y');
    }
    const all = ps.map((p) => texts(p.client, 400, 20_000));
    for (let i = 0; i < 200; i++) {
      wss.publish('x', `x${i}`);
      wss.publish(i % 2 === 0 ? 'y' : 'y', `y${i}`, { binary: i % 3 === 0 });
    }
    for (const got of await Promise.all(all)) {
      const xs = got.filter((m) => m.startsWith('x'));
      assert.deepEqual(
        xs,
        Array.from({ length: 200 }, (_, i) => `x${i}`),
      );
      const ys = got.filter((m) => !m.startsWith('x'));
      assert.equal(ys.length, 200);
      assert.deepEqual(
        ys.map((m) => (m.startsWith('<') ? Buffer.from(m.slice(1, -1), 'hex').toString() : m)),
        Array.from({ length: 200 }, (_, i) => `y${i}`),
      );
    }
  });

  it('frames a message once: every subscriber is handed the same bytes, in one write each', async (t) => {
    const { wss, pairs: ps } = await pairs(t, 4);
    const frames = ps.map((p) => spyPrepared(p.server));
    for (const p of ps) p.server.subscribe('t');
    await quietPeriod();
    const writes = ps.map((p) => countWrites(p.server));
    const got = ps.map((p) => nextMessage(p.client));
    wss.publish('t', Buffer.alloc(20_000, 7));
    await Promise.all(got);
    const first = frames[0]![0]!;
    assert.ok(
      frames.every((f) => f.length === 1 && f[0] === first),
      'one frame object for all',
    );
    const { frames: decoded } = decodeFrames(first);
    assert.equal(decoded[0]!.payload.length, 20_000);
    assert.deepEqual(
      writes.map((w) => w.count),
      [1, 1, 1, 1],
    );
  });
});

describe('pub/sub: order with the connection’s own sends', () => {
  it('a publish goes between the sends made before and after it', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('t');
    const got = texts(a!.client, 3);
    a!.server.send('before');
    wss.publish('t', 'published');
    a!.server.send('after');
    assert.deepEqual(await got, ['before', 'published', 'after']);
  });

  it('behind a Blob being read, a publish waits its turn, and so do later sends', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('t');
    const got = texts(a!.client, 4);
    a!.server.send(new Blob(['blob']), { binary: false });
    wss.publish('t', 'published');
    a!.server.send('after');
    wss.publish('t', 'published again');
    assert.deepEqual(await got, ['blob', 'published', 'after', 'published again']);
  });

  it('a publish in the middle of a fragmented message goes after its last fragment (RFC 6455 §5.4)', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('t');
    const got = texts(a!.client, 4);
    a!.server.send('frag1 ', { fin: false });
    wss.publish('t', 'P1');
    a!.server.send('frag2 ', { fin: false });
    wss.publish('t', 'P2');
    a!.server.send('end', { fin: true });
    a!.server.send('next');
    assert.deepEqual(await got, ['frag1 frag2 end', 'P1', 'P2', 'next']);
  });

  it('a publish in the middle of a fragmented message queued behind a Blob also waits for its end', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('t');
    const got = texts(a!.client, 4);
    a!.server.send(new Blob(['blob']), { binary: false });
    a!.server.send('f1 ', { fin: false });
    wss.publish('t', 'P');
    a!.server.send('f2', { fin: true });
    a!.server.send('after');
    assert.deepEqual(await got, ['blob', 'f1 f2', 'P', 'after']);
  });

  it('a publish during sendStream goes after the streamed message', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('t');
    const got = texts(a!.client, 2);
    async function* pieces() {
      yield 'one ';
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield 'two';
    }
    const streamed = a!.server.sendStream(pieces(), { binary: false });
    await new Promise((resolve) => setTimeout(resolve, 5));
    wss.publish('t', 'published');
    await streamed;
    assert.deepEqual(await got, ['one two', 'published']);
  });

  it('a connection closing gets no publish; the others do', async (t) => {
    const {
      wss,
      pairs: [a, b],
    } = await pairs(t, 2);
    a!.server.subscribe('t');
    b!.server.subscribe('t');
    const onA: string[] = [];
    a!.client.on('message', (d) => onA.push(d.toString()));
    a!.server.close(1000, 'bye');
    const atB = nextMessage(b!.client);
    wss.publish('t', 'late');
    assert.equal((await atB).data.toString(), 'late');
    assert.equal((await nextClose(a!.client)).code, 1000);
    assert.deepEqual(onA, []);
  });

  it('publishes before a close made while they wait (behind a Blob) go first', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1);
    a!.server.subscribe('t');
    const got = texts(a!.client, 2);
    const closed = nextClose(a!.client);
    a!.server.send(new Blob(['blob']), { binary: false });
    wss.publish('t', 'published');
    a!.server.close(1000);
    assert.deepEqual(await got, ['blob', 'published']);
    assert.equal((await closed).code, 1000);
  });
});
