// Fuzzing the Redis adapter's wire decoders and its handling of hostile channel messages
// (issue 11): random, truncated and mutated channel messages and stream entries never throw,
// decode only to well-formed entries within maxMessage, and round-trip when they are ours; an
// adapter fed any sequence of messages on a topic's channel never throws, counts what is not
// ours, delivers in order, and holds a bounded amount while it would read the log.
// `npm run fuzz` scales the runs (FUZZ_RUNS); docs/robustness.md has the counts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { AdapterSink, Delivery } from '../../../src/pubsub/index.js';
import { compareSeq } from '../../../src/pubsub/index.js';
import { RedisAdapter } from '../../../src/pubsub/redis/index.js';
import {
  decodeChannelBatch,
  decodeChannelMessage,
  decodeStreamEntry,
  encodeChannelBatch,
  flagsOf,
  type WireEntry,
} from '../../../src/pubsub/redis/wire.js';
import { runs } from '../../helpers/fuzz.js';
import { freePort } from '../../helpers/redis.js';

const SEQ = /^\d{1,16}-\d{1,16}$/;
const seqArb = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 1000 }))
  .map(([ms, n]) => `${ms}-${n}`);
const fieldArb = fc.stringMatching(/^[0-9a-f]{0,20}$/);
const bytesArb = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));

function encode(e: Omit<WireEntry, 'binary' | 'compress'> & { flags: number }): Buffer {
  return Buffer.concat([
    Buffer.from(`${e.seq}\n${e.prev}\n${e.origin}\n${e.token}\n${e.flags}\n`, 'latin1'),
    e.data,
  ]);
}

/** Bytes that look like ours, then damaged: cut, a byte changed, or a line doubled. */
const hostileArb = fc.oneof(
  bytesArb(300),
  fc
    .record({
      seq: fc.oneof(seqArb, fc.string({ maxLength: 20 })),
      prev: fc.oneof(seqArb, fc.constant('0-0'), fc.string({ maxLength: 20 })),
      origin: fc.oneof(fieldArb, fc.string({ maxLength: 100 })),
      token: fieldArb,
      flags: fc.integer({ min: -1, max: 9 }),
      data: bytesArb(200),
      cut: fc.option(fc.nat(), { nil: undefined }),
      flip: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
    })
    .map(({ cut, flip, ...e }) => {
      let b = encode(e);
      if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
      if (flip !== undefined && b.length > 0) b[flip[0] % b.length] = flip[1];
      return b;
    }),
);

function wellFormed(entry: WireEntry, maxData: number): void {
  assert.match(entry.seq, SEQ);
  assert.ok(SEQ.test(entry.prev), entry.prev);
  assert.ok(entry.origin.length <= 64 && entry.token.length <= 64);
  assert.ok(entry.data.length <= maxData);
  assert.equal(typeof entry.binary, 'boolean');
}

describe('Redis wire decoders (fuzz)', () => {
  it('a channel message: any bytes decode to a well-formed entry or to nothing, never a throw', () => {
    fc.assert(
      fc.property(hostileArb, fc.integer({ min: 0, max: 400 }), (message, maxData) => {
        const entry = decodeChannelMessage(message, maxData);
        if (entry !== undefined) wellFormed(entry, maxData);
      }),
      { numRuns: runs(3000) },
    );
  });

  it('a channel message of ours round-trips, whatever its data (newlines, any byte)', () => {
    fc.assert(
      fc.property(
        seqArb,
        fc.oneof(seqArb, fc.constant('0-0')),
        fieldArb,
        fieldArb,
        fc.boolean(),
        fc.boolean(),
        bytesArb(500),
        (seq, prev, origin, token, binary, compress, data) => {
          const flags = flagsOf(binary, compress);
          const message = encode({ seq, prev, origin, token, flags, data });
          assert.deepEqual(decodeChannelMessage(message), {
            seq,
            prev,
            origin,
            token,
            binary,
            compress,
            data,
          });
          // Over the limit: not taken.
          if (data.length > 0)
            assert.equal(decodeChannelMessage(message, data.length - 1), undefined);
        },
      ),
      { numRuns: runs(2000) },
    );
  });

  it('a batch channel message of ours round-trips; over maxData it is not taken', () => {
    const entryArb = fc
      .record({
        seq: seqArb,
        prev: fc.oneof(seqArb, fc.constant('0-0')),
        origin: fieldArb,
        token: fieldArb,
        binary: fc.boolean(),
        compress: fc.boolean(),
        data: bytesArb(200),
      })
      // As the decoder makes them (fast-check may make objects without a prototype).
      .map((e) => ({ ...e }));
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 20 }), (entries) => {
        const message = encodeChannelBatch(entries);
        assert.deepEqual(decodeChannelBatch(message), entries);
        const largest = Math.max(...entries.map((e) => e.data.length));
        assert.equal(decodeChannelBatch(message, largest)?.length, entries.length);
        if (largest > 0) assert.equal(decodeChannelBatch(message, largest - 1), undefined);
      }),
      { numRuns: runs(1000) },
    );
  });

  it('a batch channel message: cut, mutated or random bytes decode safely, never a throw', () => {
    const entryArb = fc.record({
      seq: fc.oneof(seqArb, fc.string({ maxLength: 20 })),
      prev: fc.oneof(seqArb, fc.constant('0-0')),
      origin: fieldArb,
      token: fieldArb,
      binary: fc.boolean(),
      compress: fc.boolean(),
      data: bytesArb(100),
    });
    const batchArb = fc.oneof(
      bytesArb(300).map((b) => Buffer.concat([Buffer.from('*'), b])),
      fc
        .record({
          entries: fc.array(entryArb, { minLength: 1, maxLength: 6 }),
          cut: fc.option(fc.nat(), { nil: undefined }),
          flip: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
        })
        .map(({ entries, cut, flip }) => {
          let b = encodeChannelBatch(entries);
          if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
          if (flip !== undefined && b.length > 0) b[flip[0] % b.length] = flip[1];
          return b;
        }),
    );
    fc.assert(
      fc.property(batchArb, fc.integer({ min: 0, max: 150 }), (message, maxData) => {
        const entries = decodeChannelBatch(message, maxData);
        if (entries === undefined) return;
        assert.ok(entries.length > 0);
        for (const entry of entries) wellFormed(entry, maxData);
        // What was taken is exactly the message again.
        assert.deepEqual(encodeChannelBatch(entries), message);
      }),
      { numRuns: runs(3000) },
    );
  });

  it('a stream entry: any fields (wrong types, odd counts, repeats) decode safely', () => {
    const valueArb = fc.oneof(
      bytesArb(30),
      fc.constantFrom('p', 'o', 't', 'f', 'd').map((s) => Buffer.from(s)),
      fc.constant(Buffer.from('0-0')),
      fc.anything(),
    );
    fc.assert(
      fc.property(
        fc.oneof(bytesArb(30), fc.constant(Buffer.from('5-1')), fc.anything()),
        fc.array(valueArb, { maxLength: 14 }),
        fc.integer({ min: 0, max: 40 }),
        (id, fields, maxData) => {
          const entry = decodeStreamEntry(id as Buffer, fields as Buffer[], maxData);
          if (entry !== undefined) wellFormed(entry, maxData);
        },
      ),
      { numRuns: runs(3000) },
    );
  });
});

describe('RedisAdapter under hostile channel messages (fuzz)', () => {
  it('never throws, counts what is not ours, delivers in order, holds a bounded amount', async () => {
    // No Redis here: the log cannot be read (nothing listens on this port), which is when the
    // adapter holds live messages, the case to bound.
    const port = await freePort();
    const maxMessage = 256;
    const historyBytes = 1024;
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => {});
    const adapter = new RedisAdapter({ client, prefix: 'f:', maxMessage, historyBytes });
    const delivered: Delivery[] = [];
    const sink: AdapterSink = { deliver: (d) => delivered.push(d), undelivered: () => {} };
    adapter.start(sink);
    adapter.subscribe('t');
    type Internal = {
      log: { sub: Redis };
      logAdapter: {
        topics: Map<
          string,
          { feed: { last?: string; synced(log: [], out: object): void; heldWeight: number } }
        >;
      };
    };
    const internal = adapter as unknown as Internal;
    const feed = internal.logAdapter.topics.get('t')!.feed;
    const maxHeld = Math.max(historyBytes, maxMessage) + 1024;
    const channel = Buffer.from('f:t');
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              hostileArb,
              // Forged but well-formed: the feed takes them in order or waits for the log.
              fc
                .record({
                  seq: seqArb,
                  prev: fc.oneof(seqArb, fc.constant('0-0')),
                  data: bytesArb(300),
                })
                .map((e) => encode({ ...e, origin: 'x', token: '1', flags: 0 })),
            ),
            { maxLength: 60 },
          ),
          fc.boolean(),
          async (messages, live) => {
            delivered.length = 0;
            const before = adapter.malformed;
            // Live (the log read), or still reading it (messages held).
            if (live) {
              feed.last = '0-0';
              feed.synced([], { deliver: [], gaps: [] });
            }
            let expectMalformed = 0;
            for (const message of messages) {
              if (decodeChannelMessage(message, maxMessage) === undefined) expectMalformed++;
              internal.log.sub.emit('messageBuffer', channel, message);
              assert.ok(feed.heldWeight <= maxHeld, `held ${feed.heldWeight}`);
            }
            assert.equal(adapter.malformed - before, expectMalformed);
            for (let i = 1; i < delivered.length; i++) {
              assert.ok(compareSeq(delivered[i]!.seq, delivered[i - 1]!.seq) > 0, 'in order');
            }
            for (const d of delivered) assert.ok(d.data.length <= maxMessage);
          },
        ),
        { numRuns: runs(300) },
      );
    } finally {
      await adapter.close();
      client.disconnect();
    }
  });
});
