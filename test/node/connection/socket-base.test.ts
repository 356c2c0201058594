import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryBudget, WebSocket } from '../../../src/index.js';
import { bindingSettings, type ConnectionSettings } from '../../../src/node/connection/options.js';
import type { Transport } from '../../../src/node/transport/transport.js';
import { closePayload, encodeFrame, type RawFrame } from '../../helpers/frames.js';
import { cutStream, keyArb, runs, splitArb, textArb } from '../../helpers/fuzz.js';
import { defer, next, nextClose, quietly, turns, until } from '../../helpers/node-util.js';
import { FakeTransport } from './fake-transport.js';

// SocketBase (src/node/connection/socket-base.ts) is the read path of a WebSocket: it is the
// transport's sink. These tests attach a server-side WebSocket to an in-memory transport and
// play the client, through the Transport interface and the public WebSocket API.

/**
 * The one place this file reaches members that are not public API (the binding's redesign may
 * rename them): attaching a connection to a transport as the server does after its 101, and the
 * heartbeat's sweep of one connection.
 */
const internals = {
  attach(ws: WebSocket, transport: Transport, head: Buffer, settings: ConnectionSettings): void {
    ws._attach(transport, head, bindingSettings('server', settings));
  },
  heartbeatTick(ws: WebSocket, maxMissed: number): boolean {
    return ws._heartbeatTick(maxMissed);
  },
};

const OP = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** A server-side WebSocket over a FakeTransport (no heartbeat timer unless asked). */
function open(
  t: TestContext,
  settings: ConnectionSettings = {},
  head: Buffer = Buffer.alloc(0),
): { ws: WebSocket; transport: FakeTransport } {
  const ws = new WebSocket(null);
  const transport = new FakeTransport();
  internals.attach(ws, transport, head, { heartbeat: false, ...settings });
  defer(t, () => quietly(() => ws.terminate()));
  return { ws, transport };
}

/** A frame as a client sends it: masked. */
function client(frame: RawFrame): Buffer {
  return encodeFrame({ mask: true, ...frame });
}

/** Records the messages of `ws` (data as delivered, not copied). */
function messagesOf(ws: WebSocket): { data: Buffer; isBinary: boolean }[] {
  const got: { data: Buffer; isBinary: boolean }[] = [];
  ws.on('message', (data, isBinary) => got.push({ data: data as Buffer, isBinary }));
  return got;
}

function asText(messages: { data: Buffer }[]): string[] {
  return messages.map((m) => m.data.toString());
}

describe('SocketBase over a transport', () => {
  it('a masked frame becomes a message; text and binary', async (t) => {
    const { ws, transport } = open(t);
    const got = messagesOf(ws);
    transport.push(client({ opcode: OP.text, payload: 'hello' }));
    transport.push(client({ opcode: OP.binary, payload: Buffer.from([1, 2, 3]) }));
    assert.deepEqual(
      got.map((m) => [m.data.toString('hex'), m.isBinary]),
      [
        [Buffer.from('hello').toString('hex'), false],
        ['010203', true],
      ],
    );
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  it('the head (read with the request) is delivered first', async (t) => {
    const head = client({ opcode: OP.text, payload: 'from the head' });
    const { ws, transport } = open(t, {}, head);
    const got = messagesOf(ws);
    await until(() => got.length === 1, 'the message in the head');
    transport.push(client({ opcode: OP.text, payload: 'then' }));
    assert.deepEqual(asText(got), ['from the head', 'then']);
  });

  it('a stream cut at every byte, in a reused (borrowed) buffer, gives the same messages', async (t) => {
    const { ws, transport } = open(t);
    const got = messagesOf(ws);
    const stream = Buffer.concat([
      client({ opcode: OP.text, payload: 'one' }),
      client({ opcode: OP.binary, payload: Buffer.alloc(300, 7) }),
      client({ opcode: OP.text, payload: 'fra', fin: false }),
      client({ opcode: OP.ping, payload: 'p' }),
      client({ opcode: 0x0, payload: 'gment€', fin: true }),
    ]);
    transport.pushBorrowed(Array.from(stream, (b) => Buffer.from([b])));
    await turns();
    assert.deepEqual(
      got.map((m) => [m.data.toString('hex'), m.isBinary]),
      [
        [Buffer.from('one').toString('hex'), false],
        [Buffer.alloc(300, 7).toString('hex'), true],
        [Buffer.from('fragment€').toString('hex'), false],
      ],
    );
    assert.deepEqual(
      transport.frames().map((f) => [f.opcode, f.payload.toString()]),
      [[OP.pong, 'p']],
    );
  });

  it('a ping is answered with a pong carrying its payload, unmasked', async (t) => {
    const { ws, transport } = open(t);
    const pings: string[] = [];
    ws.on('ping', (data) => pings.push(data.toString()));
    transport.push(client({ opcode: OP.ping, payload: 'are you there' }));
    assert.deepEqual(pings, ['are you there']);
    const frames = transport.frames();
    assert.equal(frames.length, 1);
    assert.deepEqual(
      [frames[0]!.opcode, frames[0]!.masked, frames[0]!.payload.toString()],
      [OP.pong, false, 'are you there'],
    );
  });

  it('a close frame: echoed, TCP ended; close event with its code and reason', async (t) => {
    const { ws, transport } = open(t);
    const closes: [number, string][] = [];
    ws.on('close', (code, reason) => closes.push([code, reason.toString()]));
    transport.push(client({ opcode: OP.close, payload: closePayload(1000, 'bye') }));
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const frames = transport.frames();
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.payload.readUInt16BE(0)]),
      [[OP.close, 1000]],
    );
    assert.equal(transport.ended, true, 'the server closes TCP first (RFC 6455 §7.1.1)');
    assert.deepEqual(closes, [], 'no close event before TCP is closed');
    transport.peerEnd();
    await until(() => closes.length > 0, 'the close event');
    await turns();
    assert.deepEqual(closes, [[1000, 'bye']]);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('a protocol error: close 1002 written, TCP ended, close event 1002', async (t) => {
    const { ws, transport } = open(t);
    const errors: string[] = [];
    ws.on('error', (error) => errors.push((error as Error & { code: string }).code));
    // RFC 6455 §5.1: a client must mask its frames.
    transport.push(encodeFrame({ opcode: OP.text, payload: 'unmasked' }));
    assert.deepEqual(errors, ['WS_ERR_EXPECTED_MASK']);
    const frames = transport.frames();
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.payload.readUInt16BE(0)]),
      [[OP.close, 1002]],
    );
    assert.equal(transport.ended, true);
    const closed = nextClose(ws);
    transport.peerEnd();
    assert.equal((await closed).code, 1002);
  });

  it('EOF without a close frame: TCP ended too, close 1006', async (t) => {
    const { ws, transport } = open(t);
    const closed = nextClose(ws);
    transport.peerEnd();
    assert.equal(transport.ended, true, 'our side ends as well');
    assert.deepEqual([(await closed).code, (await closed).reason], [1006, '']);
    assert.deepEqual(transport.frames(), [], 'no close frame to a peer that left');
  });

  it('the transport closes (a reset): one close event, 1006', async (t) => {
    const { ws, transport } = open(t);
    let closes = 0;
    ws.on('close', () => closes++);
    const closed = nextClose(ws);
    transport.reset();
    assert.equal((await closed).code, 1006);
    await turns();
    assert.equal(closes, 1);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('pause() stops transport reading and holds events of the current read; resume() restarts', async (t) => {
    const { ws, transport } = open(t);
    const got = messagesOf(ws);
    ws.once('message', () => ws.pause());
    transport.push(
      Buffer.concat([
        client({ opcode: OP.text, payload: 'a' }),
        client({ opcode: OP.text, payload: 'b' }),
      ]),
    );
    assert.deepEqual(asText(got), ['a'], 'the second message of the read waits');
    assert.equal(transport.paused, true);
    assert.equal(ws.isPaused, true);
    transport.push(client({ opcode: OP.text, payload: 'c' }));
    await turns();
    assert.deepEqual(asText(got), ['a']);
    ws.resume();
    assert.equal(transport.paused, false);
    await until(() => got.length === 3, 'the held messages');
    assert.deepEqual(asText(got), ['a', 'b', 'c']);
  });

  it('send() writes an unmasked frame and calls back', async (t) => {
    const { ws, transport } = open(t);
    const done = new Promise<unknown>((resolve) => ws.send('hi', resolve));
    assert.equal(await done, null);
    assert.deepEqual(
      transport.frames().map((f) => [f.opcode, f.masked, f.payload.toString()]),
      [[OP.text, false, 'hi']],
    );
  });

  it('after the transport closed, send() calls back with an error', async (t) => {
    const { ws, transport } = open(t);
    transport.reset();
    await next(ws, 'close');
    const error = await new Promise<unknown>((resolve) => ws.send('late', resolve));
    assert.ok(error instanceof Error);
    assert.deepEqual(transport.frames(), []);
  });

  it('terminate() destroys the transport: close 1006 once', async (t) => {
    const { ws, transport } = open(t);
    let closes = 0;
    ws.on('close', () => closes++);
    ws.terminate();
    ws.terminate();
    assert.equal(transport.destroyed, true);
    await until(() => closes === 1, 'the close event');
    await turns();
    assert.equal(closes, 1);
  });

  it('close() with a silent peer: the close timer destroys TCP, close 1006', async (t) => {
    const { ws, transport } = open(t, { closeTimeout: 20 });
    const closed = nextClose(ws);
    ws.close(1000, 'done');
    await until(() => transport.frames().length === 1, 'the close frame');
    const [frame] = transport.frames();
    assert.deepEqual(
      [frame!.opcode, frame!.payload.readUInt16BE(0), frame!.payload.subarray(2).toString()],
      [OP.close, 1000, 'done'],
    );
    assert.equal((await closed).code, 1006);
    assert.equal(transport.destroyed, true, 'destroyed by the timer');
  });
});

describe('SocketBase heartbeat', () => {
  it('two sweeps with no traffic after the first ping: terminated, 1006 "heartbeat timeout"', async (t) => {
    const { ws, transport } = open(t);
    const pings = () => transport.frames().filter((f) => f.opcode === OP.ping).length;
    assert.equal(internals.heartbeatTick(ws, 2), true, 'the handshake counts as traffic');
    await until(() => pings() === 1, 'the first ping');
    assert.equal(internals.heartbeatTick(ws, 2), true, 'one missed');
    await until(() => pings() === 2, 'the second ping');
    const closed = nextClose(ws);
    assert.equal(internals.heartbeatTick(ws, 2), false, 'two missed: leaves the group');
    assert.equal(transport.destroyed, true);
    assert.deepEqual([(await closed).code, (await closed).reason], [1006, 'heartbeat timeout']);
  });

  it('a frame from the peer between sweeps resets the count', async (t) => {
    const { ws, transport } = open(t);
    for (let i = 0; i < 6; i++) {
      assert.equal(internals.heartbeatTick(ws, 2), true, `sweep ${i}`);
      transport.push(client({ opcode: OP.pong }));
    }
    assert.equal(transport.destroyed, false);
  });

  it('no beat counts as missed while the application holds reading paused', async (t) => {
    const { ws, transport } = open(t);
    ws.pause();
    for (let i = 0; i < 6; i++) assert.equal(internals.heartbeatTick(ws, 2), true, `sweep ${i}`);
    assert.equal(transport.destroyed, false);
    ws.resume();
    internals.heartbeatTick(ws, 2);
    assert.equal(internals.heartbeatTick(ws, 2), false, 'counting again once resumed');
  });

  it('the heartbeat setting sweeps on its own timer', async (t) => {
    const { ws, transport } = open(t, { heartbeat: { interval: 20, maxMissed: 2 } });
    const closed = await nextClose(ws, 10_000);
    assert.deepEqual([closed.code, closed.reason], [1006, 'heartbeat timeout']);
    assert.ok(transport.frames().some((f) => f.opcode === OP.ping));
  });
});

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

describe('SocketBase property', () => {
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

  it('any split of a valid frame stream, borrowed or owned, yields the same messages and pongs', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 6 }),
        splitArb,
        fc.boolean(),
        (list, split, borrowed) => {
          const frames: Buffer[] = [];
          const expected: [string, boolean][] = [];
          const pongs: string[] = [];
          for (const m of list) {
            const payload = m.binary ? Buffer.from(m.bytes) : Buffer.from(m.text);
            expected.push([payload.toString('hex'), m.binary]);
            const cut = Math.ceil(payload.length / m.fragments);
            for (let i = 0; i < m.fragments; i++) {
              const last = i === m.fragments - 1;
              if (last && m.ping !== undefined) {
                frames.push(client({ opcode: OP.ping, payload: m.ping, mask: m.key }));
                pongs.push(Buffer.from(m.ping).toString('hex'));
              }
              const piece = payload.subarray(
                Math.min(i * cut, payload.length),
                last ? undefined : (i + 1) * cut,
              );
              const opcode = i > 0 ? 0 : m.binary ? OP.binary : OP.text;
              frames.push(client({ opcode, payload: piece, fin: last, mask: m.key }));
            }
          }
          const ws = new WebSocket(null);
          const transport = new FakeTransport();
          internals.attach(ws, transport, Buffer.alloc(0), { heartbeat: false });
          const got = messagesOf(ws);
          let errors = 0;
          ws.on('error', () => errors++);
          const pieces = cutStream(Buffer.concat(frames), split);
          if (borrowed) transport.pushBorrowed(pieces);
          else for (const piece of pieces) transport.push(piece);
          ws.terminate();
          assert.equal(errors, 0);
          assert.deepEqual(
            got.map((m) => [m.data.toString('hex'), m.isBinary]),
            expected,
          );
          assert.deepEqual(
            transport
              .frames()
              .filter((f) => f.opcode === OP.pong)
              .map((f) => f.payload.toString('hex')),
            pongs,
          );
        },
      ),
      { numRuns: runs(200) },
    );
  });
});
