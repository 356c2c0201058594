// The Redis adapter (src/pubsub/redis) against a real Redis: several servers (one adapter each,
// as separate processes would have) on the shared Redis at 127.0.0.1:6379 under a prefix of
// their own, and on a private redis-server for the tests that kill and restart Redis.
// Separate processes (`tsws serve --chat --redis`): test/cli/chat.test.ts.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { UndeliveredReport, WebSocketServer } from '../../../src/index.js';
import { RedisAdapter, type RedisAdapterOptions } from '../../../src/pubsub/redis/index.js';
import { defer, startServer, until, within } from '../../helpers/node-util.js';
import { connect, type Pair, texts } from '../../helpers/pubsub-util.js';
import { PrivateRedis, redisClient, uniquePrefix } from '../../helpers/redis.js';

interface Node {
  wss: WebSocketServer;
  url: string;
  adapter: RedisAdapter;
  reports: UndeliveredReport[];
}

/** A server with its own Redis adapter: one "process" of a cluster. */
async function node(t: TestContext, options: RedisAdapterOptions): Promise<Node> {
  const adapter = new RedisAdapter({ historyTtl: 120_000, ...options });
  const { wss, url } = await startServer(t, { pubsub: { adapter } });
  const reports: UndeliveredReport[] = [];
  wss.on('undelivered', (report) => reports.push(report));
  await within(adapter.ready(), 'the adapter connects', 10_000);
  return { wss, url, adapter, reports };
}

async function cluster(t: TestContext, n: number, options: RedisAdapterOptions = {}) {
  const prefix = uniquePrefix();
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) nodes.push(await node(t, { prefix, ...options }));
  return nodes;
}

type Sub = Pair & { log: string[] };

/** A subscriber of `topic` on `node`, with everything it receives logged. */
async function subscriber(t: TestContext, at: Node, topic: string): Promise<Sub> {
  const pair = await connect(t, at.wss, at.url);
  pair.server.subscribe(topic);
  const log: string[] = [];
  pair.client.on('message', (data) => log.push(data.toString()));
  return { ...pair, log };
}

/**
 * Waits until every server's subscription is live in Redis (a subscription made on another
 * process a moment before a publish may miss it): probes go until each subscriber has seen
 * one, then a last one, after which nothing more is in flight; the logs are then emptied.
 */
async function settled(nodes: Node[], subs: { log: string[] }[], topic: string): Promise<void> {
  const probed = (s: { log: string[] }) => s.log.some((m) => m.startsWith('probe'));
  let n = 0;
  const timer = setInterval(() => nodes[0]!.wss.publish(topic, `probe ${n++}`), 50);
  try {
    await until(() => subs.every(probed), 'subscriptions are live', 10_000);
  } finally {
    clearInterval(timer);
  }
  nodes[0]!.wss.publish(topic, 'probe end');
  await until(() => subs.every((s) => s.log.includes('probe end')), 'probes over', 10_000);
  for (const s of subs) s.log.length = 0;
}

describe('RedisAdapter: fan-out across servers', () => {
  it('a publish on any server reaches the subscribers of every server, in one order', async (t) => {
    const nodes = await cluster(t, 3);
    const subs: Sub[] = [];
    for (const n of nodes)
      subs.push(await subscriber(t, n, 'room'), await subscriber(t, n, 'room'));
    await settled(nodes, subs, 'room');
    for (let i = 0; i < 30; i++) nodes[i % 3]!.wss.publish('room', `m${i} from ${i % 3}`);
    await until(() => subs.every((s) => s.log.length === 30), '30 messages everywhere', 10_000);
    for (const s of subs) assert.deepEqual(s.log, subs[0]!.log, 'the same order for everyone');
    // Each server's own publishes keep their order.
    for (let origin = 0; origin < 3; origin++) {
      const own = subs[0]!.log.filter((m) => m.endsWith(`from ${origin}`));
      const expected = Array.from({ length: 30 }, (_, i) => i)
        .filter((i) => i % 3 === origin)
        .map((i) => `m${i} from ${origin}`);
      assert.deepEqual(own, expected);
    }
    assert.deepEqual(
      nodes.flatMap((n) => n.reports),
      [],
    );
  });

  it('concurrent publishers: every message once, the same order on every server', async (t) => {
    const nodes = await cluster(t, 3);
    const subs: Sub[] = [];
    for (const n of nodes) subs.push(await subscriber(t, n, 'busy'));
    await settled(nodes, subs, 'busy');
    const N = 300;
    for (let i = 0; i < N; i++)
      for (const [k, n] of nodes.entries()) n.wss.publish('busy', `${k}:${i}`);
    await until(() => subs.every((s) => s.log.length >= 3 * N), 'all messages', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const s of subs) {
      assert.equal(s.log.length, 3 * N, 'no message twice');
      assert.equal(new Set(s.log).size, 3 * N);
      assert.deepEqual(s.log, subs[0]!.log);
    }
  });

  it('the sender is included, its first message too, right after it subscribes', async (t) => {
    const [a, b] = await cluster(t, 2);
    const watcher = await subscriber(t, b!, 'chat');
    await settled([b!], [watcher], 'chat');
    const me = await connect(t, a!.wss, a!.url);
    const mine = texts(me.client, 1, 10_000);
    me.server.subscribe('chat');
    a!.wss.publish('chat', 'first words'); // in the same tick as the subscription
    assert.deepEqual(await mine, ['first words']);
    await until(() => watcher.log.length === 1, 'the other server got it');
  });

  it('except and ws.publish leave out connections of the publishing server only', async (t) => {
    const [a, b] = await cluster(t, 2);
    const a1 = await subscriber(t, a!, 'x');
    const a2 = await subscriber(t, a!, 'x');
    const b1 = await subscriber(t, b!, 'x');
    await settled([a!, b!], [a1, a2, b1], 'x');
    a1.server.publish('x', 'from a1');
    a!.wss.publish('x', 'not a2', { except: a2.server });
    a!.wss.publish('x', 'all');
    await until(() => b1.log.length === 3 && a1.log.length === 2 && a2.log.length === 2, 'all in');
    assert.deepEqual(a1.log, ['not a2', 'all']);
    assert.deepEqual(a2.log, ['from a1', 'all']);
    assert.deepEqual(b1.log, ['from a1', 'not a2', 'all']);
  });

  it('binary messages and compression flags travel unchanged', async (t) => {
    const [a, b] = await cluster(t, 2);
    const sub = await subscriber(t, b!, 'bin');
    await settled([a!, b!], [sub], 'bin');
    const log: string[] = [];
    sub.client.on('message', (d, isBinary) => log.push(`${isBinary} ${d.toString('hex')}`));
    a!.wss.publish('bin', Buffer.from([0, 10, 255, 13]));
    a!.wss.publish('bin', 'text\n with newline');
    await until(() => log.length === 2, 'both');
    assert.deepEqual(log, [
      'true 000aff0d',
      `false ${Buffer.from('text\n with newline').toString('hex')}`,
    ]);
  });

  it('stops relaying a topic when its last local subscriber leaves', async (t) => {
    const prefix = uniquePrefix();
    const [a] = await cluster(t, 1, { prefix });
    const s = await subscriber(t, a!, 'gone');
    await settled([a!], [s], 'gone');
    s.server.unsubscribe('gone');
    const probe = redisClient();
    defer(t, () => probe.quit());
    const channel = `${prefix}gone`;
    const count = async () => Number(((await probe.pubsub('NUMSUB', channel)) as unknown[])[1]);
    const deadline = Date.now() + 5000;
    while ((await count()) !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await count(), 0);
  });
});

describe('RedisAdapter: sequence ids and replay', () => {
  it('replays from the topic log within its window, saying when it does not reach back', async (t) => {
    const [a, b] = await cluster(t, 2, { historyLength: 10 });
    const watcher = await connect(t, a!.wss, a!.url);
    // Subscribed and publishing at once on the same server: nothing is missed.
    watcher.server.subscribe('log', { sequenced: true });
    const seen = texts(watcher.client, 199, 20_000);
    for (let i = 1; i <= 199; i++) a!.wss.publish('log', `m${i}`);
    const all = (await seen).map((m) => JSON.parse(m) as { seq: string; data: string });
    assert.deepEqual(
      all.map((m) => m.data),
      Array.from({ length: 199 }, (_, i) => `m${i + 1}`),
    );
    const at = (n: number) => all[n - 1]!.seq;

    const back = await connect(t, b!.wss, b!.url);
    const got = texts(back.client, 4, 10_000);
    assert.deepEqual(await b!.wss.replay(back.server, 'log', at(195)), {
      replayed: 4,
      complete: true,
    });
    assert.deepEqual(await got, ['m196', 'm197', 'm198', 'm199']);

    const late = await connect(t, b!.wss, b!.url);
    const result = await b!.wss.replay(late.server, 'log', at(2));
    assert.equal(result.complete, false, 'm3 is long gone');
    assert.ok(result.replayed >= 10 && result.replayed < 199, `${result.replayed} replayed`);
  });

  it('a replayed connection then gets the live messages, none twice, none missing', async (t) => {
    const [a, b] = await cluster(t, 2, { historyLength: 100 });
    const w = await connect(t, a!.wss, a!.url);
    w.server.subscribe('r', { sequenced: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const first = texts(w.client, 1, 10_000);
    a!.wss.publish('r', 'start');
    const since = (JSON.parse((await first)[0]!) as { seq: string }).seq;
    for (let i = 1; i <= 20; i++) a!.wss.publish('r', `before ${i}`);
    const c = await connect(t, b!.wss, b!.url);
    const got = texts(c.client, 40, 20_000);
    const replay = b!.wss.replay(c.server, 'r', since);
    for (let i = 1; i <= 20; i++) a!.wss.publish('r', `during ${i}`);
    assert.equal((await replay).complete, true);
    assert.deepEqual(await got, [
      ...Array.from({ length: 20 }, (_, i) => `before ${i + 1}`),
      ...Array.from({ length: 20 }, (_, i) => `during ${i + 1}`),
    ]);
  });
});

describe('RedisAdapter: losing Redis', () => {
  it('a lost subscriber connection catches up from the log: nothing missed, nothing twice', async (t) => {
    const [a, b] = await cluster(t, 2);
    const sa = await subscriber(t, a!, 'k');
    const sb = await subscriber(t, b!, 'k');
    await settled([a!, b!], [sa, sb], 'k');
    const admin = redisClient();
    defer(t, () => admin.quit());
    const name = `tsws:${b!.adapter.origin}:sub`;
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const id = /id=(\d+) [^\n]*name=([^ ]+)/g;
    let killed = false;
    for (const [, clientId, clientName] of list.matchAll(id)) {
      if (clientName === name) {
        await admin.call('CLIENT', 'KILL', 'ID', clientId!);
        killed = true;
      }
    }
    assert.ok(killed, 'found the subscriber connection');
    for (let i = 0; i < 50; i++) a!.wss.publish('k', `m${i}`);
    const expected = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await until(() => sa.log.length === 50 && sb.log.length === 50, 'caught up', 20_000);
    assert.deepEqual(sa.log, expected);
    assert.deepEqual(sb.log, expected, 'missed live, recovered from the log, in order');
    assert.deepEqual(b!.reports, []);
  });

  it('survives a Redis restart: resubscribes, reports what it could not publish, no duplicates', async (t) => {
    const redis = await PrivateRedis.start();
    defer(t, () => redis.kill());
    const prefix = uniquePrefix('restart');
    const a = await node(t, { url: redis.url, prefix });
    const b = await node(t, { url: redis.url, prefix });
    const sa = await subscriber(t, a, 'r');
    const sb = await subscriber(t, b, 'r');
    await settled([a, b], [sa, sb], 'r');
    a.wss.publish('r', 'before');
    await until(() => sa.log.length === 1 && sb.log.length === 1, 'before');

    await redis.kill();
    await until(() => !a.adapter.isReady && !b.adapter.isReady, 'both see Redis gone', 10_000);
    assert.equal(a.wss.publish('r', 'during'), false, 'nothing to publish to');
    await until(() => a.reports.length === 1, 'the failed publish is reported');
    const failed = a.reports[0]!;
    assert.equal(failed.reason, 'publish-failed');
    assert.equal(failed.reason === 'publish-failed' && failed.message.data.toString(), 'during');

    await redis.resume();
    await within(Promise.all([a.adapter.ready(), b.adapter.ready()]), 'reconnected', 20_000);
    // Publish until the resubscription is live on both (the new log starts over).
    let n = 0;
    await until(
      () => {
        a.wss.publish('r', `after ${n++}`);
        return (
          sa.log.some((m) => m.startsWith('after')) && sb.log.some((m) => m.startsWith('after'))
        );
      },
      'messages flow again',
      20_000,
    );
    b.wss.publish('r', 'last');
    await until(() => sa.log.at(-1) === 'last' && sb.log.at(-1) === 'last', 'last');
    for (const log of [sa.log, sb.log]) {
      assert.equal(log[0], 'before');
      assert.ok(!log.includes('during'));
      assert.equal(new Set(log).size, log.length, 'no duplicates');
      const after = log.filter((m) => m.startsWith('after')).map((m) => Number(m.slice(6)));
      assert.ok(
        after.every((v, i) => i === 0 || v > after[i - 1]!),
        'in order',
      );
    }
    assert.deepEqual(sa.log, sb.log, 'the same messages in the same order on both');
    // The log started over: each server says it cannot know what came after "before".
    for (const n of [a, b]) {
      const gaps = n.reports.filter((r) => r.reason === 'gap');
      assert.equal(gaps.length, 1);
    }
  });
});
