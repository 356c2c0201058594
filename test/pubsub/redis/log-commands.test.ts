import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogRecord } from '../../../src/pubsub/log-backend.js';
import {
  appendArgs,
  appendManyArgs,
  channelEntries,
  readLog,
  type TopicKeys,
} from '../../../src/pubsub/redis/log-commands.js';
import { encodeChannelBatch, flagsOf, MAX_BATCH } from '../../../src/pubsub/redis/wire.js';

// What the one-server and the cluster logs share (src/pubsub/redis/log-commands.ts); both are
// also tested end to end against real Redis (redis-log, redis-cluster-adapter).

const keys: TopicKeys = ['p:t:log', 'p:t:last', 'p:t:bytes', 'p:t:sizes'];
const bounds = { historyLength: 10, historyTtl: 1000, historyBytes: 4096 };
const record = (origin: string, data = 'x'): LogRecord => ({
  origin,
  token: '1',
  binary: false,
  compress: false,
  data: Buffer.from(data),
});

describe('Redis log commands', () => {
  it('appendArgs: the keys, then the record and the bounds in the script order', () => {
    const args = appendArgs(keys, 'p:t', record('o1', 'hi'), bounds);
    assert.deepEqual(args.slice(0, 4), [...keys]);
    assert.deepEqual(args.slice(4), [
      'o1',
      '1',
      flagsOf(false, false),
      Buffer.from('hi'),
      10,
      1000,
      'p:t',
      4096,
    ]);
  });

  it('appendManyArgs: one origin packs; several go one by one; empty or too long is refused', () => {
    const args = appendManyArgs(keys, 'p:t', [record('o'), record('o')], bounds);
    assert.ok(Array.isArray(args));
    assert.deepEqual(args.slice(4, 10), [10, 1000, 'p:t', 4096, 'o', 2]);
    assert.equal(appendManyArgs(keys, 'p:t', [record('a'), record('b')], bounds), 'each');
    assert.ok(appendManyArgs(keys, 'p:t', [], bounds) instanceof RangeError);
    const many = Array.from({ length: MAX_BATCH + 1 }, () => record('o'));
    assert.ok(appendManyArgs(keys, 'p:t', many, bounds) instanceof RangeError);
  });

  it('channelEntries: a single message, a batch, and what is not ours', () => {
    const single = Buffer.from(`5-1\n5-0\no\n7\n${flagsOf(true, false)}\nab`);
    assert.deepEqual(
      channelEntries(single, 100)?.map((e) => [e.seq, String(e.data)]),
      [['5-1', 'ab']],
    );
    const entry = (seq: string, prev: string, data: string) => ({
      seq,
      prev,
      origin: 'o',
      token: seq,
      binary: false,
      compress: false,
      data: Buffer.from(data),
    });
    const batch = encodeChannelBatch([entry('6-1', '5-1', 'c'), entry('6-2', '6-1', 'd')]);
    assert.deepEqual(
      channelEntries(batch, 100)?.map((e) => e.seq),
      ['6-1', '6-2'],
    );
    assert.equal(channelEntries(Buffer.from('junk'), 100), undefined);
    assert.equal(channelEntries(Buffer.from('*2\njunk'), 100), undefined);
    assert.equal(channelEntries(single, 1), undefined, 'over maxMessage');
  });

  it('readLog: page after page from after `after`, what is not ours counted and left out', async () => {
    const field = (s: string) => Buffer.from(s);
    const good = (n: number): [Buffer, Buffer[]] => [
      field(`1-${n}`),
      ['p', `1-${n - 1}`, 'o', 'x', 't', String(n), 'f', '0', 'd', `m${n}`].map(field),
    ];
    const stream: [Buffer, Buffer[]][] = [];
    for (let n = 1; n <= 2500; n++)
      stream.push(n === 1200 ? [field('1-1200'), [field('zz')]] : good(n));
    const starts: string[] = [];
    const bad: number[] = [];
    const entries = await readLog(
      async (_key, start, _end, _count, count) => {
        starts.push(start);
        const after = Number(start.slice(3)); // `(1-N`
        return stream.filter(([id]) => Number(String(id).slice(2)) > after).slice(0, count);
      },
      'k',
      '1-0',
      1000,
      (bytes) => bad.push(bytes),
    );
    assert.deepEqual(starts, ['(1-0', '(1-1000', '(1-2000']);
    assert.equal(entries.length, 2499);
    assert.equal(entries[0]!.seq, '1-1');
    assert.equal(entries.at(-1)!.seq, '1-2500');
    assert.deepEqual(bad, [2]);
  });
});
