import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compareSeq,
  FIRST_PREV,
  LogAdapter,
  type LogAdapterOptions,
  type LogEntry,
  type PubSubMessage,
} from '../../src/pubsub/index.js';
import { runs } from '../helpers/fuzz.js';
import {
  BatchMemoryLog,
  MemoryLog,
  MemoryLogStore,
  RecordingSink,
  settle,
} from '../helpers/memory-log.js';

/** One process: a LogAdapter over its own connection to the shared store. */
function proc(store: MemoryLogStore, options: LogAdapterOptions = {}) {
  const backend = new MemoryLog(store);
  const adapter = new LogAdapter(backend, { retryMs: 1, ...options });
  const sink = new RecordingSink();
  adapter.start(sink);
  return { backend, adapter, sink };
}

const msg = (topic: string, text: string): PubSubMessage => ({
  topic,
  data: Buffer.from(text),
  binary: false,
  compress: true,
});

const journalTexts = (store: MemoryLogStore, topic: string) =>
  (store.journal.get(topic) ?? []).map((e) => e.data.toString());

describe('LogAdapter (over an in-memory log)', () => {
  it('delivers each message once, in its topic log order, on every process (the publisher too)', async () => {
    const store = new MemoryLogStore();
    const nodes = [proc(store), proc(store)];
    for (const n of nodes) for (const topic of ['t1', 't2']) n.adapter.subscribe(topic);
    await settle(store);
    for (let i = 0; i < 20; i++) {
      const n = nodes[i % 2]!;
      assert.equal(n.adapter.publish(msg(i % 3 === 0 ? 't2' : 't1', `m${i}`), undefined), true);
      if (i % 4 === 0) await new Promise(setImmediate);
    }
    await settle(store);
    for (const n of nodes) {
      for (const topic of ['t1', 't2']) {
        assert.deepEqual(n.sink.texts(topic), journalTexts(store, topic));
      }
      assert.deepEqual(n.sink.reports, []);
    }
    assert.equal(store.journal.get('t1')!.length + store.journal.get('t2')!.length, 20);
  });

  it('hands back `except` with its own publishes only, each delivered once', async () => {
    const store = new MemoryLogStore();
    const [a, b] = [proc(store), proc(store)];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await settle(store);
    a.adapter.publish(msg('t', 'from a'), 'X');
    await settle(store);
    b.adapter.publish(msg('t', 'from b'), 'Y');
    await settle(store);
    const seen = (n: typeof a) => n.sink.delivered.map((d) => [d.data.toString(), d.except]);
    assert.deepEqual(seen(a), [
      ['from a', 'X'],
      ['from b', undefined],
    ]);
    assert.deepEqual(seen(b), [
      ['from a', undefined],
      ['from b', 'Y'],
    ]);
  });

  it('a publish made before the first subscription is live waits for it, then goes once', async () => {
    const store = new MemoryLogStore();
    const a = proc(store);
    a.adapter.subscribe('t');
    assert.equal(a.adapter.publish(msg('t', 'early'), 'X'), true);
    assert.equal(store.journal.get('t'), undefined, 'not appended before the subscription');
    await settle(store);
    assert.deepEqual(
      a.sink.delivered.map((d) => [d.data.toString(), d.except]),
      [['early', 'X']],
    );
  });

  it('a missed live message is read from the log when the next one shows the gap', async () => {
    const store = new MemoryLogStore();
    const [a, b] = [proc(store), proc(store)];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await settle(store);
    b.backend.dropLive = 1;
    a.adapter.publish(msg('t', 'm1'), undefined);
    await settle(store);
    assert.deepEqual(b.sink.texts('t'), [], 'nothing shows the loss yet');
    a.adapter.publish(msg('t', 'm2'), undefined);
    a.adapter.publish(msg('t', 'm3'), undefined);
    await settle(store);
    assert.deepEqual(b.sink.texts('t'), ['m1', 'm2', 'm3']);
    assert.deepEqual(b.sink.reports, []);
  });

  it('after a lost connection, catches up from the log; answers of the old one are ignored', async () => {
    const store = new MemoryLogStore();
    const [a, b] = [proc(store), proc(store)];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await settle(store);
    b.backend.disconnect();
    assert.equal(b.adapter.publish(msg('t', 'while down'), undefined), false);
    for (const text of ['m1', 'm2', 'm3']) a.adapter.publish(msg('t', text), undefined);
    await settle(store);
    assert.deepEqual(b.sink.texts('t'), []);
    b.backend.reconnect();
    await settle(store);
    assert.deepEqual(b.sink.texts('t'), ['m1', 'm2', 'm3']);
    assert.deepEqual(
      b.sink.reports.map((r) => r.reason),
      ['publish-failed'],
    );
  });

  it('an answer from before a lost connection is ignored (a new generation reads again)', async () => {
    const store = new MemoryLogStore();
    const [a, b] = [proc(store), proc(store)];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await settle(store);
    // b's log reads wait for the test to answer them.
    const reads: { after: string; answer: (entries: LogEntry[]) => void }[] = [];
    b.backend.read = (_topic, after) =>
      new Promise((answer) => {
        reads.push({ after, answer });
      });
    const publish = async (text: string) => {
      a.adapter.publish(msg('t', text), undefined);
      await settle(store);
    };
    b.backend.dropLive = 1;
    await publish('m1');
    await publish('m2'); // shows that m1 was missed: a read of the log
    assert.equal(reads.length, 1);
    const stale = store.read('t', reads[0]!.after);
    b.backend.disconnect();
    await publish('m3'); // b is away
    b.backend.reconnect();
    await settle(store);
    assert.equal(reads.length, 2, 'the new connection reads the log again');
    await publish('m4'); // held while the log is read
    // The old connection's answer (without m3) comes first: were it taken, m3 would be lost.
    reads[0]!.answer(stale);
    await settle(store);
    reads[1]!.answer(store.read('t', reads[1]!.after));
    await settle(store);
    assert.deepEqual(b.sink.texts('t'), ['m1', 'm2', 'm3', 'm4']);
    assert.deepEqual(b.sink.reports, []);
  });

  it('what the log no longer has is reported as a gap', async () => {
    const store = new MemoryLogStore(2);
    const [a, b] = [proc(store), proc(store)];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await settle(store);
    b.backend.disconnect();
    for (let i = 1; i <= 5; i++) a.adapter.publish(msg('t', `m${i}`), undefined);
    await settle(store);
    b.backend.reconnect();
    await settle(store);
    assert.deepEqual(b.sink.texts('t'), ['m4', 'm5']);
    const [m4] = store.read('t', '0-0');
    assert.deepEqual(b.sink.reports, [
      { reason: 'gap', topic: 't', after: '0-0', before: m4!.seq },
    ]);
    assert.deepEqual(a.sink.texts('t'), ['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('a backend that lost its data: reported as a gap, then messages flow again', async () => {
    const store = new MemoryLogStore();
    const [a, b] = [proc(store), proc(store)];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await settle(store);
    a.adapter.publish(msg('t', 'before'), undefined);
    await settle(store);
    const before = store.journal.get('t')![0]!.seq;
    store.wipe();
    a.adapter.publish(msg('t', 'after'), undefined);
    a.adapter.publish(msg('t', 'next'), undefined);
    await settle(store);
    const after = store.journal.get('t')![1]!.seq;
    for (const n of [a, b]) {
      assert.deepEqual(n.sink.texts('t'), ['before', 'after', 'next']);
      assert.deepEqual(n.sink.reports, [
        { reason: 'gap', topic: 't', after: before, before: after },
      ]);
    }
  });

  it('history: the kept messages after an id, complete when they reach back to it', async () => {
    const store = new MemoryLogStore(3);
    const a = proc(store);
    a.adapter.subscribe('t');
    await settle(store);
    for (let i = 1; i <= 5; i++) a.adapter.publish(msg('t', `m${i}`), 'X');
    await settle(store);
    const seq = store.journal.get('t')!.map((e) => e.seq);
    const texts = (h: { messages: { data: Buffer }[] }) => h.messages.map((m) => `${m.data}`);
    const old = await a.adapter.history('t', seq[0]!);
    assert.deepEqual(texts(old), ['m3', 'm4', 'm5']);
    assert.equal(old.complete, false);
    assert.ok(old.messages.every((m) => m.except === undefined));
    const recent = await a.adapter.history('t', seq[2]!);
    assert.deepEqual([texts(recent), recent.complete], [['m4', 'm5'], true]);
    const none = await a.adapter.history('t', seq[4]!);
    assert.deepEqual([texts(none), none.complete], [[], true]);
    const unknown = await a.adapter.history('other', '5-5');
    assert.deepEqual([texts(unknown), unknown.complete], [[], true]);
  });

  it('a publish fails at once when the backend is down or the message too large', async () => {
    const store = new MemoryLogStore();
    const a = proc(store, { maxMessage: 4 });
    assert.equal(a.adapter.publish(msg('t', 'large'), undefined), false);
    a.backend.disconnect();
    assert.equal(a.adapter.publish(msg('t', 'ok'), undefined), false);
    assert.equal(a.sink.reports.length, 0, 'reported on the next tick');
    await new Promise(process.nextTick);
    assert.deepEqual(
      a.sink.reports.map((r) => (r.reason === 'publish-failed' ? r.message.data.toString() : '')),
      ['large', 'ok'],
    );
    assert.equal(store.journal.size, 0);
  });

  it('an append not confirmed is reported; if the log took it, it is still delivered once', async () => {
    const store = new MemoryLogStore();
    const a = proc(store);
    a.adapter.subscribe('t');
    await settle(store);
    a.backend.failAppends = 1;
    assert.equal(a.adapter.publish(msg('t', 'unsure'), 'X'), true);
    await settle(store);
    assert.deepEqual(
      a.sink.reports.map((r) => r.reason),
      ['publish-failed'],
    );
    // Once: with its `except` if it came back before the failure, else like any other.
    assert.deepEqual(a.sink.texts('t'), ['unsure']);
  });

  it('after unsubscribe nothing is delivered; close stops everything', async () => {
    const store = new MemoryLogStore();
    const [a, b] = [proc(store), proc(store)];
    a.adapter.subscribe('t');
    await settle(store);
    a.adapter.unsubscribe('t');
    b.adapter.publish(msg('t', 'm1'), undefined);
    await settle(store);
    assert.deepEqual(a.sink.texts('t'), []);
    b.adapter.subscribe('t');
    await settle(store);
    await b.adapter.close();
    assert.equal(b.adapter.publish(msg('t', 'm2'), undefined), false);
    a.adapter.publish(msg('t', 'm3'), undefined);
    await settle(store);
    assert.deepEqual(b.sink.texts('t'), []);
    assert.throws(() => a.adapter.start(new RecordingSink()), /already serves/);
  });

  it('property: any interleaving of two processes publishing, with hiccups, delivers every message once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb(false), { maxLength: 40 }), async (actions) => {
        const { store, nodes } = await scenario(actions, Number.POSITIVE_INFINITY);
        for (const [k, n] of nodes.entries()) {
          for (const topic of TOPICS) {
            const got = n.sink.delivered.filter((d) => d.topic === topic);
            assert.deepEqual(
              got.map((d) => d.seq),
              (store.journal.get(topic) ?? []).map((e) => e.seq),
            );
            // `except` only with this process's own publishes.
            for (const d of got) assert.ok(d.except === undefined || d.except === k);
          }
          assert.ok(n.sink.reports.every((r) => r.reason === 'publish-failed'));
        }
      }),
      { numRuns: runs(60) },
    );
  });

  it('property: with a short window and a backend that loses its data, what is not delivered (once, in order) is reported as a gap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(actionArb(true), { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        async (actions, window) => {
          const { store, nodes } = await scenario(actions, window);
          for (const n of nodes) {
            for (const topic of TOPICS) {
              const seqs = n.sink.delivered.filter((d) => d.topic === topic).map((d) => d.seq);
              for (let j = 1; j < seqs.length; j++) {
                assert.ok(compareSeq(seqs[j]!, seqs[j - 1]!) > 0, `in order, once: ${seqs}`);
              }
              const gaps = n.sink.reports.filter((r) => r.reason === 'gap' && r.topic === topic);
              const journal = store.journal.get(topic) ?? [];
              for (const entry of journal) {
                if (seqs.includes(entry.seq)) continue;
                // Not detectable: a process that has delivered nothing of the topic yet (its
                // last id is the start, 0-0) cannot tell a lost log from an empty one, as the
                // new log starts again from 0-0 (seq.ts, follows).
                const sawBefore = seqs.some((seq) => compareSeq(seq, entry.seq) < 0);
                const lostLater = journal.some(
                  (e) => compareSeq(e.seq, entry.seq) > 0 && e.prev === FIRST_PREV,
                );
                if (!sawBefore && lostLater) continue;
                assert.ok(
                  gaps.some(
                    (g) =>
                      g.reason === 'gap' &&
                      compareSeq(g.after, entry.seq) < 0 &&
                      (g.before === undefined || compareSeq(entry.seq, g.before) < 0),
                  ),
                  `${entry.seq} neither delivered nor in a reported gap`,
                );
              }
            }
          }
        },
      ),
      { numRuns: runs(60) },
    );
  });
});

describe('LogAdapter over a backend that appends in batches (appendMany)', () => {
  /** One process whose backend appends a tick's publishes together. */
  function batching(store: MemoryLogStore, options: LogAdapterOptions = {}) {
    const backend = new BatchMemoryLog(store);
    const adapter = new LogAdapter(backend, { retryMs: 1, ...options });
    const sink = new RecordingSink();
    adapter.start(sink);
    return { backend, adapter, sink };
  }

  it("a tick's publishes of a topic go in batches of maxBatch, in order, each delivered once everywhere", async () => {
    const store = new MemoryLogStore();
    const [a, b] = [batching(store, { maxBatch: 4 }), batching(store)];
    for (const n of [a, b]) for (const topic of ['t1', 't2']) n.adapter.subscribe(topic);
    await settle(store);
    const sent: Record<string, string[]> = { t1: [], t2: [] };
    for (let i = 0; i < 11; i++) {
      const topic = i % 3 === 0 ? 't2' : 't1';
      sent[topic]!.push(`m${i}`);
      a.adapter.publish(msg(topic, `m${i}`), i === 5 ? 'X' : undefined);
    }
    assert.equal(store.journal.size, 0, 'nothing goes before the end of the tick');
    await settle(store);
    // t2 (published first) has 4, t1 has 7 (4 + 3): batches of at most 4, one topic each.
    assert.deepEqual(a.backend.batches, [4, 4, 3]);
    for (const topic of ['t1', 't2']) {
      assert.deepEqual(journalTexts(store, topic), sent[topic]);
      for (const n of [a, b]) assert.deepEqual(n.sink.texts(topic), sent[topic]);
    }
    assert.deepEqual(
      a.sink.delivered
        .filter((d) => d.except !== undefined)
        .map((d) => [d.data.toString(), d.except]),
      [['m5', 'X']],
    );
    assert.deepEqual(
      b.sink.delivered.filter((d) => d.except !== undefined),
      [],
    );
    // Next tick, next batches: the order holds across them.
    for (let i = 11; i < 14; i++) a.adapter.publish(msg('t1', `m${i}`), undefined);
    await settle(store);
    assert.deepEqual(a.backend.batches, [4, 4, 3, 3]);
    assert.deepEqual(b.sink.texts('t1'), [...sent.t1!, 'm11', 'm12', 'm13']);
  });

  it('a lone publish goes through append; maxBatchBytes cuts a batch; no appendMany: append each', async () => {
    const store = new MemoryLogStore();
    const a = batching(store, { maxBatchBytes: 10 });
    a.adapter.subscribe('t');
    await settle(store);
    a.adapter.publish(msg('t', 'alone'), undefined);
    await settle(store);
    assert.deepEqual(a.backend.batches, [], 'one message: no batch');
    for (const text of ['aaaa', 'bbbb', 'cccc', 'dddddddddddd', 'e']) {
      a.adapter.publish(msg('t', text), undefined);
    }
    await settle(store);
    // 4+4 fit in 10 bytes, 4+12 do not; 12 alone (append); then 'e' alone.
    assert.deepEqual(a.backend.batches, [2]);
    assert.deepEqual(a.sink.texts('t'), ['alone', 'aaaa', 'bbbb', 'cccc', 'dddddddddddd', 'e']);
    // A plain backend (no appendMany) still gets every publish, one by one.
    const plain = proc(store);
    plain.adapter.subscribe('t');
    await settle(store);
    for (const text of ['p1', 'p2', 'p3']) plain.adapter.publish(msg('t', text), undefined);
    await settle(store);
    assert.deepEqual(plain.sink.texts('t'), ['p1', 'p2', 'p3']);
  });

  it('a batch cut by a lost connection: the confirmed one is delivered once, the rest reported, none sent again', async () => {
    const store = new MemoryLogStore();
    const [a, b] = [batching(store, { maxBatch: 3 }), batching(store)];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await settle(store);
    // The connection goes right after the first batch was answered: the next two are lost.
    a.backend.cutAfterBatches = 1;
    const texts = Array.from({ length: 8 }, (_, i) => `m${i}`);
    for (const text of texts) a.adapter.publish(msg('t', text), 'X');
    await settle(store);
    assert.deepEqual(journalTexts(store, 't'), ['m0', 'm1', 'm2']);
    const failed = a.sink.reports.map((r) =>
      r.reason === 'publish-failed' ? r.message.data.toString() : r.reason,
    );
    assert.deepEqual(failed, ['m3', 'm4', 'm5', 'm6', 'm7']);
    a.backend.reconnect();
    a.adapter.publish(msg('t', 'after'), undefined);
    await settle(store);
    for (const n of [a, b]) assert.deepEqual(n.sink.texts('t'), ['m0', 'm1', 'm2', 'after']);
    assert.deepEqual(
      journalTexts(store, 't'),
      ['m0', 'm1', 'm2', 'after'],
      'nothing appended twice',
    );
    assert.deepEqual(b.sink.reports, []);
  });

  it('a batch refused is reported whole; one whose outcome is unknown is reported and still delivered once', async () => {
    const store = new MemoryLogStore();
    const [a, b] = [batching(store), batching(store)];
    a.adapter.subscribe('t');
    b.adapter.subscribe('t');
    await settle(store);
    a.backend.refuseBatches = 1;
    for (const text of ['r1', 'r2']) a.adapter.publish(msg('t', text), 'X');
    await settle(store);
    a.backend.failBatches = 1;
    for (const text of ['u1', 'u2']) a.adapter.publish(msg('t', text), 'X');
    await settle(store);
    for (const text of ['ok1', 'ok2']) a.adapter.publish(msg('t', text), 'X');
    await settle(store);
    const failed = a.sink.reports.map((r) =>
      r.reason === 'publish-failed' ? r.message.data.toString() : r.reason,
    );
    assert.deepEqual(failed, ['r1', 'r2', 'u1', 'u2']);
    for (const n of [a, b]) assert.deepEqual(n.sink.texts('t'), ['u1', 'u2', 'ok1', 'ok2']);
    // u1, u2 came back before their failure was known: their `except` was still there.
    assert.deepEqual(
      a.sink.delivered.map((d) => d.except),
      ['X', 'X', 'X', 'X'],
    );
  });

  it("close() hands the tick's publishes to the backend before closing it", async () => {
    const store = new MemoryLogStore();
    const a = batching(store);
    a.adapter.subscribe('t');
    await settle(store);
    const calls: string[] = [];
    const backend = a.backend;
    const appendMany = backend.appendMany.bind(backend);
    backend.appendMany = (topic, records) => {
      calls.push(`appendMany ${records.length}`);
      return appendMany(topic, records);
    };
    const close = backend.close.bind(backend);
    backend.close = () => {
      calls.push('close');
      return close();
    };
    for (const text of ['x', 'y', 'z']) a.adapter.publish(msg('t', text), undefined);
    await a.adapter.close();
    assert.deepEqual(calls, ['appendMany 3', 'close']);
  });

  it('property: publishes in batches with cuts, refusals and unknown outcomes: each appended once, in publish order, delivered once in order, or reported', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchActionArb, { minLength: 10, maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        async (actions, maxBatch) => {
          const store = new MemoryLogStore();
          const nodes = [batching(store, { maxBatch }), batching(store, { maxBatch })];
          for (const n of nodes) for (const topic of TOPICS) n.adapter.subscribe(topic);
          await settle(store);
          const published: { node: number; topic: string; text: string }[] = [];
          for (const a of actions) {
            const n = nodes[a.node]!;
            if (a.kind === 'publish') {
              const text = `m${published.length}`;
              published.push({ node: a.node, topic: TOPICS[a.topic]!, text });
              n.adapter.publish(msg(TOPICS[a.topic]!, text), a.node);
            } else if (a.kind === 'tick') await new Promise(setImmediate);
            else if (a.kind === 'cut') n.backend.cutAfterBatches = 1;
            else if (a.kind === 'restore') n.backend.reconnect();
            else if (a.kind === 'refuse') n.backend.refuseBatches++;
            else n.backend.failBatches++;
          }
          for (const n of nodes) {
            n.backend.cutAfterBatches = Number.POSITIVE_INFINITY;
            n.backend.reconnect();
            n.backend.refuseBatches = 0;
            n.backend.failBatches = 0;
          }
          await settle(store);
          for (const topic of TOPICS) {
            nodes[0]!.adapter.publish(msg(topic, `last of ${topic}`), undefined);
          }
          await settle(store);
          const appended = TOPICS.flatMap((topic) => journalTexts(store, topic));
          assert.equal(new Set(appended).size, appended.length, 'nothing appended twice');
          for (const [k, n] of nodes.entries()) {
            const reported = new Set(
              n.sink.reports.map((r) =>
                r.reason === 'publish-failed' ? r.message.data.toString() : '',
              ),
            );
            for (const p of published.filter((x) => x.node === k)) {
              assert.ok(
                appended.includes(p.text) || reported.has(p.text),
                `${p.text} lost silently`,
              );
            }
            for (const topic of TOPICS) {
              // This process's publishes are in the log in the order it made them.
              const mine = published
                .filter((x) => x.node === k && x.topic === topic)
                .map((x) => x.text);
              const inLog = journalTexts(store, topic).filter((text) => mine.includes(text));
              assert.deepEqual(
                inLog,
                mine.filter((text) => inLog.includes(text)),
              );
              assert.deepEqual(
                n.sink.delivered.filter((d) => d.topic === topic).map((d) => d.seq),
                (store.journal.get(topic) ?? []).map((e) => e.seq),
              );
            }
          }
          for (const n of nodes) await n.adapter.close();
        },
      ),
      { numRuns: runs(60) },
    );
  });
});

type BatchAction =
  | { kind: 'publish'; node: number; topic: number }
  | { kind: 'tick' | 'cut' | 'restore' | 'refuse' | 'fail'; node: number };

const batchActionArb: fc.Arbitrary<BatchAction> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      node: fc.integer({ min: 0, max: 1 }),
      topic: fc.integer({ min: 0, max: 1 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), node: fc.constant(0) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('cut' as const, 'restore' as const, 'refuse' as const, 'fail' as const),
      node: fc.integer({ min: 0, max: 1 }),
    }),
  },
);

const TOPICS = ['t0', 't1'];

type Action =
  | { kind: 'publish'; node: number; topic: number }
  | { kind: 'tick'; macro: boolean }
  | { kind: 'cut' | 'restore' | 'dropLive' | 'failAppend'; node: number }
  | { kind: 'wipe' };

function actionArb(wipes: boolean): fc.Arbitrary<Action> {
  const node = fc.integer({ min: 0, max: 1 });
  const faults = fc.record({
    kind: fc.constantFrom(
      'cut' as const,
      'restore' as const,
      'dropLive' as const,
      'failAppend' as const,
    ),
    node,
  });
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('publish' as const), node, topic: node }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('tick' as const), macro: fc.boolean() }),
    },
    { weight: 2, arbitrary: faults },
    { weight: wipes ? 1 : 0, arbitrary: fc.constant({ kind: 'wipe' as const }) },
  );
}

/**
 * Two processes subscribed to both topics play `actions` (each publish with `except` = the
 * publishing process's index), then every fault is lifted and one last message per topic
 * shows any loss at the end; resolves once all is settled.
 */
async function scenario(actions: Action[], window: number) {
  const store = new MemoryLogStore(window);
  const nodes = [proc(store), proc(store)];
  for (const n of nodes) for (const topic of TOPICS) n.adapter.subscribe(topic);
  await settle(store);
  let i = 0;
  for (const a of actions) {
    if (a.kind === 'publish') {
      nodes[a.node]!.adapter.publish(msg(TOPICS[a.topic]!, `m${i++}`), a.node);
    } else if (a.kind === 'tick') {
      await (a.macro ? new Promise(setImmediate) : Promise.resolve());
    } else if (a.kind === 'wipe') store.wipe();
    else if (a.kind === 'cut') nodes[a.node]!.backend.disconnect();
    else if (a.kind === 'restore') nodes[a.node]!.backend.reconnect();
    else if (a.kind === 'dropLive') nodes[a.node]!.backend.dropLive++;
    else nodes[a.node]!.backend.failAppends++;
  }
  for (const n of nodes) {
    n.backend.reconnect();
    n.backend.dropLive = 0;
    n.backend.failAppends = 0;
  }
  await settle(store);
  for (const topic of TOPICS) nodes[0]!.adapter.publish(msg(topic, 'last'), undefined);
  await settle(store);
  for (const n of nodes) await n.adapter.close();
  return { store, nodes };
}
