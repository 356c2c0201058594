import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareSeq, FIRST_PREV, follows, isSeq, replayComplete } from '../../src/pubsub/index.js';
import { runs } from '../helpers/fuzz.js';

describe('sequence ids', () => {
  it('accepts Redis stream ids and their short form, nothing else', () => {
    for (const ok of ['0-0', '1718000000000-0', '1718000000000-42', '5']) assert.ok(isSeq(ok), ok);
    for (const bad of ['', '-1', '1-', 'a-1', '1-2-3', ' 1-2', '1.5-0', 5, null, undefined]) {
      assert.ok(!isSeq(bad), String(bad));
    }
  });

  it('orders by milliseconds, then by the counter (numbers, not text)', () => {
    assert.ok(compareSeq('9-0', '10-0') < 0);
    assert.ok(compareSeq('10-9', '10-10') < 0);
    assert.ok(compareSeq('10-10', '10-9') > 0);
    assert.equal(compareSeq('7', '7-0'), 0);
    assert.ok(compareSeq(FIRST_PREV, '0-1') < 0);
    fc.assert(
      fc.property(
        fc.tuple(fc.nat(1e13), fc.nat(1e6)),
        fc.tuple(fc.nat(1e13), fc.nat(1e6)),
        ([am, an], [bm, bn]) => {
          const expected = am !== bm ? Math.sign(am - bm) : Math.sign(an - bn);
          assert.equal(Math.sign(compareSeq(`${am}-${an}`, `${bm}-${bn}`)), expected);
        },
      ),
      { numRuns: runs(500) },
    );
  });

  it('a replay is complete when the first message follows `since` (or nothing came after it)', () => {
    assert.equal(replayComplete('5-1', '5-1'), true, 'the next message after since');
    assert.equal(
      replayComplete('5-1', '5-0'),
      true,
      'since was not itself an id: no message between',
    );
    assert.equal(replayComplete('5-1', '5-3'), false, '5-3 is missing');
    assert.equal(replayComplete('0-0', FIRST_PREV), true, 'the whole topic is still kept');
    assert.equal(replayComplete('5-1', undefined), true);
    assert.equal(replayComplete('5-1', FIRST_PREV), false, 'a log started over after 5-1');
    assert.equal(replayComplete('7-0', '5-1'), true, 'nothing after 5-1 up to 7-0');
  });

  it('follows: the predecessor is the last one, or older (but not a log started over)', () => {
    assert.equal(follows('3-0', '3-0'), true);
    assert.equal(follows('2-0', '3-0'), true);
    assert.equal(follows('4-0', '3-0'), false, '4-0 came in between');
    assert.equal(follows(FIRST_PREV, FIRST_PREV), true, 'the first message of a topic');
    assert.equal(follows(FIRST_PREV, '3-0'), false, 'the log started over');
    assert.equal(follows('0', FIRST_PREV), true);
  });
});
