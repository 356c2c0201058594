import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeChannelBatch,
  decodeChannelMessage,
  decodeStreamEntry,
  encodeChannelBatch,
  flagsOf,
  MAX_BATCH,
  type WireEntry,
} from '../../../src/pubsub/redis/wire.js';

describe('Redis wire format', () => {
  it('reads a channel message; the data keeps newlines and any byte', () => {
    const data = Buffer.from([10, 0, 255, 10, 13]);
    const message = Buffer.concat([
      Buffer.from(`5-1\n5-0\nabc\n7\n${flagsOf(true, false)}\n`),
      data,
    ]);
    assert.deepEqual(decodeChannelMessage(message), {
      seq: '5-1',
      prev: '5-0',
      origin: 'abc',
      token: '7',
      binary: true,
      compress: false,
      data,
    });
  });

  it('a channel message with fewer than five header lines is not ours', () => {
    assert.equal(decodeChannelMessage(Buffer.from('5-1\n5-0\nabc\n7')), undefined);
  });

  it('reads a stream entry, whatever the order of its fields', () => {
    const fields = ['d', 'hi', 'f', String(flagsOf(false, true)), 'p', '0-0', 't', '1', 'o', 'x'];
    const entry = decodeStreamEntry(
      Buffer.from('9-0'),
      fields.map((f) => Buffer.from(f)),
    );
    assert.deepEqual(entry, {
      seq: '9-0',
      prev: '0-0',
      origin: 'x',
      token: '1',
      binary: false,
      compress: true,
      data: Buffer.from('hi'),
    });
    assert.equal(decodeStreamEntry(Buffer.from('9-0'), [Buffer.from('d')]), undefined);
  });

  it('reads a batch channel message: entries in order, data of any bytes and of length 0', () => {
    const entries: WireEntry[] = [
      {
        seq: '7-0',
        prev: '6-3',
        origin: 'o1',
        token: '1',
        binary: true,
        compress: false,
        data: Buffer.from([10, 42, 10]),
      },
      {
        seq: '7-1',
        prev: '7-0',
        origin: 'o1',
        token: '2',
        binary: false,
        compress: true,
        data: Buffer.alloc(0),
      },
    ];
    const message = Buffer.concat([
      Buffer.from(`*2\n7-0\n6-3\no1\n1\n1\n3\n`),
      Buffer.from([10, 42, 10]),
      Buffer.from(`7-1\n7-0\no1\n2\n2\n0\n`),
    ]);
    assert.deepEqual(encodeChannelBatch(entries), message);
    assert.deepEqual(decodeChannelBatch(message), entries);
  });

  it('a batch is not ours when cut, padded, miscounted, over maxData or over MAX_BATCH', () => {
    const one = (data: string) => ({
      seq: '1-1',
      prev: '0-0',
      origin: 'o',
      token: '1',
      binary: false,
      compress: false,
      data: Buffer.from(data),
    });
    const message = encodeChannelBatch([one('abc'), one('defg')]);
    assert.equal(decodeChannelBatch(message.subarray(0, message.length - 1)), undefined);
    assert.equal(decodeChannelBatch(Buffer.concat([message, Buffer.from('x')])), undefined);
    assert.equal(
      decodeChannelBatch(Buffer.from(`*3${message.toString('latin1').slice(2)}`, 'latin1')),
      undefined,
    );
    assert.equal(decodeChannelBatch(Buffer.from('*0\n')), undefined);
    assert.equal(decodeChannelBatch(message, 3), undefined, 'the second is over maxData');
    assert.equal(decodeChannelBatch(message, 4)?.length, 2);
    assert.equal(decodeChannelBatch(message, 4, 1), undefined, 'more entries than allowed');
    const many = Array.from({ length: MAX_BATCH + 1 }, () => one(''));
    assert.equal(decodeChannelBatch(encodeChannelBatch(many)), undefined);
    // A single message is not a batch, and a batch is not a single message.
    assert.equal(decodeChannelBatch(Buffer.from('5-1\n5-0\nabc\n7\n0\nhi')), undefined);
    assert.equal(decodeChannelMessage(message), undefined);
  });
});
