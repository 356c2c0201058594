import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from '../../../src/index.js';
import { type DecodedFrame, encodeFrame } from '../../helpers/frames.js';
import { type FrameReader, rawPair } from '../../helpers/node-raw.js';
import {
  connectPair,
  messages,
  next,
  nextClose,
  nextMessage,
  turns,
  until,
} from '../../helpers/node-util.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** A generous bound for tests that move many MiB through loopback on a busy machine. */
const SLOW = 30_000;

/** Message `i`: its number in the first 4 bytes. */
function numbered(i: number, size: number): Buffer {
  const data = Buffer.alloc(size, i & 0xff);
  data.writeUInt32BE(i, 0);
  return data;
}

/** What a send's callback reported: nothing yet, written, or the error's code. */
type Outcome = undefined | 'written' | string;

/**
 * A server-side connection sending numbered messages to a peer that does not read, in an
 * asynchronous loop (so that the kernel's buffers fill as they would), until `stop()` holds.
 * Records what send() returned, each callback's outcome, and the largest bufferedAmount seen.
 */
async function flood(
  ws: WebSocket,
  size: number,
  stop: (state: { sent: number; refused: number }) => boolean,
): Promise<{ outcomes: Outcome[]; returned: boolean[]; maxBuffered: number }> {
  const outcomes: Outcome[] = [];
  const returned: boolean[] = [];
  let maxBuffered = 0;
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    if (stop({ sent: i, refused }) || ws.readyState !== WebSocket.OPEN) break;
    outcomes.push(undefined);
    const ok = ws.send(numbered(i, size), (error) => {
      outcomes[i] = error ? ((error as { code?: string }).code ?? 'error') : 'written';
    });
    returned.push(ok);
    if (!ok) refused++;
    if (ws.readyState === WebSocket.OPEN) maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
    if (i % 8 === 7) await turns(1);
  }
  return { outcomes, returned, maxBuffered };
}

/**
 * A message goes if the backlog it finds is within the limit, or if the sender heeded send()'s
 * last answer: the backlog exceeds the limit by two messages at most (payloads and headers).
 */
function assertWithin(buffered: number, limit: number, message: number): void {
  assert.ok(
    buffered <= limit + 2 * (message + 4),
    `bufferedAmount reached ${buffered} (limit ${limit}, messages of ${message} bytes)`,
  );
}

/** Reads frames until `done(frame)` says stop (the frame included). */
async function readUntil(
  peer: FrameReader,
  done: (frame: DecodedFrame) => boolean,
): Promise<DecodedFrame[]> {
  const frames: DecodedFrame[] = [];
  for (;;) {
    const frame = await peer.nextFrame(SLOW);
    frames.push(frame);
    if (done(frame)) return frames;
  }
}

const isClose = (frame: DecodedFrame) => frame.opcode === 0x8;
const isText = (text: string) => (frame: DecodedFrame) =>
  frame.opcode === 0x1 && frame.payload.toString() === text;
const numberOf = (frame: DecodedFrame) => frame.payload.readUInt32BE(0);

describe('send() and drain', () => {
  it('send() returns true when the message went to the socket at once', async (t) => {
    const { server, client } = await connectPair(t);
    assert.equal(server.send('hello'), true);
    assert.equal((await nextMessage(client)).data.toString(), 'hello');
  });

  it('a producer that waits for drain whenever send() returns false never meets the policy', async (t) => {
    const limit = 256 * KiB;
    const { server, peer } = await rawPair(t, { maxBackpressure: limit });
    peer.socket.pause();
    const count = 400;
    const sending = (async () => {
      for (let i = 0; i < count; i++) {
        if (!server.send(numbered(i, 32 * KiB))) await next(server, 'drain', SLOW);
        assertWithin(server.bufferedAmount, limit, 32 * KiB);
      }
    })();
    // Let the backlog build up against the peer that does not read, then read everything.
    await until(() => server.bufferedAmount >= limit, 'a backlog at the limit');
    peer.socket.resume();
    await sending;
    const frames = await readUntil(peer, (f) => numberOf(f) === count - 1);
    assert.deepEqual(frames.map(numberOf), [...Array(count).keys()]);
    assert.equal(server.readyState, WebSocket.OPEN);
  });

  it('returns false once the peer stops reading; drain follows when it reads, and every message arrives in order', async (t) => {
    const { server, peer } = await rawPair(t);
    peer.socket.pause();
    const { returned } = await flood(server, 64 * KiB, ({ refused }) => refused > 0);
    assert.equal(returned.at(-1), false, 'a send finally waited');
    assert.ok(returned.slice(0, -1).every(Boolean), 'the ones before went to the socket');
    const drained = next(server, 'drain', SLOW);
    peer.socket.resume();
    await drained;
    const frames = await readUntil(peer, (f) => numberOf(f) === returned.length - 1);
    assert.deepEqual(
      frames.map(numberOf),
      returned.map((_, i) => i),
    );
    assert.ok(frames.every((f) => f.fin && f.opcode === 0x2 && f.payload.length === 64 * KiB));
  });

  it('drain also follows a send that waited for compression', async (t) => {
    const { server, client } = await connectPair(t, { perMessageDeflate: true });
    assert.match(server.extensions, /permessage-deflate/);
    const text = 'compressible '.repeat(10_000);
    const drained = next(server, 'drain');
    assert.equal(server.send(text), false, 'the message waits for zlib');
    await drained;
    assert.equal((await nextMessage(client)).data.toString(), text);
  });

  it('bufferedAmount counts each frame until written, header included, and goes back to exactly 0', async (t) => {
    const { server, client } = await connectPair(t);
    // Server frames are unmasked: 1,000 bytes take a 4-byte header (16-bit length).
    const written = new Promise((resolve) => server.send(Buffer.alloc(1000), resolve));
    assert.equal(server.bufferedAmount, 1004);
    server.send('abc');
    assert.equal(server.bufferedAmount, 1004 + 5);
    // Client frames carry a 4-byte masking key too.
    client.send(Buffer.alloc(200));
    assert.equal(client.bufferedAmount, 208);
    await written;
    await until(() => server.bufferedAmount === 0 && client.bufferedAmount === 0, 'all written');
  });
});

describe('maxBackpressure and its policies', () => {
  it("'close' (the default): the buffer stays within the limit, then the connection is failed with 1008", async (t) => {
    const limit = 256 * KiB;
    const { server, peer } = await rawPair(t, { maxBackpressure: limit });
    peer.socket.pause();
    const { outcomes, maxBuffered } = await flood(server, 16 * KiB, () => false);
    assert.equal(server.readyState, WebSocket.CLOSING);
    assertWithin(maxBuffered, limit, 16 * KiB);
    const closed = nextClose(server, SLOW);
    peer.socket.resume();
    const frames = await readUntil(peer, isClose);
    const close = frames.pop()!;
    assert.equal(close.payload.readUInt16BE(0), 1008);
    assert.match(close.payload.subarray(2).toString(), /not reading/);
    // What went out is a prefix of what was sent, in order and whole; the rest failed.
    assert.deepEqual(
      frames.map(numberOf),
      frames.map((_, i) => i),
    );
    peer.send({ opcode: 0x8, payload: close.payload, mask: true });
    const { code } = await closed;
    assert.equal(code, 1008);
    await until(() => outcomes.every((o) => o !== undefined), 'every send called back');
    assert.equal(outcomes.filter((o) => o === 'written').length, frames.length);
    assert.ok(outcomes.slice(frames.length).every((o) => o !== 'written'));
  });

  it("'drop-newest': messages over the limit are dropped whole and reported; the rest arrive in order", async (t) => {
    const limit = 256 * KiB;
    const { server, peer } = await rawPair(t, {
      maxBackpressure: limit,
      backpressurePolicy: 'drop-newest',
    });
    const dropped: { bytes: number; isBinary: boolean; policy: string }[] = [];
    server.on('dropped', (info) => dropped.push(info));
    peer.socket.pause();
    const { outcomes, maxBuffered } = await flood(server, 16 * KiB, () => dropped.length >= 20);
    assert.equal(server.readyState, WebSocket.OPEN);
    assertWithin(maxBuffered, limit, 16 * KiB);
    assert.equal(server.droppedMessages, dropped.length);
    assert.equal(server.droppedBytes, dropped.length * 16 * KiB);
    assert.ok(
      dropped.every((d) => d.policy === 'drop-newest' && d.isBinary && d.bytes === 16 * KiB),
    );
    const drained = next(server, 'drain', SLOW);
    peer.socket.resume();
    await drained;
    server.send('end');
    const frames = (await readUntil(peer, isText('end'))).slice(0, -1);
    await until(() => outcomes.every((o) => o !== undefined), 'every send called back');
    const kept = outcomes.flatMap((o, i) => (o === 'written' ? [i] : []));
    assert.deepEqual(frames.map(numberOf), kept);
    assert.equal(
      outcomes.filter((o) => o === 'WS_ERR_MESSAGE_DROPPED').length,
      dropped.length,
      'each dropped message is called back with WS_ERR_MESSAGE_DROPPED',
    );
  });

  it("'drop-oldest': the oldest waiting messages make room for new ones", async (t) => {
    const limit = 2 * MiB;
    const { server, peer } = await rawPair(t, {
      maxBackpressure: limit,
      backpressurePolicy: 'drop-oldest',
    });
    const dropped: { policy: string }[] = [];
    server.on('dropped', (info) => dropped.push(info));
    peer.socket.pause();
    const { outcomes, maxBuffered } = await flood(server, 16 * KiB, () => dropped.length >= 40);
    // The limit counts what waits in tsws (droppable); the socket holds at most the hold mark.
    assertWithin(maxBuffered, limit + Math.min(MiB, limit), 16 * KiB);
    assert.ok(dropped.every((d) => d.policy === 'drop-oldest'));
    const last = outcomes.length - 1;
    const drained = next(server, 'drain', SLOW);
    peer.socket.resume();
    await drained;
    server.send('end');
    const frames = (await readUntil(peer, isText('end'))).slice(0, -1);
    await until(() => outcomes.every((o) => o !== undefined), 'every send called back');
    const kept = outcomes.flatMap((o, i) => (o === 'written' ? [i] : []));
    assert.deepEqual(frames.map(numberOf), kept);
    assert.equal(kept.at(-1), last, 'the newest message was kept');
    const firstDropped = outcomes.indexOf('WS_ERR_MESSAGE_DROPPED');
    assert.ok(
      kept.some((i) => i > firstDropped),
      'messages sent after the dropped ones were kept: the older ones made room',
    );
    assert.equal(server.droppedMessages, dropped.length);
  });

  it('a message sent in fragments is dropped whole: its first fragment over the limit drops the rest of it', async (t) => {
    const limit = 128 * KiB;
    const { server, peer } = await rawPair(t, {
      maxBackpressure: limit,
      backpressurePolicy: 'drop-newest',
    });
    const dropped: { bytes: number }[] = [];
    server.on('dropped', (info) => dropped.push(info));
    peer.socket.pause();
    // Until the kernel's buffers are full too: a backlog stays after the writes had their turn.
    await flood(
      server,
      16 * KiB,
      ({ sent }) => sent > 0 && sent % 8 === 0 && server.bufferedAmount > limit,
    );
    // A sender that ignores send()'s false answer (the policy is for those).
    assert.equal(server.send(numbered(0, 16 * KiB)), false);
    const before = server.droppedMessages;
    const errors: (string | undefined)[] = [];
    const record = (error?: Error | null) => errors.push((error as { code?: string })?.code);
    server.send(Buffer.alloc(limit, 1), { fin: false }, record);
    server.send(Buffer.alloc(limit, 2), { fin: false }, record);
    server.send(Buffer.alloc(10, 3), { fin: true }, record);
    await until(() => errors.length === 3, 'the three fragments called back');
    assert.deepEqual(errors, Array(3).fill('WS_ERR_MESSAGE_DROPPED'));
    assert.equal(server.droppedMessages, before + 1, 'one message dropped');
    assert.equal(dropped.at(-1)!.bytes, 2 * limit + 10);
    const drained = next(server, 'drain', SLOW);
    peer.socket.resume();
    await drained;
    server.send('end');
    const frames = await readUntil(peer, isText('end'));
    assert.ok(
      frames.every((f) => f.fin && f.opcode !== 0x0),
      'no fragment of the dropped message reached the peer',
    );
  });

  it('a later fragment of a message already started cannot be dropped: over the limit, the connection fails with 1008', async (t) => {
    const limit = 128 * KiB;
    const { server, peer } = await rawPair(t, {
      maxBackpressure: limit,
      backpressurePolicy: 'drop-newest',
    });
    peer.socket.pause();
    const dropped = [];
    server.on('dropped', (info) => dropped.push(info));
    for (let i = 0; i < 10_000 && server.readyState === WebSocket.OPEN; i++) {
      server.send(Buffer.alloc(16 * KiB, i & 0xff), { fin: false });
      if (i % 8 === 7) await turns(1);
    }
    assert.equal(server.readyState, WebSocket.CLOSING);
    assert.equal(dropped.length, 0);
    peer.socket.resume();
    const frames = await readUntil(peer, isClose);
    assert.equal(frames.at(-1)!.payload.readUInt16BE(0), 1008);
    assert.ok(
      frames.slice(0, -1).every((f) => !f.fin),
      'only fragments before the close',
    );
  });

  it('a message waiting behind a stream in progress is a whole message: drop-oldest may drop it', async (t) => {
    const { server, peer } = await rawPair(t, {
      maxBackpressure: 1 * KiB,
      backpressurePolicy: 'drop-oldest',
    });
    let finish!: () => void;
    const paused = new Promise<void>((resolve) => {
      finish = resolve;
    });
    async function* source() {
      yield Buffer.from('piece');
      await paused;
    }
    const streamed = server.sendStream(source());
    const first = await peer.nextFrame(SLOW);
    assert.deepEqual([first.opcode, first.fin, first.payload.toString()], [2, false, 'piece']);
    const outcomes = new Map<number, string>();
    const record = (id: number) => (error?: Error | null) =>
      outcomes.set(id, error ? ((error as { code?: string }).code ?? 'error') : 'written');
    // Both wait behind the stream, whose message is on the wire, unfinished. They are not
    // fragments of it: the first makes room for the second (it used to be taken for a later
    // fragment, which cannot be dropped, so the newest was dropped instead).
    assert.equal(server.send(Buffer.alloc(2 * KiB, 1), record(1)), false);
    assert.equal(server.send(Buffer.alloc(2 * KiB, 2), record(2)), false);
    assert.equal(server.readyState, WebSocket.OPEN);
    assert.equal(server.droppedMessages, 1);
    finish();
    await streamed;
    await until(() => outcomes.size === 2, 'both sends called back');
    assert.deepEqual([outcomes.get(1), outcomes.get(2)], ['WS_ERR_MESSAGE_DROPPED', 'written']);
    const frames = await readUntil(peer, (frame) => frame.payload.length === 2 * KiB);
    assert.deepEqual(
      frames.map((frame) => [frame.opcode, frame.fin, frame.payload[0]]),
      [
        [0, true, undefined],
        [2, true, 2],
      ],
    );
  });

  it('a message larger than the limit goes; one sent despite a false answer meets the policy', async (t) => {
    const { server, client } = await connectPair(t, { maxBackpressure: 64 * KiB });
    const big = Buffer.alloc(MiB, 7);
    assert.equal(server.send(big), true);
    assert.ok(((await nextMessage(client)).data as Buffer).equals(big));
    const closed = nextClose(client);
    assert.equal(server.send(big), true, 'nothing waits: it goes');
    assert.equal(server.send(big), false, 'it waits: queued, not refused');
    assert.equal(server.readyState, WebSocket.OPEN);
    assert.equal(server.send(big), false, 'sent without waiting for drain, over the limit');
    assert.equal(server.readyState, WebSocket.CLOSING);
    assert.equal((await closed).code, 1008);
  });
});

describe('control frames and closing around queued messages', () => {
  /** A connection whose peer stopped reading, with `queued` messages waiting in tsws. */
  async function backlog(t: Parameters<typeof rawPair>[0], options = {}) {
    const { server, peer } = await rawPair(t, options);
    peer.socket.pause();
    const flooded = await flood(server, 32 * KiB, ({ refused }) => refused >= 16);
    return { server, peer, ...flooded, queued: flooded.returned.filter((r) => !r).length };
  }

  it('a pong goes ahead of the messages waiting for the peer', async (t) => {
    const { server, peer, returned, queued } = await backlog(t);
    const pinged = next(server, 'ping');
    peer.send({ opcode: 0x9, payload: 'are you there', mask: true });
    await pinged;
    peer.socket.resume();
    const frames = await readUntil(
      peer,
      (f) => f.opcode === 0x2 && numberOf(f) === returned.length - 1,
    );
    const pong = frames.findIndex((f) => f.opcode === 0xa);
    assert.ok(pong >= 0, 'the pong was sent');
    assert.equal(frames[pong]!.payload.toString(), 'are you there');
    assert.ok(frames.length - 1 - pong >= queued, 'the queued messages went after the pong');
  });

  it('a heartbeat ping goes ahead of the messages waiting for the peer', async (t) => {
    const { server, peer, returned, queued } = await backlog(t, {
      heartbeat: { interval: 20, maxMissed: 1_000_000 },
    });
    const internals = server as unknown as { _pingSentAt: number };
    const since = performance.now();
    await until(() => internals._pingSentAt > since, 'a heartbeat ping sent');
    peer.socket.resume();
    const frames = await readUntil(
      peer,
      (f) => f.opcode === 0x2 && numberOf(f) === returned.length - 1,
    );
    const ping = frames.findLastIndex((f) => f.opcode === 0x9);
    assert.ok(ping >= 0);
    assert.ok(frames.length - 1 - ping >= queued, 'the queued messages went after the ping');
  });

  it('a peer that pings without reading the pongs is not read from until they drain; every ping is answered', async (t) => {
    const limit = 64 * KiB;
    const { server, peer } = await rawPair(t, { maxBackpressure: limit });
    peer.socket.pause();
    let pings = 0;
    server.on('ping', () => pings++);
    const total = 150_000;
    const ping = Buffer.concat(
      Array.from({ length: 1000 }, () =>
        encodeFrame({ opcode: 0x9, payload: 'p'.repeat(125), mask: true }),
      ),
    );
    for (let i = 0; i < total / 1000; i++) peer.socket.write(ping);
    // Once the pongs fill the kernel's buffers, the server stops reading: the count settles.
    let seen = -1;
    let still = 0;
    await until(
      () => {
        still = pings === seen ? still + 1 : 0;
        seen = pings;
        return still >= 50 && server.bufferedAmount > limit;
      },
      'the server to stop reading pings',
      SLOW,
    );
    assert.ok(pings < total, 'the server stopped reading');
    assert.ok(
      server.bufferedAmount <= limit + 128 * KiB,
      `the pongs waiting stay near the limit (${server.bufferedAmount} bytes)`,
    );
    assert.ok(peer.socket.writableLength > 0, "the peer's own writes back up");
    peer.socket.resume();
    // Unmasked pongs of 125 bytes: 127 bytes each.
    await until(() => peer.received >= total * 127, 'every pong', SLOW);
    assert.equal(pings, total);
    assert.equal(server.readyState, WebSocket.OPEN);
  });

  it("the peer's close is answered at once: messages still waiting are not sent and their callbacks fail", async (t) => {
    const { server, peer, outcomes, returned } = await backlog(t);
    const closed = nextClose(server, SLOW);
    peer.send({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]), mask: true });
    peer.socket.resume();
    const frames = await readUntil(peer, isClose);
    assert.equal(frames.at(-1)!.payload.readUInt16BE(0), 1000);
    const data = frames.slice(0, -1);
    assert.ok(data.length < returned.length, 'some messages were still waiting');
    assert.deepEqual(
      data.map(numberOf),
      data.map((_, i) => i),
    );
    assert.equal((await closed).code, 1000);
    await until(() => outcomes.every((o) => o !== undefined), 'every send called back');
    assert.equal(outcomes.filter((o) => o === 'written').length, data.length);
  });

  it('close() waits for the messages sent before it: CLOSING at once, later sends fail, the close frame comes last', async (t) => {
    const { server, peer, returned } = await backlog(t);
    server.close(1000, 'bye');
    assert.equal(server.readyState, WebSocket.CLOSING);
    const late = await new Promise<Error | null | undefined>((resolve) =>
      server.send('late', resolve),
    );
    assert.ok(late instanceof Error, 'a send after close() fails');
    const closed = nextClose(server, SLOW);
    peer.socket.resume();
    const frames = await readUntil(peer, isClose);
    const close = frames.pop()!;
    assert.equal(close.payload.readUInt16BE(0), 1000);
    assert.equal(close.payload.subarray(2).toString(), 'bye');
    assert.deepEqual(
      frames.map(numberOf),
      returned.map((_, i) => i),
    );
    peer.send({ opcode: 0x8, payload: close.payload, mask: true });
    const { code, reason } = await closed;
    assert.deepEqual([code, reason], [1000, 'bye']);
  });

  it('closeTimeout runs from the close() call: a peer that neither reads nor closes is cut off', async (t) => {
    const { server } = await backlog(t, { closeTimeout: 100 });
    const closed = nextClose(server, SLOW);
    server.close(1000);
    assert.equal((await closed).code, 1006);
  });

  it('messages queued behind a close() that the peer answers in time all arrive first (tsws client)', async (t) => {
    const { server, client } = await connectPair(t);
    client.pause();
    const count = 64;
    for (let i = 0; i < count; i++) server.send(numbered(i, 256 * KiB));
    server.close(1001, 'going away');
    const got = messages(client, count, SLOW);
    const closed = nextClose(client, SLOW);
    client.resume();
    assert.deepEqual(
      (await got).map((m) => m.data.readUInt32BE(0)),
      [...Array(count).keys()],
    );
    assert.deepEqual(Object.values(await closed).slice(0, 2), [1001, 'going away']);
  });
});
