import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Delivery, sequencedText } from '../../src/pubsub/index.js';

const base = { topic: 'room', seq: '10-2', prev: '10-1', compress: true, except: undefined };

describe('the sequenced form', () => {
  it('text: topic, seq, prev and the text as it is', () => {
    const d: Delivery = { ...base, data: Buffer.from('héllo "x"'), binary: false };
    assert.deepEqual(JSON.parse(sequencedText(d)), {
      topic: 'room',
      seq: '10-2',
      prev: '10-1',
      data: 'héllo "x"',
    });
  });

  it('binary: the bytes in base64 and binary: true', () => {
    const d: Delivery = { ...base, data: Buffer.from([0, 255, 7]), binary: true };
    const parsed = JSON.parse(sequencedText(d));
    assert.equal(parsed.binary, true);
    assert.deepEqual(Buffer.from(parsed.data, 'base64'), Buffer.from([0, 255, 7]));
  });
});
