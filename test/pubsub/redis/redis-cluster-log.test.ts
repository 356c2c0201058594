// The cluster log's parts that need no cluster (the rest: redis-cluster-adapter.test.ts): the
// script, slots, options, and how a changed slot map is followed, with a stand-in for the
// ioredis Cluster whose slots all point at the shared Redis (SSUBSCRIBE works there too).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Cluster } from 'ioredis';
import type { LogEntry } from '../../../src/pubsub/log-backend.js';
import { keySlot } from '../../../src/pubsub/redis/key-slot.js';
import { RedisClusterAdapter } from '../../../src/pubsub/redis/redis-cluster-adapter.js';
import {
  CLUSTER_PUBLISH_SCRIPT,
  RedisClusterLog,
  tag,
  untag,
} from '../../../src/pubsub/redis/redis-cluster-log.js';
import type { RedisAdapterEvents } from '../../../src/pubsub/redis/redis-options.js';
import { PUBLISH_SCRIPT } from '../../../src/pubsub/redis/wire.js';
import { defer, until } from '../../helpers/node-util.js';
import { redisClient, uniquePrefix } from '../../helpers/redis.js';

/** What RedisClusterLog uses of a Cluster: every slot at one node until a test moves some. */
class FakeCluster extends EventEmitter {
  status = 'ready';
  slots: string[][] = Array.from({ length: 16384 }, () => ['127.0.0.1:6379']);
  options = { redisOptions: {} };
  refreshes = 0;
  defineCommand(): void {}
  nodes(): [] {
    return [];
  }
  refreshSlotsCache(callback: () => void): void {
    this.refreshes++;
    setImmediate(callback);
  }
}

describe('Redis Cluster log', () => {
  it("fans out with SPUBLISH, the single-server script's one PUBLISH replaced", () => {
    const count = (text: string, word: string) => text.split(`redis.call('${word}',`).length - 1;
    assert.equal(count(PUBLISH_SCRIPT, 'PUBLISH'), 1, 'wire.ts publishes once');
    assert.equal(count(CLUSTER_PUBLISH_SCRIPT, 'PUBLISH'), 0);
    assert.equal(count(CLUSTER_PUBLISH_SCRIPT, 'SPUBLISH'), 1);
    assert.equal(
      CLUSTER_PUBLISH_SCRIPT.replace("'SPUBLISH'", "'PUBLISH'"),
      PUBLISH_SCRIPT,
      'nothing else differs',
    );
  });

  it('computes the slots of the specification (CRC16 XMODEM, hash tags)', () => {
    assert.equal(keySlot('123456789'), 0x31c3); // the CRC16 check value
    assert.equal(keySlot('foo'), 12182);
    assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
    // An empty tag is no tag: the whole key is hashed.
    assert.notEqual(keySlot('foo{}{bar}'), keySlot('bar'));
    assert.equal(keySlot('foo{{bar}}zap'), keySlot('{bar'));
    assert.equal(keySlot('foo{bar}{zap}'), keySlot('bar'));
  });

  it('gives every topic a non-empty hash tag, and reads the topic back from it', () => {
    for (const topic of ['room', '', '}', '}x', '~', '~y', 'a}b', 'a{b', '{', 'é']) {
      const channel = `p:{${tag(topic)}}`;
      for (const kind of ['log', 'last', 'bytes'])
        assert.equal(keySlot(`${channel}:${kind}`), keySlot(channel), `${topic} ${kind}`);
      assert.equal(untag(tag(topic)), topic);
    }
    assert.equal(tag('room'), 'room', 'plain names stay as they are');
    assert.notEqual(tag('~'), tag(''));
  });

  it('refuses a prefix with a brace (it would put every topic in one slot)', () => {
    assert.throws(() => new RedisClusterAdapter({ prefix: 'a{b}:' }), TypeError);
    assert.throws(() => new RedisClusterAdapter({ historyLength: 0 }), TypeError);
  });

  it('a topic whose slot has another owner in a refreshed map is cut, then subscribed there', async (t) => {
    const prefix = uniquePrefix('cluster-log');
    const cluster = new FakeCluster();
    const log = new RedisClusterLog(
      {
        origin: 'o',
        prefix,
        historyLength: 10,
        historyBytes: 1024,
        historyTtl: 60_000,
        maxMessage: 1024,
        cluster: cluster as unknown as Cluster,
        nodes: [],
        clusterOptions: undefined,
      },
      new EventEmitter<RedisAdapterEvents>(),
    );
    defer(t, () => log.close());
    const calls: string[] = [];
    const entries: LogEntry[] = [];
    log.start({
      entry: (topic, entry) => {
        calls.push(`entry ${topic}`);
        entries.push(entry);
      },
      ready: () => calls.push('ready'),
      lost: () => calls.push('lost'),
    });
    await log.subscribe('t');
    const probe = redisClient();
    defer(t, () => probe.quit());
    await probe.call('SPUBLISH', `${prefix}{t}`, '1-1\n0-0\nx\n1\n0\nhello');
    await until(() => calls.length === 1, 'the entry');
    assert.deepEqual(calls, ['entry t']);
    assert.equal(entries[0]!.data.toString(), 'hello');

    // Another slot moving changes nothing; the topic's slot moving cuts it.
    const slot = keySlot(`${prefix}{t}`);
    cluster.slots[(slot + 1) % 16384] = ['127.0.0.1:1'];
    cluster.emit('refresh');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(log.isReady, true);
    assert.deepEqual(calls, ['entry t']);
    cluster.slots[slot] = ['127.0.0.1:1'];
    cluster.emit('refresh');
    assert.deepEqual(calls, ['entry t', 'lost']);
    assert.equal(log.isReady, false, 'not ready while subscriptions are made again');
    await until(() => calls.length === 3, 'ready again', 5000);
    assert.deepEqual(calls, ['entry t', 'lost', 'ready']);
    assert.equal(log.isReady, true);
    // Nobody subscribed the topic again (the adapter would have): it was left.
    const numsub = async () =>
      Number(((await probe.call('PUBSUB', 'SHARDNUMSUB', `${prefix}{t}`)) as unknown[])[1]);
    const deadline = Date.now() + 5000;
    while ((await numsub()) !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await numsub(), 0);
    // Subscribing again goes to the new owner (nobody listens there: it fails).
    await assert.rejects(log.subscribe('t'));
    assert.ok(cluster.refreshes >= 2, 'a failed subscription reads the slot map again');
  });
});
