// RedisLog's batches (LogBackend.appendMany) against a real Redis: one script call appends a
// tick's publishes of a topic in order, chained by `prev`, trims the log once (by count and by
// bytes) and fans them out as one channel message; and a burst through the adapter cut by a
// Redis crash: each publish delivered once, in order, or reported.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import type { UndeliveredReport } from '../../../src/index.js';
import type { LogEntry, LogRecord } from '../../../src/pubsub/index.js';
import { RedisAdapter, type RedisAdapterEvents } from '../../../src/pubsub/redis/index.js';
import { RedisLog, type RedisLogSettings } from '../../../src/pubsub/redis/redis-log.js';
import { runs } from '../../helpers/fuzz.js';
import { defer, startServer, until, within } from '../../helpers/node-util.js';
import { connect } from '../../helpers/pubsub-util.js';
import { PrivateRedis, REDIS_URL, redisClient, uniquePrefix } from '../../helpers/redis.js';

async function openLog(t: TestContext, settings: Partial<RedisLogSettings> = {}) {
  const log = new RedisLog(
    {
      origin: 'o1',
      prefix: uniquePrefix('log'),
      historyLength: 1000,
      historyBytes: 1024 ** 2,
      historyTtl: 60_000,
      maxMessage: 1024 ** 2,
      client: undefined,
      url: REDIS_URL,
      ...settings,
    },
    new EventEmitter<RedisAdapterEvents>(),
  );
  defer(t, () => log.close());
  const live: LogEntry[] = [];
  log.start({ entry: (_topic, entry) => live.push(entry), ready: () => {}, lost: () => {} });
  await until(() => log.isReady, 'connected', 10_000);
  return { log, live };
}

const record = (token: number, data: string | Buffer): LogRecord => ({
  origin: 'o1',
  token: String(token),
  binary: typeof data !== 'string',
  compress: token % 2 === 0,
  data: Buffer.from(data),
});

describe('RedisLog: appends in batches', () => {
  it('one batch: appended in order, chained by prev, one channel message, the last id returned', async (t) => {
    const { log, live } = await openLog(t);
    await log.subscribe('t');
    const first = await log.append('t', record(1, 'single'));
    const batch = [record(2, 'a\nb'), record(3, Buffer.from([0, 10, 255])), record(4, '')];
    const last = await log.appendMany('t', batch);
    const tail = await log.append('t', record(5, 'after'));
    await until(() => live.length === 5, 'all fanned out');
    assert.deepEqual(
      live.map((e) => [e.token, e.data.toString('latin1'), e.binary, e.compress]),
      [
        ['1', 'single', false, false],
        ['2', 'a\nb', false, true],
        ['3', '\x00\n\xff', true, false],
        ['4', '', false, true],
        ['5', 'after', false, false],
      ],
    );
    assert.equal(live[0]!.seq, first);
    assert.equal(live[3]!.seq, last);
    assert.equal(live[4]!.seq, tail);
    assert.equal(live[0]!.prev, '0-0');
    for (let i = 1; i < live.length; i++) assert.equal(live[i]!.prev, live[i - 1]!.seq);
    // The log holds the same entries.
    assert.deepEqual(await log.read('t', '0-0'), live);
    assert.equal(await log.last('t'), tail);
  });

  it('property: any records (any bytes, any flags) come back as sent, live and from the log', async (t) => {
    const { log, live } = await openLog(t);
    await log.subscribe('p');
    const recordArb = fc.record({
      origin: fc.constant('o1'),
      token: fc.nat().map(String),
      binary: fc.boolean(),
      compress: fc.boolean(),
      data: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    });
    let after = '0-0';
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 40 }), async (records) => {
        live.length = 0;
        const last = await log.appendMany('p', records);
        await until(() => live.length === records.length, 'fanned out');
        const logged = await log.read('p', after);
        const strip = (entries: LogEntry[]) =>
          entries.map(({ token, binary, compress, data }) => ({ token, binary, compress, data }));
        const sent = records.map(({ token, binary, compress, data }) => ({
          token,
          binary,
          compress,
          data,
        }));
        assert.deepEqual(strip(live), sent);
        assert.deepEqual(strip(logged), sent);
        assert.equal(live.at(-1)!.seq, last);
        after = last;
      }),
      { numRuns: runs(40) },
    );
  });

  it('trims once per batch to historyLength and historyBytes, the byte count kept exact', async (t) => {
    const prefix = uniquePrefix('trim');
    const { log } = await openLog(t, { prefix, historyLength: 5, historyBytes: 1000 });
    const redis = redisClient();
    defer(t, () => redis.quit());
    const sizes = async () => {
      const entries = await log.read('t', '0-0');
      const bytes = Number(await redis.get(`${prefix}t:bytes`));
      // The sizes list matches the stream, entry for entry.
      const list = (await redis.lrange(`${prefix}t:sizes`, 0, -1)).map(Number);
      assert.deepEqual(
        list,
        entries.map((e) => e.data.length),
      );
      return {
        tokens: entries.map((e) => Number(e.token)),
        bytes,
        sum: entries.reduce((n, e) => n + e.data.length, 0),
      };
    };
    let token = 0;
    const batch = (n: number, size: number) =>
      Array.from({ length: n }, () => record(++token, Buffer.alloc(size, token)));
    for (let i = 0; i < 4; i++) await log.appendMany('t', batch(3, 10));
    let state = await sizes();
    assert.deepEqual(state.tokens, [8, 9, 10, 11, 12], 'the newest historyLength');
    assert.equal(state.bytes, state.sum);
    // 3 x 400 bytes: only two fit in 1000 bytes (with nothing older).
    await log.appendMany('t', batch(3, 400));
    state = await sizes();
    assert.deepEqual(state.tokens, [14, 15]);
    assert.equal(state.bytes, 800);
    // A batch larger than the whole window: nothing of it is kept, the count goes to 0.
    await log.appendMany('t', batch(2, 1500));
    state = await sizes();
    assert.deepEqual(state.tokens, []);
    assert.equal(state.bytes, 0);
    // And the log goes on from there.
    await log.appendMany('t', batch(2, 10));
    state = await sizes();
    assert.deepEqual(state.tokens, [18, 19]);
    assert.equal(state.bytes, 20);
    // The sizes list lost, or wrong (entries appended by a version without it): made again
    // from the stream before the next append, and the trim stays exact.
    await redis.del(`${prefix}t:sizes`);
    await log.append('t', record(++token, Buffer.alloc(10)));
    state = await sizes();
    assert.deepEqual(state.tokens, [18, 19, 20]);
    await redis.rpush(`${prefix}t:sizes`, 999);
    await log.appendMany('t', batch(3, 10));
    state = await sizes();
    assert.deepEqual(state.tokens, [19, 20, 21, 22, 23]);
    assert.equal(state.bytes, 50);
  });

  it('a batch over MAX_BATCH is refused before anything is sent; an empty one too', async (t) => {
    const { log } = await openLog(t);
    const many = Array.from({ length: 5000 }, (_, i) => record(i, 'x'));
    await assert.rejects(log.appendMany('t', many), RangeError);
    await assert.rejects(log.appendMany('t', []), RangeError);
    assert.equal(await log.last('t'), undefined);
  });
});

describe('RedisAdapter: a burst in batches', () => {
  it('a burst of 3,000 in one tick reaches another server once, in order', async (t) => {
    const prefix = uniquePrefix('burst');
    const [a, b] = [
      new RedisAdapter({ prefix, historyTtl: 60_000 }),
      new RedisAdapter({ prefix, historyTtl: 60_000 }),
    ];
    const sa = await startServer(t, { pubsub: { adapter: a } });
    const sb = await startServer(t, { pubsub: { adapter: b } });
    await within(Promise.all([a.ready(), b.ready()]), 'connected', 10_000);
    const watcher = await connect(t, sb.wss, sb.url);
    watcher.server.subscribe('burst');
    const log: string[] = [];
    watcher.client.on('message', (data) => log.push(String(data)));
    const probe = setInterval(() => sa.wss.publish('burst', 'probe'), 50);
    defer(t, () => clearInterval(probe));
    await until(() => log.length > 0, 'subscribed', 10_000);
    clearInterval(probe);
    await new Promise((resolve) => setTimeout(resolve, 100));
    log.length = 0;
    const sent = Array.from({ length: 3000 }, (_, i) => `m${i}`);
    for (const text of sent) sa.wss.publish('burst', text);
    await until(() => log.length >= sent.length, 'all delivered', 20_000);
    assert.deepEqual(log, sent);
  });

  it('a burst cut by a Redis crash: each publish delivered once and in order, or reported', async (t) => {
    const redis = await PrivateRedis.start();
    defer(t, () => redis.kill());
    const adapter = new RedisAdapter({ url: redis.url, prefix: uniquePrefix('cut') });
    const { wss, url } = await startServer(t, { pubsub: { adapter } });
    await within(adapter.ready(), 'connected', 10_000);
    const reports: UndeliveredReport[] = [];
    wss.on('undelivered', (report) => reports.push(report));
    const watcher = await connect(t, wss, url);
    watcher.server.subscribe('c');
    const log: string[] = [];
    watcher.client.on('message', (data) => log.push(String(data)));
    wss.publish('c', 'probe');
    await until(() => log.length === 1, 'subscribed', 10_000);
    log.length = 0;
    const sent = Array.from({ length: 20_000 }, (_, i) => `m${i}`);
    for (const text of sent) wss.publish('c', text);
    // The batches are written at the end of this tick; Redis dies while it runs them.
    setImmediate(() => void redis.kill());
    const failed = () =>
      new Set(reports.map((r) => (r.reason === 'publish-failed' ? r.message.data.toString() : '')));
    await until(
      () => log.length + failed().size >= sent.length,
      'every publish delivered or reported',
      20_000,
    );
    // Delivered: once each, in publish order (a subsequence of what was sent).
    assert.equal(new Set(log).size, log.length, 'nothing delivered twice');
    const index = log.map((text) => Number(text.slice(1)));
    for (let i = 1; i < index.length; i++) assert.ok(index[i]! > index[i - 1]!, 'in order');
    // Everything else reported (a batch Redis ran before the reply was lost may be both).
    const reported = failed();
    const delivered = new Set(log);
    assert.deepEqual(
      sent.filter((text) => !delivered.has(text) && !reported.has(text)),
      [],
      'nothing lost silently',
    );
    assert.ok(reported.size > 0, 'the crash cut the burst');
  });
});
