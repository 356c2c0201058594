// The Redis adapter's memory bounds (issue 11): a topic's log trimmed in bytes as well as in
// messages (in the stream itself), the largest message carried (maxMessage), and messages on
// a topic's channel that are not ours (forged, damaged, oversized): ignored and counted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UndeliveredReport } from '../../../src/index.js';
import { type MalformedInfo, RedisAdapter } from '../../../src/pubsub/redis/index.js';
import { defer, startServer, until, within } from '../../helpers/node-util.js';
import { connect } from '../../helpers/pubsub-util.js';
import { redisClient, uniquePrefix } from '../../helpers/redis.js';

describe('RedisAdapter limits', () => {
  it('historyBytes: the stream keeps the newest messages within the byte bound', async (t) => {
    const prefix = uniquePrefix();
    const adapter = new RedisAdapter({ prefix, historyTtl: 60_000, historyBytes: 10_000 });
    const { wss, url } = await startServer(t, { pubsub: { adapter } });
    await within(adapter.ready(), 'the adapter connects', 10_000);
    const redis = redisClient();
    defer(t, () => redis.quit());
    const watcher = await connect(t, wss, url);
    watcher.server.subscribe('big');
    let got = 0;
    watcher.client.on('message', () => got++);
    for (let i = 0; i < 30; i++) wss.publish('big', Buffer.alloc(3000, i));
    await until(() => got === 30, 'all delivered live', 10_000);
    const entries = await redis.xrangeBuffer(`${prefix}big:log`, '-', '+');
    const sizes = entries.map(([, fields]) => {
      const at = fields.findIndex((f) => f.toString() === 'd');
      return fields[at + 1]!;
    });
    assert.deepEqual(
      sizes.map((d) => d[0]),
      [27, 28, 29],
      'the newest three: 9,000 bytes of at most 10,000',
    );
    assert.equal(Number(await redis.get(`${prefix}big:bytes`)), 9000);
    assert.ok((await redis.pttl(`${prefix}big:bytes`)) > 0, 'the byte count expires with the log');
  });

  it('maxMessage: a larger publish fails and is reported; raising it lets it through', async (t) => {
    const prefix = uniquePrefix();
    const small = new RedisAdapter({ prefix, historyTtl: 60_000 });
    const { wss } = await startServer(t, { pubsub: { adapter: small } });
    await within(small.ready(), 'the adapter connects', 10_000);
    const reports: UndeliveredReport[] = [];
    wss.on('undelivered', (r) => reports.push(r));
    assert.equal(small.maxMessage, 1024 * 1024);
    assert.equal(wss.publish('t', Buffer.alloc(small.maxMessage + 1)), false);
    await until(() => reports.length === 1, 'reported');
    assert.equal(reports[0]!.reason, 'publish-failed');

    const large = new RedisAdapter({ prefix, historyTtl: 60_000, maxMessage: 2 * 1024 * 1024 });
    const other = await startServer(t, { pubsub: { adapter: large } });
    await within(large.ready(), 'the adapter connects', 10_000);
    const watcher = await connect(t, other.wss, other.url);
    watcher.server.subscribe('t');
    const message = new Promise<Buffer>((resolve) =>
      watcher.client.once('message', (data) => resolve(data as Buffer)),
    );
    // Until the subscription is live in Redis, a publish may go by unseen: publish until seen.
    const payload = Buffer.alloc(1536 * 1024, 7);
    const timer = setInterval(() => other.wss.publish('t', payload), 100);
    defer(t, () => clearInterval(timer));
    const data = await within(message, 'the 1.5 MiB message', 10_000);
    clearInterval(timer);
    assert.equal(data.length, payload.length);
  });

  it('messages on a channel that are not ours are ignored, counted, and never throw', async (t) => {
    const prefix = uniquePrefix();
    const adapter = new RedisAdapter({ prefix, historyTtl: 60_000, maxMessage: 1000 });
    const { wss, url } = await startServer(t, { pubsub: { adapter } });
    await within(adapter.ready(), 'the adapter connects', 10_000);
    const malformed: MalformedInfo[] = [];
    adapter.on('malformed', (info) => malformed.push(info));
    const watcher = await connect(t, wss, url);
    watcher.server.subscribe('t');
    const log: string[] = [];
    watcher.client.on('message', (data) => log.push(String(data)));
    const redis = redisClient();
    defer(t, () => redis.quit());
    // Live once a message of ours comes through.
    const timer = setInterval(() => wss.publish('t', 'ready?'), 50);
    await until(() => log.length > 0, 'subscribed', 10_000);
    clearInterval(timer);
    await until(() => log.at(-1) === 'ready?' && log.length > 0, 'settled');
    const hostile = [
      'garbage',
      '1-1\n0-0\norigin\n1\n9\ndata', // flags not ours
      'yesterday\n0-0\no\n1\n0\ndata', // not a stream id
      '1-1\nnope\no\n1\n0\ndata',
      `1-1\n0-0\n${'o'.repeat(1000)}\n1\n0\ndata`, // a header too long
      `99999999999-1\n0-0\no\n1\n0\n${'x'.repeat(5000)}`, // over maxMessage
      '\n\n\n\n\n',
    ];
    for (const message of hostile) await redis.publish(`${prefix}t`, message);
    wss.publish('t', 'after');
    await until(() => log.at(-1) === 'after', 'a real message after the hostile ones', 10_000);
    assert.equal(adapter.malformed, hostile.length);
    assert.equal(malformed.length, hostile.length);
    assert.ok(malformed.every((m) => m.source === 'channel' && m.topic === 't'));
    assert.ok(!log.some((m) => m.includes('data') || m.includes('xxx')), 'none delivered');
  });
});
