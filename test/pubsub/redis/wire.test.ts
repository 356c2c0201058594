import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeChannelMessage,
  decodeStreamEntry,
  flagsOf,
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
});
