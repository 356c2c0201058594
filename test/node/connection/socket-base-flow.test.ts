import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryBudget, WebSocket } from '../../../src/index.js';
import { cutStream, keyArb, runs, splitArb, textArb } from '../../helpers/fuzz.js';
import { nextClose, turns, until } from '../../helpers/node-util.js';
import {
  asText,
  client,
  internals,
  messagesOf,
  OP,
  open,
  openBare,
} from './socket-base-harness.js';

// Flow control of SocketBase's read path over a FakeTransport: what stops and restarts reading
// (the application, the memory budget, a ping backlog), the rate budgets, and properties over
// how the peer's bytes are cut.

describe('SocketBase budgets', () => {
  it('rate limit on messages: over the burst, 1008 and no more messages', async (t) => {
    const { ws, transport } = open(t, { rateLimit: { messages: 2 } });
    const got = messagesOf(ws);
    const closed = nextClose(ws);
    transport.push(
      Buffer.concat(['1', '2', '3', '4'].map((p) => client({ opcode: OP.text, payload: p }))),
    );
    assert.deepEqual(asText(got), ['1', '2']);
    const [frame] = transport.frames();
    assert.deepEqual([frame!.opcode, frame!.payload.readUInt16BE(0)], [OP.close, 1008]);
    transport.peerEnd();
    assert.equal((await closed).code, 1008);
  });

  it('rate limit on bytes: a message over the budget gets 1008', async (t) => {
    const { ws, transport } = open(t, { rateLimit: { bytes: 100 } });
    const got = messagesOf(ws);
    transport.push(client({ opcode: OP.binary, payload: Buffer.alloc(60) }));
    transport.push(client({ opcode: OP.binary, payload: Buffer.alloc(60) }));
    assert.equal(got.length, 1);
    assert.deepEqual(
      transport.frames().map((f) => [f.opcode, f.payload.readUInt16BE(0)]),
      [[OP.close, 1008]],
    );
  });

  it("memory budget 'pause': a partial message over the budget stops reading until room", async (t) => {
    const budget = new MemoryBudget(4096);
    const a = open(t, { memoryBudget: budget });
    const b = open(t, { memoryBudget: budget });
    const gotA = messagesOf(a.ws);
    const gotB = messagesOf(b.ws);
    const frameA = client({ opcode: OP.binary, payload: Buffer.alloc(5000, 0xa) });
    const frameB = client({ opcode: OP.binary, payload: Buffer.alloc(5000, 0xb) });
    a.transport.push(frameA.subarray(0, 3000));
    assert.equal(a.transport.paused, false, 'A fits');
    assert.ok(budget.used >= 2900, `A holds ${budget.used} bytes`);
    b.transport.push(frameB.subarray(0, 3000));
    assert.equal(b.transport.paused, true, 'B is over the budget: reading stops');
    assert.equal(budget.waiting, 1);
    b.transport.push(frameB.subarray(3000)); // waits in the transport
    a.transport.push(frameA.subarray(3000));
    assert.equal(gotA.length, 1, "A's message is delivered, its bytes released");
    assert.equal(b.transport.paused, false, 'B reads again');
    await until(() => gotB.length === 1, "B's message");
    assert.ok(gotB[0]!.data.equals(Buffer.alloc(5000, 0xb)));
    assert.equal(budget.used, 0);
  });

  it("memory budget 'refuse': a partial message over the budget fails with 1009", async (t) => {
    const budget = new MemoryBudget(1024);
    const { ws, transport } = open(t, { memoryBudget: budget, memoryBudgetPolicy: 'refuse' });
    const errors: string[] = [];
    ws.on('error', (error) => errors.push((error as Error & { code: string }).code));
    const frame = client({ opcode: OP.binary, payload: Buffer.alloc(4000) });
    transport.push(frame.subarray(0, 2000));
    assert.deepEqual(errors, ['WS_ERR_MEMORY_BUDGET_EXCEEDED']);
    assert.deepEqual(
      transport.frames().map((f) => [f.opcode, f.payload.readUInt16BE(0)]),
      [[OP.close, 1009]],
    );
    assert.equal(budget.used, 0, 'what it held is given back');
  });

  it('pings from a peer that does not read our pongs: reading stops until the transport drains', async (t) => {
    const { ws, transport } = open(t, { maxBackpressure: 1024 });
    transport.queued = 4096; // the peer is not reading
    transport.push(client({ opcode: OP.ping, payload: 'p' }));
    assert.equal(transport.paused, true);
    assert.ok(transport.drainRequests >= 1, 'asked for a drain');
    transport.drain();
    assert.equal(transport.paused, false, 'reading again');
    transport.push(client({ opcode: OP.text, payload: 'still here' }));
    assert.equal(ws.readyState, WebSocket.OPEN);
  });
});

describe('SocketBase: reading restarts only when nothing holds it', () => {
  it('the application resumes while a ping backlog holds reading: still paused until drain', async (t) => {
    const { ws, transport } = open(t, { maxBackpressure: 1024 });
    transport.queued = 4096;
    transport.push(client({ opcode: OP.ping }));
    assert.equal(transport.paused, true);
    ws.pause();
    ws.resume();
    assert.equal(transport.paused, true, 'the backlog still holds it');
    transport.drain();
    assert.equal(transport.paused, false);
  });

  it('the transport drains while the application holds reading paused: still paused', async (t) => {
    const { ws, transport } = open(t, { maxBackpressure: 1024 });
    transport.queued = 4096;
    transport.push(client({ opcode: OP.ping }));
    ws.pause();
    transport.drain();
    assert.equal(transport.paused, true, 'the application still holds it');
    ws.resume();
    assert.equal(transport.paused, false);
  });

  it('a drain with the backlog still over the limit asks for another drain', async (t) => {
    const { transport } = open(t, { maxBackpressure: 1024 });
    transport.queued = 4096;
    transport.push(client({ opcode: OP.ping }));
    const asked = transport.drainRequests;
    transport.sink!._onTransportDrain(); // queued is still 4096
    assert.equal(transport.paused, true);
    assert.equal(transport.drainRequests, asked + 1);
  });

  it('the memory budget has room while the application holds reading paused: still paused', async (t) => {
    const budget = new MemoryBudget(4096);
    const a = open(t, { memoryBudget: budget });
    const b = open(t, { memoryBudget: budget });
    const frameA = client({ opcode: OP.binary, payload: Buffer.alloc(5000) });
    const frameB = client({ opcode: OP.binary, payload: Buffer.alloc(5000) });
    a.transport.push(frameA.subarray(0, 3000));
    b.transport.push(frameB.subarray(0, 3000));
    assert.equal(b.transport.paused, true);
    b.ws.pause();
    a.transport.push(frameA.subarray(3000));
    assert.equal(b.transport.paused, true, 'the application still holds it');
    b.ws.resume();
    assert.equal(b.transport.paused, false);
  });

  it('the application resumes while the memory budget holds reading: still paused', async (t) => {
    const budget = new MemoryBudget(4096);
    const a = open(t, { memoryBudget: budget });
    const b = open(t, { memoryBudget: budget });
    const frameA = client({ opcode: OP.binary, payload: Buffer.alloc(5000) });
    a.transport.push(frameA.subarray(0, 3000));
    b.transport.push(client({ opcode: OP.binary, payload: Buffer.alloc(5000) }).subarray(0, 3000));
    b.ws.pause();
    b.ws.resume();
    assert.equal(b.transport.paused, true, 'the budget still holds it');
    a.transport.push(frameA.subarray(3000));
    assert.equal(b.transport.paused, false);
  });

  it('no heartbeat beat counts as missed while the memory budget holds reading', async (t) => {
    const budget = new MemoryBudget(4096);
    const a = open(t, { memoryBudget: budget });
    const b = open(t, { memoryBudget: budget });
    a.transport.push(client({ opcode: OP.binary, payload: Buffer.alloc(5000) }).subarray(0, 3000));
    b.transport.push(client({ opcode: OP.binary, payload: Buffer.alloc(5000) }).subarray(0, 3000));
    assert.equal(b.transport.paused, true);
    for (let i = 0; i < 6; i++) assert.equal(internals.heartbeatTick(b.ws, 2), true, `sweep ${i}`);
    assert.equal(b.transport.destroyed, false);
  });

  it('send() over the hold mark waits in tsws; the transport drain lets it go, then drain', async (t) => {
    const { ws, transport } = open(t);
    transport.queued = 2 * 1024 * 1024; // the kernel holds a lot already
    let drains = 0;
    ws.on('drain', () => drains++);
    const sent = ws.send('waits');
    assert.equal(sent, false);
    await turns();
    assert.deepEqual(transport.frames(), [], 'not written while the transport is full');
    assert.ok(transport.drainRequests >= 1, 'asked the transport for a drain');
    transport.drain();
    await until(() => transport.frames().length === 1, 'the message written');
    assert.equal(transport.frames()[0]!.payload.toString(), 'waits');
    await until(() => drains === 1, 'the drain event');
  });
});

const messageArb = fc.record({
  binary: fc.boolean(),
  text: textArb(30),
  bytes: fc.uint8Array({ maxLength: 300 }),
  /** Fragments the message is sent in (RFC 6455 §5.4), 1 for none. */
  fragments: fc.integer({ min: 1, max: 4 }),
  /** A ping sent before the message's last fragment. */
  ping: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: undefined }),
  key: keyArb,
});
type Message = typeof messageArb extends fc.Arbitrary<infer T> ? T : never;

/** The client's frames for `list`, the messages (hex, binary) and pongs (hex) expected back. */
function frameStream(list: Message[]): {
  bytes: Buffer;
  messages: [string, boolean][];
  pongs: string[];
} {
  const frames: Buffer[] = [];
  const messages: [string, boolean][] = [];
  const pongs: string[] = [];
  for (const m of list) {
    const payload = m.binary ? Buffer.from(m.bytes) : Buffer.from(m.text);
    messages.push([payload.toString('hex'), m.binary]);
    const cut = Math.ceil(payload.length / m.fragments);
    for (let i = 0; i < m.fragments; i++) {
      const last = i === m.fragments - 1;
      if (last && m.ping !== undefined) {
        frames.push(client({ opcode: OP.ping, payload: m.ping, mask: m.key }));
        pongs.push(Buffer.from(m.ping).toString('hex'));
      }
      const from = Math.min(i * cut, payload.length);
      const piece = payload.subarray(
        from,
        last ? undefined : Math.min((i + 1) * cut, payload.length),
      );
      const opcode = i > 0 ? 0 : m.binary ? OP.binary : OP.text;
      frames.push(client({ opcode, payload: piece, fin: last, mask: m.key }));
    }
  }
  return { bytes: Buffer.concat(frames), messages, pongs };
}

describe('SocketBase properties', () => {
  it('any split of a valid frame stream, borrowed or owned, yields the same messages and pongs', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 6 }),
        splitArb,
        fc.boolean(),
        (list, split, borrowed) => {
          const expected = frameStream(list);
          const { ws, transport } = openBare();
          const got = messagesOf(ws);
          let errors = 0;
          ws.on('error', () => errors++);
          const pieces = cutStream(expected.bytes, split);
          if (borrowed) transport.pushBorrowed(pieces);
          else for (const piece of pieces) transport.push(piece);
          ws.terminate();
          assert.equal(errors, 0);
          assert.deepEqual(
            got.map((m) => [m.data.toString('hex'), m.isBinary]),
            expected.messages,
          );
          assert.deepEqual(
            transport
              .frames()
              .filter((f) => f.opcode === OP.pong)
              .map((f) => f.payload.toString('hex')),
            expected.pongs,
          );
        },
      ),
      { numRuns: runs(200) },
    );
  });

  it('pausing in message listeners at any points loses and reorders nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(messageArb, { minLength: 1, maxLength: 6 }),
        splitArb,
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        async (list, split, pauseAfter) => {
          const expected = frameStream(list);
          const { ws, transport } = openBare();
          const got = messagesOf(ws);
          ws.on('message', () => {
            if (pauseAfter[got.length - 1]) {
              ws.pause();
              assert.equal(transport.paused, true);
              // The application catches up later.
              setImmediate(() => ws.resume());
            }
          });
          for (const piece of cutStream(expected.bytes, split)) transport.push(piece);
          await until(() => got.length === expected.messages.length, 'every message');
          ws.terminate();
          assert.deepEqual(
            got.map((m) => [m.data.toString('hex'), m.isBinary]),
            expected.messages,
          );
        },
      ),
      { numRuns: runs(60) },
    );
  });
});
