import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareSeq, type FeedOutput, FIRST_PREV, TopicFeed } from '../../src/pubsub/index.js';
import { runs } from '../helpers/fuzz.js';

interface E {
  seq: string;
  prev: string;
}

/** Messages 1..n of one log: seq `10-i`, each naming the one before. */
const log = (n: number, from = 1): E[] =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { seq: `10-${i}`, prev: i === 1 ? FIRST_PREV : `10-${i - 1}` };
  });

const out = (): FeedOutput<E> => ({ deliver: [], gaps: [] });
const seqs = (o: FeedOutput<E>) => o.deliver.map((e) => e.seq);

function started(last = FIRST_PREV): TopicFeed<E> {
  const feed = new TopicFeed<E>();
  feed.last = last;
  feed.synced([], out());
  return feed;
}

describe('TopicFeed', () => {
  it('holds live messages until the first sync, then delivers the log and what was held', () => {
    const feed = new TopicFeed<E>();
    feed.last = '10-1';
    const [m1, m2, m3, m4] = log(4);
    const o = out();
    assert.equal(feed.receive(m3!, o), false);
    assert.equal(feed.isSyncing, true);
    assert.deepEqual(o.deliver, []);
    feed.synced([m1!, m2!, m3!], o);
    feed.receive(m4!, o);
    assert.deepEqual(seqs(o), ['10-2', '10-3', '10-4'], 'm1 was the start; m3 once');
    assert.deepEqual(o.gaps, []);
  });

  it('drops repeats and what is not newer than the last delivered', () => {
    const feed = started();
    const [m1, m2] = log(2);
    const o = out();
    feed.receive(m1!, o);
    feed.receive(m1!, o);
    feed.receive(m2!, o);
    feed.receive(m1!, o);
    assert.deepEqual(seqs(o), ['10-1', '10-2']);
  });

  it('a live message that does not follow asks for the log; the missing ones come first', () => {
    const feed = started();
    const [m1, m2, m3, m4, m5] = log(5);
    const o = out();
    feed.receive(m1!, o);
    assert.equal(feed.receive(m4!, o), true, 'm2 and m3 are missing');
    assert.equal(feed.receive(m5!, o), false, 'held while the log is read');
    feed.synced([m2!, m3!, m4!], o);
    assert.deepEqual(seqs(o), ['10-1', '10-2', '10-3', '10-4', '10-5']);
    assert.deepEqual(o.gaps, []);
  });

  it('what the log no longer has is reported as a gap, and delivery goes on', () => {
    const feed = started();
    const [m1, , , m4, m5] = log(5);
    const o = out();
    feed.receive(m1!, o);
    feed.receive(m5!, o);
    feed.synced([m4!, m5!], o); // trimmed: m2 and m3 are gone
    assert.deepEqual(seqs(o), ['10-1', '10-4', '10-5']);
    assert.deepEqual(o.gaps, [{ after: '10-1', before: '10-4' }]);
  });

  it('held live messages older than the log (trimmed meanwhile) are not lost', () => {
    const feed = new TopicFeed<E>();
    feed.last = FIRST_PREV;
    const all = log(6);
    const o = out();
    for (const e of all) feed.receive(e, o);
    feed.synced(all.slice(4), o); // the log kept only m5 and m6
    assert.deepEqual(
      seqs(o),
      all.map((e) => e.seq),
    );
    assert.deepEqual(o.gaps, []);
  });

  it('a log started over (its first message follows 0-0) after a known last is a gap', () => {
    const feed = started('10-7');
    const fresh = { seq: '20-0', prev: FIRST_PREV };
    const o = out();
    assert.equal(feed.receive(fresh, o), true);
    feed.synced([fresh], o);
    assert.deepEqual(seqs(o), ['20-0']);
    assert.deepEqual(o.gaps, [{ after: '10-7', before: '20-0' }]);
  });

  it('after resync, live messages wait for the log again', () => {
    const feed = started();
    const [m1, m2, m3] = log(3);
    const o = out();
    feed.receive(m1!, o);
    feed.resync();
    feed.receive(m3!, o);
    assert.deepEqual(seqs(o), ['10-1']);
    feed.synced([m2!, m3!], o);
    assert.deepEqual(seqs(o), ['10-1', '10-2', '10-3']);
  });

  it('whatever the interleaving of live and log reads, each message once and in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.boolean(), { maxLength: 30 }),
        fc.array(fc.nat(29), { maxLength: 10 }),
        (n, lost, reads) => {
          const all = log(n);
          const feed = started();
          const o = out();
          let pendingRead = false;
          let received = 0;
          const readLog = () => {
            const last = feed.last!;
            feed.synced(
              all.filter((e) => compareSeq(e.seq, last) > 0),
              o,
            );
            pendingRead = false;
          };
          for (const [i, entry] of all.entries()) {
            if (!lost[i]) {
              if (feed.receive(entry, o)) pendingRead = true;
              received++;
            }
            if (pendingRead && reads.includes(i)) readLog();
          }
          if (pendingRead || received < n) {
            feed.resync();
            readLog();
          }
          assert.deepEqual(
            seqs(o),
            all.map((e) => e.seq),
          );
          assert.deepEqual(o.gaps, []);
        },
      ),
      { numRuns: runs(300) },
    );
  });
});
