import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Change, TopicRegistry } from '../../src/pubsub/index.js';
import { runs } from '../helpers/fuzz.js';

describe('TopicRegistry', () => {
  it('reports the first subscriber and the last one leaving a topic', () => {
    const r = new TopicRegistry<string>();
    assert.equal(r.subscribe('a', 'news'), Change.Topic);
    assert.equal(r.subscribe('b', 'news'), Change.Subscriber);
    assert.equal(r.subscribe('a', 'news'), Change.None, 'already subscribed');
    assert.equal(r.count('news'), 2);
    assert.equal(r.unsubscribe('a', 'news'), Change.Subscriber);
    assert.equal(r.unsubscribe('a', 'news'), Change.None, 'not subscribed any more');
    assert.equal(r.unsubscribe('b', 'news'), Change.Topic);
    assert.equal(r.count('news'), 0);
    assert.equal(r.subscribers('news'), undefined, 'an empty topic is forgotten');
    assert.deepEqual([...r.topics()], []);
  });

  it('keeps topics per subscriber in subscription order, and flags per subscription', () => {
    const r = new TopicRegistry<string>();
    r.subscribe('a', 'one', 1);
    r.subscribe('a', 'two');
    r.subscribe('a', 'three', 3);
    assert.deepEqual(r.topicsOf('a'), ['one', 'two', 'three']);
    assert.equal(r.flags('a', 'one'), 1);
    assert.equal(r.flags('a', 'two'), 0);
    assert.equal(r.flags('b', 'one'), undefined);
    assert.equal(r.subscribe('a', 'two', 2), Change.None, 'a second subscribe updates the flags');
    assert.equal(r.flags('a', 'two'), 2);
    r.setFlags('a', 'one', 5);
    r.setFlags('z', 'one', 5); // not subscribed: ignored
    assert.deepEqual([...r.subscribers('one')!], [['a', 5]]);
    assert.deepEqual(r.topicsOf('nobody'), []);
  });

  it('removeSubscriber leaves every topic and names those left empty', () => {
    const r = new TopicRegistry<string>();
    r.subscribe('a', 'x');
    r.subscribe('a', 'y');
    r.subscribe('b', 'y');
    assert.deepEqual(r.removeSubscriber('a'), ['x']);
    assert.deepEqual(r.topicsOf('a'), []);
    assert.equal(r.count('y'), 1);
    assert.deepEqual(r.removeSubscriber('a'), [], 'twice is harmless');
  });

  it('matches a model under random operations', () => {
    const op = fc.record({
      kind: fc.constantFrom('sub', 'unsub', 'remove'),
      who: fc.integer({ min: 0, max: 4 }),
      topic: fc.constantFrom('a', 'b', 'c', ''),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const r = new TopicRegistry<number>();
        const model = new Map<string, Set<number>>();
        for (const { kind, who, topic } of ops) {
          const set = model.get(topic) ?? new Set();
          if (kind === 'sub') {
            const expected = set.has(who)
              ? Change.None
              : set.size === 0
                ? Change.Topic
                : Change.Subscriber;
            assert.equal(r.subscribe(who, topic), expected);
            set.add(who);
            model.set(topic, set);
          } else if (kind === 'unsub') {
            const expected = !set.has(who)
              ? Change.None
              : set.size === 1
                ? Change.Topic
                : Change.Subscriber;
            assert.equal(r.unsubscribe(who, topic), expected);
            set.delete(who);
          } else {
            const emptied = r.removeSubscriber(who).sort();
            const expected: string[] = [];
            for (const [name, members] of model) {
              if (members.delete(who) && members.size === 0) expected.push(name);
            }
            assert.deepEqual(emptied, expected.sort());
          }
          for (const [name, members] of model) {
            assert.equal(r.count(name), members.size);
            for (const m of members) assert.ok(r.topicsOf(m).includes(name));
          }
        }
      }),
      { numRuns: runs(300) },
    );
  });
});
