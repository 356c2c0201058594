// The cluster log's parts that need no cluster (the rest: redis-cluster-adapter.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keySlot } from '../../../src/pubsub/redis/key-slot.js';
import { RedisClusterAdapter } from '../../../src/pubsub/redis/redis-cluster-adapter.js';
import { CLUSTER_PUBLISH_SCRIPT } from '../../../src/pubsub/redis/redis-cluster-log.js';
import { PUBLISH_SCRIPT } from '../../../src/pubsub/redis/wire.js';

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

  it('refuses a prefix with a brace (it would put every topic in one slot)', () => {
    assert.throws(() => new RedisClusterAdapter({ prefix: 'a{b}:' }), TypeError);
    assert.throws(() => new RedisClusterAdapter({ historyLength: 0 }), TypeError);
  });
});
