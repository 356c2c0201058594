// The send queue under random load (fast-check): random sequences of the application's sends
// (whole or in fragments, compressed or not, heeding false answers or not), publishes (framed,
// shared frames made later, compressed by the connection), pings, a close, transport backlog
// changes and drains, under a random policy and limit. Whatever the sequence: no message is
// reordered, no fragment of another message sits inside a fragmented one (RFC 6455 §5.4), no
// callback is called twice, and every callback is called once in the end.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import type { BackpressurePolicy } from '../../../src/node/connection/options.js';
import { SharedFrame } from '../../../src/pubsub/prepared-message.js';
import { FakeDeflate, queueWith, settle } from '../../helpers/fake-writer.js';
import { runs } from '../../helpers/fuzz.js';

type Command =
  | { op: 'data'; size: number; fin: boolean; compress: boolean }
  | { op: 'publish'; size: number; how: 'frame' | 'shared' | 'own' }
  | { op: 'control' }
  | { op: 'close' }
  | { op: 'backlog'; bytes: number }
  | { op: 'finish' }
  | { op: 'abort' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('data' as const),
      size: fc.integer({ min: 0, max: 120 }),
      fin: fc.boolean(),
      compress: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('publish' as const),
      size: fc.integer({ min: 0, max: 120 }),
      how: fc.constantFrom('frame' as const, 'shared' as const, 'own' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'control' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'close' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('backlog' as const),
      bytes: fc.constantFrom(0, 0, 50, 400, 2_000_000),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ op: 'finish' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'abort' as const }) },
);

const scenarioArb = fc.record({
  policy: fc.constantFrom<BackpressurePolicy>('close', 'drop-newest', 'drop-oldest'),
  limit: fc.integer({ min: 20, max: 600 }),
  deflate: fc.boolean(),
  threshold: fc.integer({ min: 0, max: 80 }),
  heeds: fc.boolean(),
  commands: fc.array(commandArb, { minLength: 1, maxLength: 60 }),
});

/** A payload of `size` bytes that names its message (and fragment): `<tag>|....`. */
function payload(tag: string, size: number): string {
  return `${tag}|`.padEnd(Math.max(size, tag.length + 1), '.');
}

it('no reorder, no interleaving, every callback once (random sequences)', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (s) => {
      const deflate = s.deflate ? new FakeDeflate(s.threshold) : undefined;
      const { writer, box } = queueWith({ limit: s.limit, policy: s.policy, deflate });
      /** Shared frames being made: done when a test step says so. */
      const shared: (() => void)[] = [];
      /** Callback calls per fragment tag. */
      const calls = new Map<string, (Error | null | undefined)[]>();
      const callback = (tag: string) => {
        calls.set(tag, []);
        return (error?: Error | null) => calls.get(tag)!.push(error);
      };
      /** Order key per message tag: [stamp of the message it follows or its own, rank]. */
      const keys = new Map<string, [number, number]>();
      let clock = 0;
      let message = 0;
      let fragment = 0;
      let open: number | undefined; // stamp of the app's message in progress
      let openTag = '';
      let closed = false;
      let aborted = false;
      let lastFalse = false;

      for (const c of s.commands) {
        clock++;
        switch (c.op) {
          case 'data': {
            // As the socket: no send once closing or failed (`_acceptsSends`).
            if (closed || !writer.open || (s.heeds && lastFalse)) break;
            if (open === undefined) {
              message++;
              fragment = 0;
              open = clock;
              openTag = `m${message}`;
              keys.set(openTag, [clock, 0]);
            }
            const tag = `${openTag}.${fragment++}`;
            const data = payload(tag, c.size);
            const ok = box.send(
              data,
              false,
              c.fin,
              callback(tag),
              c.compress ? undefined : false,
              data.length,
            );
            lastFalse = !ok;
            if (c.fin) open = undefined;
            break;
          }
          case 'publish': {
            // As the socket: no publish once the close frame went (`_deliverPrepared`).
            if (!writer.open) break;
            const tag = `p${clock}`;
            keys.set(tag, open === undefined ? [clock, 0] : [open, clock]);
            const frame = Buffer.from(payload(tag, c.size));
            if (c.how === 'frame') box.publish(frame, frame.length, false);
            else if (c.how === 'own' && deflate !== undefined) box.publishOwn(frame, false);
            else if (c.how === 'own') box.publish(frame, frame.length, false);
            else {
              box.publish(
                new SharedFrame(
                  (done) => shared.push(() => done(null, frame)),
                  () => frame,
                ),
                frame.length,
                false,
              );
            }
            break;
          }
          case 'control':
            if (!aborted)
              box.control(true, Buffer.from(`c${clock}`), undefined, callback(`c${clock}`));
            break;
          case 'close':
            if (closed || aborted) break;
            closed = true;
            box.close(1000, undefined);
            break;
          case 'backlog':
            writer.pending = c.bytes;
            box.onTransportDrain();
            if (!box.active) lastFalse = false;
            break;
          case 'finish':
            deflate?.finish();
            for (const done of shared.splice(0)) done();
            await settle();
            if (!box.active) lastFalse = false;
            break;
          case 'abort':
            aborted = true;
            writer.open = false;
            box.abort();
            break;
        }
      }
      // The peer reads everything: what waits goes.
      writer.pending = 0;
      for (let i = 0; i < 10 && (box.active || deflate?.waiting.length || shared.length); i++) {
        deflate?.finish();
        for (const done of shared.splice(0)) done();
        box.onTransportDrain();
        await settle();
      }
      await settle();

      assert.deepEqual(writer.violations, []);
      // The data frames on the wire: message tags, fragments in order, no interleaving.
      const order: string[] = [];
      let inMessage: string | undefined;
      let next = 0;
      let closeSeen = false;
      for (const e of writer.wire) {
        if (e.kind === 'close') closeSeen = true;
        if (e.kind !== 'frame' && e.kind !== 'raw') continue;
        assert.equal(closeSeen, false, 'no data after the close frame');
        const tag = e.text.replace(/^z:/, '').split('|')[0]!;
        const [name, part] = tag.split('.');
        if (inMessage !== undefined) {
          assert.equal(name, inMessage, `${tag} inside ${inMessage}`);
          assert.equal(Number(part), next, 'fragments in order');
        } else {
          if (part !== undefined) assert.equal(part, '0', `${tag} starts its message`);
          order.push(name!);
          next = 0;
        }
        next++;
        inMessage = e.kind === 'frame' && !e.fin ? name : undefined;
      }
      const sorted = [...order].sort((a, b) => {
        const [x, y] = [keys.get(a)!, keys.get(b)!];
        return x[0] - y[0] || x[1] - y[1];
      });
      assert.deepEqual(order, sorted, 'messages in the order they were sent');
      // Each callback at most once; once in the end unless the queue was aborted or failed.
      for (const [tag, list] of calls) {
        assert.ok(list.length <= 1, `${tag}: called ${list.length} times`);
        if (!aborted && writer.failed === undefined && !closed) {
          assert.equal(list.length, 1, `${tag}: called once`);
        }
      }
      assert.equal(box.droppedMessages, writer.dropped.length);
      // Publishes wait for the end of a message the application never ended (or for ever).
      if (!aborted && writer.failed === undefined && (open === undefined || closed)) {
        assert.equal(box.heldBytes, 0);
      }
    }),
    { numRuns: runs(300) },
  );
});
