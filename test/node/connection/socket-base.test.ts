import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from '../../../src/index.js';
import { closePayload, encodeFrame } from '../../helpers/frames.js';
import { next, nextClose, turns, until } from '../../helpers/node-util.js';
import { asText, client, internals, messagesOf, OP, open } from './socket-base-harness.js';

// SocketBase (src/node/connection/socket-base.ts) is the read path of a WebSocket: it is the
// transport's sink. These tests attach a server-side WebSocket to an in-memory transport and
// play the client, through the Transport interface and the public WebSocket API.

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

  it('a message over maxPayload fails the connection with 1009', async (t) => {
    const { ws, transport } = open(t, { maxPayload: 10 });
    const got = messagesOf(ws);
    transport.push(client({ opcode: OP.binary, payload: Buffer.alloc(11) }));
    assert.equal(got.length, 0);
    assert.deepEqual(
      transport.frames().map((f) => [f.opcode, f.payload.readUInt16BE(0)]),
      [[OP.close, 1009]],
    );
    const closed = nextClose(ws);
    transport.peerEnd();
    assert.equal((await closed).code, 1009);
  });

  it('autoPong false: a ping is reported, not answered', async (t) => {
    const { ws, transport } = open(t, { autoPong: false });
    const pings: string[] = [];
    ws.on('ping', (data) => pings.push(data.toString()));
    transport.push(client({ opcode: OP.ping, payload: 'x' }));
    await turns();
    assert.deepEqual(pings, ['x']);
    assert.deepEqual(transport.frames(), []);
  });

  it('a pong from the peer is reported, and gives rtt after our ping', async (t) => {
    const { ws, transport } = open(t);
    const pongs: string[] = [];
    ws.on('pong', (data) => pongs.push(data.toString()));
    ws.ping('rtt');
    await until(() => transport.frames().length === 1, 'our ping');
    assert.equal(ws.rtt, undefined);
    transport.push(client({ opcode: OP.pong, payload: 'rtt' }));
    assert.deepEqual(pongs, ['rtt']);
    assert.equal(typeof ws.rtt, 'number');
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
