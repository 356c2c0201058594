// Published messages under flow control (a subscriber that does not read follows its
// connection's backpressure policy) and with permessage-deflate (compressed once per
// compression group, or by each connection's own compressor with context takeover).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebSocket } from '../../src/index.js';
import { textCorpus } from '../helpers/deflate-wire.js';
import { messages, next, nextClose, nextMessage, until } from '../helpers/node-util.js';
import { type Pair, pairs, spyPrepared, texts } from '../helpers/pubsub-util.js';

const KiB = 1024;
const COUNT = 300;

/** 64 KiB messages numbered in their first 4 bytes. */
const numbered = (i: number) => {
  const b = Buffer.alloc(64 * KiB, i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
};

/**
 * Publishes COUNT numbered 64 KiB messages to `t`, paced by the fast subscriber (who reads each
 * one before the next), while the slow subscriber's client does not read.
 */
async function flood(wss: { publish(t: string, d: Buffer): boolean }, fast: Pair): Promise<void> {
  for (let i = 0; i < COUNT; i++) {
    const got = nextMessage(fast.client, 20_000);
    wss.publish('t', numbered(i));
    assert.equal(((await got).data as Buffer).readUInt32BE(0), i, 'the fast subscriber gets all');
  }
}

/** Lets the slow client read again and collects what it gets up to an `end` marker. */
async function drain(slow: Pair): Promise<number[]> {
  const got: number[] = [];
  const ended = new Promise<void>((resolve) =>
    slow.client.on('message', (data, isBinary) => {
      if (!isBinary) resolve();
      else got.push((data as Buffer).readUInt32BE(0));
    }),
  );
  slow.client.resume();
  await until(() => slow.server.bufferedAmount === 0, 'the slow queue drains', 30_000);
  slow.server.send('end');
  await ended;
  return got;
}

function increasing(list: number[]): boolean {
  return list.every((n, i) => i === 0 || n > list[i - 1]!);
}

describe('pub/sub: a subscriber that does not read follows its backpressure policy', () => {
  const settings = { maxBackpressure: 256 * KiB, closeTimeout: 1000 };

  it('close: the slow subscriber is closed with 1008 and leaves the topic; the others go on', async (t) => {
    const {
      wss,
      pairs: [fast, slow],
    } = await pairs(t, 2, {
      ...settings,
      backpressurePolicy: 'close',
    });
    fast!.server.subscribe('t');
    slow!.server.subscribe('t');
    slow!.client.pause();
    const closed = next<[number]>(slow!.server, 'close', 30_000);
    await flood(wss, fast!);
    assert.equal((await closed)[0], 1008);
    assert.equal(wss.numSubscribers('t'), 1);
  });

  for (const policy of ['drop-newest', 'drop-oldest'] as const) {
    it(`${policy}: whole messages are dropped, the rest arrives in order`, async (t) => {
      const {
        wss,
        pairs: [fast, slow],
      } = await pairs(t, 2, {
        ...settings,
        backpressurePolicy: policy,
      });
      fast!.server.subscribe('t');
      slow!.server.subscribe('t');
      let dropped = 0;
      slow!.server.on('dropped', (info) => {
        assert.equal(info.policy, policy);
        assert.equal(info.bytes, 64 * KiB);
        assert.equal(info.isBinary, true);
        dropped++;
      });
      slow!.client.pause();
      await flood(wss, fast!);
      const got = await drain(slow!);
      assert.ok(dropped > 0, 'the policy fired');
      assert.equal(slow!.server.droppedMessages, dropped);
      assert.equal(got.length + dropped, COUNT, 'every message arrived or was dropped');
      assert.ok(increasing(got), 'in order');
      assert.equal(got[0], 0, 'the first went straight to the socket');
      assert.equal(slow!.server.readyState, 1, 'still open');
    });
  }
});

/** Compressible text messages: repeated phrases, so that context takeover would pay. */
const phrase = (i: number) => `${textCorpus(3000, 1 + (i % 3)).toString()} #${i}`;

const compressedFrame = (frame: Buffer) => (frame[0]! & 0x40) !== 0;

describe('pub/sub with permessage-deflate', () => {
  it('no server context takeover: compressed once, the same bytes to every subscriber', async (t) => {
    const { wss, pairs: ps } = await pairs(t, 3, {
      perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 },
    });
    const frames = ps.map((p) => spyPrepared(p.server));
    for (const p of ps) {
      assert.match(p.client.extensions, /server_no_context_takeover/);
      p.server.subscribe('t');
    }
    const all = ps.map((p) => texts(p.client, 20, 20_000));
    for (let i = 0; i < 10; i++) {
      wss.publish('t', phrase(i));
      // The connection's own compressed sends, between the publishes.
      for (const [n, p] of ps.entries()) p.server.send(`own ${n} ${phrase(i)}`);
    }
    const got = await Promise.all(all);
    for (const [n, list] of got.entries()) {
      assert.deepEqual(
        list,
        Array.from({ length: 10 }, (_, i) => [phrase(i), `own ${n} ${phrase(i)}`]).flat(),
      );
    }
    assert.equal(frames[0]!.length, 10);
    for (let i = 0; i < 10; i++) {
      const frame = frames[0]![i]!;
      assert.ok(compressedFrame(frame), 'RSV1: compressed');
      assert.ok(frame.length < phrase(i).length / 2, 'and smaller');
      assert.ok(
        frames.every((f) => f[i] === frame),
        'one compressed frame for all',
      );
    }
  });

  it('context takeover: each connection compresses with its own context, in order with its sends', async (t) => {
    const { wss, pairs: ps } = await pairs(t, 2, { perMessageDeflate: { threshold: 0 } });
    const frames = ps.map((p) => spyPrepared(p.server));
    for (const p of ps) {
      assert.doesNotMatch(p.client.extensions, /server_no_context_takeover/);
      p.server.subscribe('t');
    }
    const all = ps.map((p) => texts(p.client, 40, 20_000));
    for (let i = 0; i < 20; i++) {
      wss.publish('t', phrase(i));
      for (const [n, p] of ps.entries()) p.server.send(`own ${n} ${phrase(i)}`);
    }
    for (const [n, list] of (await Promise.all(all)).entries()) {
      assert.deepEqual(
        list,
        Array.from({ length: 20 }, (_, i) => [phrase(i), `own ${n} ${phrase(i)}`]).flat(),
      );
    }
    assert.deepEqual(
      frames.map((f) => f.length),
      [0, 0],
      'no shared frame: the bytes depend on each connection’s context',
    );
  });

  it('subscribers with different agreements each get a valid frame, grouped', async (t) => {
    const { wss, pairs: ps } = await pairs(t, 5, { perMessageDeflate: { threshold: 0 } }, (i) => ({
      perMessageDeflate: [
        false,
        { serverNoContextTakeover: true },
        { serverNoContextTakeover: true },
        { serverNoContextTakeover: true, serverMaxWindowBits: 10 },
        true,
      ][i]!,
    }));
    const frames = ps.map((p) => spyPrepared(p.server));
    for (const p of ps) p.server.subscribe('t');
    const all = ps.map((p) => texts(p.client, 6, 20_000));
    for (let i = 0; i < 6; i++) wss.publish('t', phrase(i));
    for (const list of await Promise.all(all)) {
      assert.deepEqual(
        list,
        Array.from({ length: 6 }, (_, i) => phrase(i)),
      );
    }
    const [plain, groupA, groupA2, group10, own] = frames;
    assert.ok(
      plain!.every((f) => !compressedFrame(f)),
      'no deflate: plain frames',
    );
    assert.ok(
      groupA!.every((f, i) => compressedFrame(f) && groupA2![i] === f),
      'one group',
    );
    assert.ok(
      group10!.every((f, i) => compressedFrame(f) && f !== groupA![i]),
      'another window',
    );
    assert.equal(own!.length, 0, 'context takeover: its own compressor');
  });

  it('compress: false and messages under the threshold go uncompressed', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1, {
      perMessageDeflate: { serverNoContextTakeover: true, threshold: 100 },
    });
    const frames = spyPrepared(a!.server);
    a!.server.subscribe('t');
    const got = texts(a!.client, 3);
    wss.publish('t', phrase(1), { compress: false });
    wss.publish('t', 'short');
    wss.publish('t', phrase(2));
    assert.deepEqual(await got, [phrase(1), 'short', phrase(2)]);
    assert.deepEqual(frames.map(compressedFrame), [false, false, true]);
  });

  it('changing the buffer after publish changes nothing, even while it is compressed', async (t) => {
    const {
      wss,
      pairs: [a],
    } = await pairs(t, 1, {
      perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 },
    });
    a!.server.subscribe('t');
    const data = Buffer.from(phrase(3));
    const got = nextMessage(a!.client);
    wss.publish('t', data);
    data.fill(0);
    assert.equal(((await got).data as Buffer).toString(), phrase(3));
  });

  it('a subscriber that closes while its shared frame is compressed gets nothing more; others do', async (t) => {
    const {
      wss,
      pairs: [a, b],
    } = await pairs(t, 2, {
      perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 },
    });
    a!.server.subscribe('t');
    b!.server.subscribe('t');
    const atB = messages(b!.client, 1);
    const closed = nextClose(a!.client);
    wss.publish('t', phrase(4));
    a!.server.terminate();
    assert.equal((await atB)[0]!.data.toString(), phrase(4));
    assert.equal((await closed).code, 1006);
    assert.equal(wss.numSubscribers('t'), 1);
  });
});

export type { WebSocket };
