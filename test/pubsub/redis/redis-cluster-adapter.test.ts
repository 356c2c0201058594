// The Redis Cluster adapter (src/pubsub/redis/redis-cluster-*.ts) against a real cluster
// started here: 3 masters with a replica each (test/helpers/redis-cluster.ts). Servers with an
// adapter each stand for separate processes. The tests run in order on one cluster: the slot
// migration and the failover (last) change it.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Cluster } from 'ioredis';
import type { UndeliveredReport, WebSocketServer } from '../../../src/index.js';
import {
  RedisClusterAdapter,
  type RedisClusterAdapterOptions,
} from '../../../src/pubsub/redis/index.js';
import { keySlot } from '../../../src/pubsub/redis/key-slot.js';
import { startServer, until, within } from '../../helpers/node-util.js';
import { connect, type Pair, texts } from '../../helpers/pubsub-util.js';
import { uniquePrefix } from '../../helpers/redis.js';
import { clusterSkipReason, RedisCluster } from '../../helpers/redis-cluster.js';

const skip = clusterSkipReason();

interface Node {
  wss: WebSocketServer;
  url: string;
  adapter: RedisClusterAdapter;
  reports: UndeliveredReport[];
}

type Sub = Pair & { log: string[] };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once the asynchronous `condition` holds, checking every 50 ms. */
async function eventually(condition: () => Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(50);
  }
}

describe('RedisClusterAdapter', { skip, timeout: 240_000 }, () => {
  let redis: RedisCluster;

  before(async () => {
    redis = await RedisCluster.start(3, 1);
  });

  after(async () => {
    await redis?.stop();
  });

  /** A server with its own cluster adapter: one "process". */
  async function node(t: TestContext, options: RedisClusterAdapterOptions): Promise<Node> {
    const adapter = new RedisClusterAdapter({
      nodes: redis.nodes.slice(0, 1),
      historyTtl: 120_000,
      ...options,
    });
    const { wss, url } = await startServer(t, { pubsub: { adapter } });
    const reports: UndeliveredReport[] = [];
    wss.on('undelivered', (report) => reports.push(report));
    await within(adapter.ready(), 'the adapter connects', 10_000);
    return { wss, url, adapter, reports };
  }

  async function nodes(t: TestContext, n: number, options: RedisClusterAdapterOptions = {}) {
    const prefix = uniquePrefix('cluster');
    const out: Node[] = [];
    for (let i = 0; i < n; i++) out.push(await node(t, { prefix, ...options }));
    return { prefix, nodes: out };
  }

  async function subscriber(t: TestContext, at: Node, topic: string): Promise<Sub> {
    const pair = await connect(t, at.wss, at.url);
    pair.server.subscribe(topic);
    const log: string[] = [];
    pair.client.on('message', (data) => log.push(data.toString()));
    return { ...pair, log };
  }

  /** Probes until every subscription is live at its shard, then empties the logs. */
  async function settled(from: Node, subs: Sub[], topic: string): Promise<void> {
    const probed = (s: Sub) => s.log.some((m) => m.startsWith('probe'));
    let n = 0;
    const timer = setInterval(() => from.wss.publish(topic, `probe ${n++}`), 50);
    try {
      await until(() => subs.every(probed), `subscriptions to ${topic} are live`, 15_000);
    } finally {
      clearInterval(timer);
    }
    from.wss.publish(topic, 'probe end');
    await until(() => subs.every((s) => s.log.includes('probe end')), 'probes over', 10_000);
    for (const s of subs) s.log.length = 0;
  }

  /** One topic in each third of the slots (each master's range after `cluster create`). */
  function spreadTopics(label: string): string[] {
    const topics: string[] = [];
    for (let third = 0; third < 3; third++) {
      for (let i = 0; ; i++) {
        const topic = `${label}-${i}`;
        if (Math.floor(keySlot(topic) / 5462) === third && !topics.includes(topic)) {
          topics.push(topic);
          break;
        }
      }
    }
    return topics;
  }

  /** How many connections are subscribed to the topic's shard channel at one node. */
  async function shardSubscribers(port: number, prefix: string, topic: string): Promise<number> {
    const reply = (await redis.call(port, 'PUBSUB', 'SHARDNUMSUB', `${prefix}{${topic}}`)) as [
      string,
      number,
    ];
    return Number(reply[1]);
  }

  it("computes a key's slot as the cluster does, hash tags included", async () => {
    const keys = [
      'foo',
      '123456789',
      'p{t1}',
      '{user1000}.following',
      'foo{}{bar}',
      'foo{{bar}}zap',
    ];
    keys.push('foo{bar}{zap}', 'tsws:{room}:log', 'tsws:{room}', '{}', 'é{ü}', '');
    for (let i = 0; i < 50; i++) keys.push(`k${Math.random().toString(36)}`);
    const port = redis.ports[0]!;
    for (const key of keys) {
      assert.equal(keySlot(key), Number(await redis.call(port, 'CLUSTER', 'KEYSLOT', key)), key);
    }
    // A topic's keys and its shard channel share its slot.
    assert.equal(keySlot('tsws:{room}:log'), keySlot('tsws:{room}'));
    assert.equal(keySlot('tsws:{room}:last'), keySlot('room'));
  });

  it('topics on all three shards: every publish reaches both servers, one order per topic', async (t) => {
    const { prefix, nodes: pair } = await nodes(t, 2);
    const [a, b] = pair as [Node, Node];
    const topics = spreadTopics('room');
    const owners = new Set<number>();
    for (const topic of topics) owners.add((await redis.owner(keySlot(topic))).port);
    assert.equal(owners.size, 3, 'the topics live on three different masters');

    const subs = new Map<string, Sub[]>();
    for (const topic of topics) {
      const list = [await subscriber(t, a, topic), await subscriber(t, b, topic)];
      subs.set(topic, list);
      await settled(a, list, topic);
    }
    for (const topic of topics) {
      // Each master has the subscriptions of its topics: sharded, not broadcast.
      const owner = (await redis.owner(keySlot(topic))).port;
      assert.equal(await shardSubscribers(owner, prefix, topic), 2);
    }
    const N = 40;
    for (let i = 0; i < N; i++)
      for (const topic of topics) (i % 2 ? b : a).wss.publish(topic, `${topic} m${i}`);
    const all = [...subs.values()].flat();
    await until(() => all.every((s) => s.log.length === N), 'every message everywhere', 20_000);
    for (const topic of topics) {
      const [first, second] = subs.get(topic)!;
      assert.deepEqual(first!.log, second!.log, 'the same order on both servers');
      // Each server's own publishes keep their order.
      for (const parity of [0, 1]) {
        const own = first!.log.filter((m) => Number(m.split(' m')[1]) % 2 === parity);
        const expected = Array.from({ length: N }, (_, i) => i)
          .filter((i) => i % 2 === parity)
          .map((i) => `${topic} m${i}`);
        assert.deepEqual(own, expected);
      }
    }
    assert.deepEqual([...a.reports, ...b.reports], []);
  });

  it('replays from the topic stream on another server, saying whether it reaches back', async (t) => {
    const { nodes: pair } = await nodes(t, 2, { historyLength: 10 });
    const [a, b] = pair as [Node, Node];
    const watcher = await connect(t, a.wss, a.url);
    watcher.server.subscribe('log', { sequenced: true });
    const seen = texts(watcher.client, 50, 20_000);
    for (let i = 1; i <= 50; i++) a.wss.publish('log', `m${i}`);
    const all = (await seen).map((m) => JSON.parse(m) as { seq: string; data: string });
    assert.deepEqual(
      all.map((m) => m.data),
      Array.from({ length: 50 }, (_, i) => `m${i + 1}`),
    );
    const back = await connect(t, b.wss, b.url);
    const got = texts(back.client, 3, 10_000);
    assert.deepEqual(await b.wss.replay(back.server, 'log', all[46]!.seq), {
      replayed: 3,
      complete: true,
    });
    assert.deepEqual(await got, ['m48', 'm49', 'm50']);
    const late = await connect(t, b.wss, b.url);
    const result = await b.wss.replay(late.server, 'log', all[1]!.seq);
    assert.equal(result.complete, false, 'm3 is long gone');
  });

  it('awkward topic names ("", "}x", "~y", "a{b}c") are carried like others', async (t) => {
    const { nodes: pair } = await nodes(t, 2);
    const [a, b] = pair as [Node, Node];
    for (const topic of ['', '}x', '~y', 'a{b}c']) {
      const s = await subscriber(t, b, topic);
      await settled(a, [s], topic);
      a.wss.publish(topic, `to ${topic}`);
      await until(() => s.log.length === 1, `the message to "${topic}"`);
      assert.deepEqual(s.log, [`to ${topic}`]);
    }
    assert.deepEqual([...a.reports, ...b.reports], []);
  });

  it("an application's Cluster client: used, left open; leaving a topic unsubscribes at its shard; junk is counted", async (t) => {
    const prefix = uniquePrefix('cluster');
    const cluster = new Cluster(redis.nodes.slice(0, 1));
    t.after(() => cluster.disconnect());
    const a = await node(t, { prefix, cluster });
    const s = await subscriber(t, a, 'own');
    await settled(a, [s], 'own');
    const owner = (await redis.owner(keySlot('own'))).port;
    assert.equal(await shardSubscribers(owner, prefix, 'own'), 1);
    // Not a message of ours on the topic's shard channel: ignored, counted.
    await redis.call(owner, 'SPUBLISH', `${prefix}{own}`, 'junk');
    await until(() => a.adapter.malformed === 1, 'the junk is counted');
    a.wss.publish('own', 'real');
    await until(() => s.log.length === 1, 'the real one');
    assert.deepEqual(s.log, ['real']);
    s.server.unsubscribe('own');
    await eventually(async () => (await shardSubscribers(owner, prefix, 'own')) === 0, 'left');
    await a.adapter.close();
    assert.equal(cluster.status, 'ready', "the application's client stays open");
    assert.equal(await cluster.exists(`${prefix}{own}:log`), 1);
  });

  it('a subscriber connection cut (CLIENT KILL) catches up from the stream: nothing missed, nothing twice', async (t) => {
    const { nodes: pair } = await nodes(t, 2);
    const [a, b] = pair as [Node, Node];
    const topic = 'cut';
    const sa = await subscriber(t, a, topic);
    const sb = await subscriber(t, b, topic);
    await settled(a, [sa, sb], topic);
    const owner = (await redis.owner(keySlot(topic))).port;
    const name = `tsws:${b.adapter.origin}:ssub`;
    const list = String(await redis.call(owner, 'CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const id = /id=(\d+) [^\n]*name=([^ ]+)/g;
    let found = false;
    for (const [, clientId, clientName] of list.matchAll(id)) {
      if (clientName !== name) continue;
      await redis.call(owner, 'CLIENT', 'KILL', 'ID', clientId!);
      found = true;
    }
    assert.ok(found, 'found the subscriber connection');
    for (let i = 0; i < 50; i++) a.wss.publish(topic, `m${i}`);
    const expected = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await until(() => sa.log.length === 50 && sb.log.length === 50, 'caught up', 20_000);
    assert.deepEqual(sa.log, expected);
    assert.deepEqual(sb.log, expected, 'missed live, read from the stream, in order');
    assert.deepEqual([...a.reports, ...b.reports], []);
  });

  it("a topic's slot migrates while it is published to: in order, nothing lost, resubscribed", async (t) => {
    const { prefix, nodes: pair } = await nodes(t, 2);
    const [a, b] = pair as [Node, Node];
    const topic = 'moving';
    const slot = keySlot(topic);
    const sa = await subscriber(t, a, topic);
    const sb = await subscriber(t, b, topic);
    await settled(a, [sa, sb], topic);

    const from = await redis.owner(slot);
    const masters: number[] = [];
    for (const port of redis.alive()) {
      if (String(await redis.call(port, 'INFO', 'replication')).includes('role:master'))
        masters.push(port);
    }
    const toPort = masters.find((port) => port !== from.port)!;
    const to = { port: toPort, id: await redis.id(toPort) };

    const cut = [0, 0];
    a.adapter.on('disconnected', () => cut[0]!++);
    b.adapter.on('disconnected', () => cut[1]!++);
    // Publishes go on every 5 ms, from both servers alternately, while the slot moves.
    const sent: string[] = [];
    let n = 0;
    const timer = setInterval(() => {
      const text = `m${n}`;
      if ((n++ % 2 ? b : a).wss.publish(topic, text)) sent.push(text);
    }, 5);
    try {
      await sleep(200);
      await redis.call(to.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
      await redis.call(from.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
      for (;;) {
        const keys = (await redis.call(
          from.port,
          'CLUSTER',
          'GETKEYSINSLOT',
          slot,
          100,
        )) as string[];
        if (keys.length === 0) break;
        await redis.call(from.port, 'MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
      }
      // The new owner first: for a while publishes run there (MOVED) while the subscriptions
      // are still at the old owner, so those messages can only come from the log.
      await redis.call(to.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      await sleep(200);
      for (const port of masters.filter((p) => p !== to.port))
        await redis.call(port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      await sleep(500);
    } finally {
      clearInterval(timer);
    }
    assert.equal((await redis.owner(slot)).port, to.port, 'the slot moved');
    assert.ok(cut[0]! > 0 && cut[1]! > 0, 'both servers saw their subscription cut');

    // Publishes that failed were reported; the others reach both servers, in order, once.
    const failed = new Set(
      [...a.reports, ...b.reports].flatMap((r) =>
        r.reason === 'publish-failed' ? [r.message.data.toString()] : [],
      ),
    );
    const expected = sent.filter((m) => !failed.has(m));
    assert.ok(expected.length > 100, `${expected.length} messages published`);
    await until(
      () => sa.log.length >= expected.length && sb.log.length >= expected.length,
      'every published message arrives',
      20_000,
    );
    // One order for both servers (the log's), each message once, each server's own publishes
    // in their order (a redirected publish is not overtaken: owner-gate.ts); between the two
    // publishers the log decides.
    assert.deepEqual(sa.log, sb.log);
    assert.deepEqual([...sa.log].sort(), [...expected].sort(), 'each message once');
    for (const parity of [0, 1]) {
      const own = (log: string[]) => log.filter((m) => Number(m.slice(1)) % 2 === parity);
      assert.deepEqual(own(sa.log), own(expected), 'each publisher in its order');
    }
    assert.deepEqual(
      [...a.reports, ...b.reports].filter((r) => r.reason === 'gap'),
      [],
    );
    // Both servers now subscribe at the new owner, and live messages still flow.
    await eventually(async () => (await shardSubscribers(to.port, prefix, topic)) === 2, 'moved');
    a.wss.publish(topic, 'after');
    await until(() => sa.log.at(-1) === 'after' && sb.log.at(-1) === 'after', 'live again');
  });

  it('a graceful failover (CLUSTER FAILOVER) while publishing: one order, nothing twice, failures reported', async (t) => {
    const { prefix, nodes: pair } = await nodes(t, 2);
    const [a, b] = pair as [Node, Node];
    const topic = 'handover';
    const slot = keySlot(topic);
    const sa = await subscriber(t, a, topic);
    const sb = await subscriber(t, b, topic);
    await settled(a, [sa, sb], topic);
    const master = await redis.owner(slot);
    const replicas = String(await redis.call(master.port, 'CLUSTER', 'REPLICAS', master.id));
    const replica = Number(/:(\d+)@/.exec(replicas)?.[1]);
    assert.ok(replica > 0, `a replica of ${master.port}: ${replicas}`);

    const sent: string[] = [];
    let n = 0;
    const timer = setInterval(() => {
      const text = `m${n}`;
      if ((n++ % 2 ? b : a).wss.publish(topic, text)) sent.push(text);
    }, 5);
    try {
      await sleep(200);
      await redis.call(replica, 'CLUSTER', 'FAILOVER');
      await eventually(async () => (await redis.owner(slot)).port === replica, 'promoted');
      await redis.waitOk();
      await sleep(500);
    } finally {
      clearInterval(timer);
    }
    const failed = new Set(
      [...a.reports, ...b.reports].flatMap((r) =>
        r.reason === 'publish-failed' ? [r.message.data.toString()] : [],
      ),
    );
    const expected = sent.filter((m) => !failed.has(m));
    a.wss.publish(topic, 'last');
    await until(
      () => sa.log.at(-1) === 'last' && sb.log.at(-1) === 'last',
      'live after the failover',
      20_000,
    );
    for (const s of [sa, sb]) s.log.pop();
    await eventually(
      async () => (await shardSubscribers(replica, prefix, topic)) === 2,
      'subscribed at the new master',
    );
    // The old master held writes during the handover, then answered MOVED: the publishes
    // made meanwhile waited for them (owner-gate.ts), so each publisher keeps its order.
    assert.deepEqual(sa.log, sb.log, 'one order on both servers');
    assert.deepEqual([...sa.log].sort(), [...expected].sort(), 'each message once');
    for (const parity of [0, 1]) {
      const own = (log: string[]) => log.filter((m) => Number(m.slice(1)) % 2 === parity);
      assert.deepEqual(own(sa.log), own(expected), 'each publisher in its order');
    }
    assert.deepEqual(
      [...a.reports, ...b.reports].filter((r) => r.reason === 'gap'),
      [],
    );
  });

  it('a master dies and its replica takes over: resubscribed, caught up, failures reported', async (t) => {
    const { prefix, nodes: pair } = await nodes(t, 2);
    const [a, b] = pair as [Node, Node];
    const topics = spreadTopics('fo');
    const subs = new Map<string, Sub[]>();
    for (const topic of topics) {
      const list = [await subscriber(t, a, topic), await subscriber(t, b, topic)];
      subs.set(topic, list);
      await settled(a, list, topic);
    }
    const victim = topics[0]!;
    const slot = keySlot(victim);
    const dead = await redis.owner(slot);
    for (const topic of topics) for (let i = 0; i < 10; i++) a.wss.publish(topic, `before ${i}`);
    const all = [...subs.values()].flat();
    await until(() => all.every((s) => s.log.length === 10), 'before', 10_000);
    // Let the replica have everything (replication is asynchronous).
    await sleep(200);

    await redis.kill(dead.port);
    // Publishes go on while the cluster notices and fails over: each one is delivered or
    // reported as failed, never both, never twice.
    const sent: string[] = [];
    let n = 0;
    const publishing = setInterval(() => {
      const text = `during ${n++}`;
      if (b.wss.publish(victim, text)) sent.push(text);
    }, 20);
    try {
      await within(
        (async () => {
          for (;;) {
            const owner = await redis.owner(slot).catch(() => undefined);
            if (owner !== undefined && owner.port !== dead.port) return;
            await sleep(100);
          }
        })(),
        'the replica takes over',
        30_000,
      );
      await redis.waitOk();
      await sleep(1500);
    } finally {
      clearInterval(publishing);
    }
    const owner = await redis.owner(slot);
    for (const topic of topics) a.wss.publish(topic, 'after');
    await until(
      () => all.every((s) => s.log.at(-1) === 'after'),
      'live again on every shard',
      30_000,
    );
    await eventually(
      async () => (await shardSubscribers(owner.port, prefix, victim)) === 2,
      'resubscribed at the new master',
    );
    const failed = new Set(
      b.reports.flatMap((r) =>
        r.reason === 'publish-failed' && r.topic === victim ? [r.message.data.toString()] : [],
      ),
    );
    for (const [topic, list] of subs) {
      for (const s of list) {
        assert.deepEqual(
          s.log.slice(0, 10),
          Array.from({ length: 10 }, (_, i) => `before ${i}`),
        );
        assert.equal(new Set(s.log).size, s.log.length, 'nothing twice');
        if (topic !== victim) {
          assert.equal(s.log.length, 11, 'other shards are untouched');
          continue;
        }
        const during = s.log.filter((m) => m.startsWith('during'));
        const expected = sent.filter((m) => !failed.has(m));
        assert.deepEqual(during, expected, 'the publishes that went, in order');
      }
    }
    assert.ok(sent.length > 0);
    for (const m of sent) {
      const delivered = subs.get(victim)!.every((s) => s.log.includes(m));
      assert.ok(delivered !== failed.has(m), `${m}: delivered or reported, not both`);
    }
  });
});
