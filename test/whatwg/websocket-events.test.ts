import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closePayload } from '../helpers/frames.js';
import type { FrameReader } from '../helpers/node-raw.js';
import { next, nextClose, startServer, turns, until } from '../helpers/node-util.js';
import {
  bytesOf,
  CloseEvent,
  nextEvent,
  openPair,
  rawWebSocketServer,
  types,
  WebSocket,
  whatwgClient,
} from '../helpers/whatwg-util.js';

const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;

/** A raw server that, once open, runs `script` with the peer (frames from tsws) and socket. */
async function scriptedServer(
  t: Parameters<typeof rawWebSocketServer>[0],
  script: (peer: FrameReader) => Promise<void>,
): Promise<{ url: string; done: Promise<void> }> {
  let finish!: (error?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = (error) => (error === undefined ? resolve() : reject(error));
  });
  const { url } = await rawWebSocketServer(t, (peer) => {
    script(peer).then(() => finish(), finish);
  });
  return { url, done };
}

describe('WebSocket events: EventTarget and event handler attributes (HTML §8.1.8.1)', () => {
  it('on* are null initially; a non-object sets null; an object is kept but a non-callable one is not invoked', async (t) => {
    const { ws } = await openPair(t);
    for (const name of ['onopen', 'onmessage', 'onerror', 'onclose'] as const) {
      assert.equal(ws[name], null, name);
      const fn = () => {};
      ws[name] = fn;
      assert.equal(ws[name], fn, name);
      for (const value of ['alert(1)', 42, true, undefined]) {
        ws[name] = fn;
        (ws as unknown as Record<string, unknown>)[name] = value;
        assert.equal(ws[name], null, `${name} = ${String(value)}`);
      }
    }
    // [LegacyTreatNonObjectAsNull]: an object is stored; not being callable, it is never called.
    let called = false;
    const object = { handleEvent: () => (called = true) };
    (ws as unknown as { onmessage: unknown }).onmessage = object;
    assert.equal(ws.onmessage, object);
    ws.dispatchEvent(new Event('message'));
    assert.equal(called, false);
  });

  it('listeners run in registration order; the attribute takes its place when first set', async (t) => {
    const { ws } = await openPair(t);
    const calls: string[] = [];
    const fire = () => {
      calls.length = 0;
      ws.dispatchEvent(new Event('message'));
      return [...calls];
    };
    ws.addEventListener('message', () => calls.push('A'));
    ws.onmessage = () => calls.push('B');
    ws.addEventListener('message', () => calls.push('C'));
    assert.deepEqual(fire(), ['A', 'B', 'C']);
    // Replacing the handler keeps its place.
    ws.onmessage = () => calls.push('B2');
    assert.deepEqual(fire(), ['A', 'B2', 'C']);
    // null removes it; setting it again appends it at the end.
    ws.onmessage = null;
    assert.deepEqual(fire(), ['A', 'C']);
    ws.onmessage = () => calls.push('B3');
    assert.deepEqual(fire(), ['A', 'C', 'B3']);
    // A non-object removes it too.
    (ws as unknown as { onmessage: unknown }).onmessage = 'x';
    assert.deepEqual(fire(), ['A', 'C']);
  });

  it('handlers are called with the WebSocket as `this`, and the event targets it', async (t) => {
    const { ws, server } = await openPair(t);
    // (Not currentTarget: Node 20's EventTarget reports null there for the last listener.)
    const seen = new Promise<{ self: unknown; target: unknown }>((resolve) => {
      ws.onmessage = function (this: WebSocket, event: Event) {
        resolve({ self: this, target: event.target });
      };
    });
    server.send('x');
    const { self, target } = await seen;
    assert.equal(self, ws);
    assert.equal(target, ws);
  });
});

describe('WebSocket events: open and message (§4)', () => {
  it('open comes before a message the server sends at once, each a MessageEvent', async (t) => {
    const { wss, url } = await startServer(t);
    wss.on('connection', (server) => server.send('first'));
    const { ws, log } = whatwgClient(t, url);
    const message = await nextEvent<MessageEvent>(ws, 'message');
    assert.deepEqual(types(log), ['open', 'message']);
    assert.ok(message instanceof MessageEvent);
    assert.equal(message.data, 'first');
  });

  it('text: data is a string (UTF-8 decoded, empty allowed); origin is the URL origin', async (t) => {
    const { ws, server, port } = await openPair(t, {}, [], {}, '/path?q=1');
    const got: MessageEvent[] = [];
    ws.onmessage = (event) => got.push(event as MessageEvent);
    server.send('héllo ✓ 🎉');
    server.send('');
    await until(() => got.length === 2, 'two messages');
    assert.deepEqual(
      got.map((event) => event.data),
      ['héllo ✓ 🎉', ''],
    );
    for (const event of got) {
      assert.equal(event.origin, `ws://127.0.0.1:${port}`);
      assert.equal(event.lastEventId, '');
      assert.equal(event.source, null);
      assert.deepEqual(event.ports, []);
      assert.equal(event.type, 'message');
      assert.equal(event.bubbles, false);
      assert.equal(event.cancelable, false);
    }
  });

  it("origin for an http: URL is the ws: origin (the URL record's)", async (t) => {
    const { wss, port } = await startServer(t);
    wss.on('connection', (server) => server.send('x'));
    const { ws } = whatwgClient(t, `http://127.0.0.1:${port}/`);
    const event = await nextEvent<MessageEvent>(ws, 'message');
    assert.equal(event.origin, `ws://127.0.0.1:${port}`);
  });

  it("binary with binaryType 'blob' (the default): a Blob holding the bytes", async (t) => {
    const { ws, server } = await openPair(t);
    const got: MessageEvent[] = [];
    ws.onmessage = (event) => got.push(event as MessageEvent);
    server.send(Buffer.from([0, 1, 2, 253, 254, 255]));
    server.send(Buffer.alloc(0));
    await until(() => got.length === 2, 'two messages');
    assert.ok(got[0]!.data instanceof Blob);
    assert.equal(got[0]!.data.size, 6);
    assert.equal(got[0]!.data.type, '');
    assert.deepEqual(await bytesOf(got[0]!.data), Buffer.from([0, 1, 2, 253, 254, 255]));
    assert.ok(got[1]!.data instanceof Blob);
    assert.equal(got[1]!.data.size, 0);
  });

  it("binary with binaryType 'arraybuffer': an ArrayBuffer holding exactly the bytes", async (t) => {
    const { ws, server } = await openPair(t);
    ws.binaryType = 'arraybuffer';
    const event = nextEvent<MessageEvent>(ws, 'message');
    const payload = Buffer.alloc(70_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    server.send(payload);
    const { data } = await event;
    assert.ok(data instanceof ArrayBuffer);
    assert.equal(data.byteLength, payload.length);
    assert.deepEqual(Buffer.from(data), payload);
  });

  it('§4 step 2: binaryType is read when the event is dispatched, not when the data arrived', async (t) => {
    const { ws, server } = await openPair(t);
    const got: unknown[] = [];
    ws.onmessage = (event) => {
      got.push((event as MessageEvent).data);
      // Both messages were received together; the second is dispatched after this change.
      ws.binaryType = ws.binaryType === 'blob' ? 'arraybuffer' : 'blob';
    };
    server.send(Buffer.from('one'));
    server.send(Buffer.from('two'));
    server.send(Buffer.from('three'));
    await until(() => got.length === 3, 'three messages');
    assert.ok(got[0] instanceof Blob, 'first: blob');
    assert.ok(got[1] instanceof ArrayBuffer, 'second: arraybuffer');
    assert.ok(got[2] instanceof Blob, 'third: blob again');
    assert.deepEqual(await Promise.all(got.map(async (data) => (await bytesOf(data)).toString())), [
      'one',
      'two',
      'three',
    ]);
  });

  it('each event is its own task: a microtask queued in one message handler runs before the next message', async (t) => {
    const { ws, server } = await openPair(t);
    const order: string[] = [];
    ws.onmessage = (event) => {
      const data = (event as MessageEvent).data as string;
      order.push(data);
      queueMicrotask(() => order.push(`microtask after ${data}`));
      Promise.resolve().then(() => order.push(`then after ${data}`));
    };
    server.send('a');
    server.send('b');
    server.send('c');
    await until(() => order.length === 9, 'three messages and their microtasks');
    assert.deepEqual(order, [
      'a',
      'microtask after a',
      'then after a',
      'b',
      'microtask after b',
      'then after b',
      'c',
      'microtask after c',
      'then after c',
    ]);
  });

  it('§4 step 1: messages received after close() was called are not dispatched', async (t) => {
    const { ws, server, log, closed } = await openPair(t);
    ws.onmessage = (event) => {
      if ((event as MessageEvent).data === 'first') ws.close(1000);
    };
    server.send('first');
    server.send('second');
    server.send('third');
    await closed();
    const data = log.filter((e) => e.type === 'message').map((e) => (e.event as MessageEvent).data);
    assert.deepEqual(data, ['first']);
    assert.deepEqual(types(log), ['open', 'message', 'close']);
  });
});

describe('WebSocket events: close and error (§4 "the WebSocket connection is closed")', () => {
  it('clean close started by the client: code and non-ASCII reason reach the server and the close event', async (t) => {
    const { ws, server, log, closed } = await openPair(t);
    const serverClose = nextClose(server);
    ws.close(3001, 'ça va ✓ 🎉');
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const { code, reason } = await serverClose;
    assert.deepEqual({ code, reason }, { code: 3001, reason: 'ça va ✓ 🎉' });
    const event = await closed();
    assert.ok(event instanceof CloseEvent);
    assert.ok(event instanceof Event);
    assert.equal(event.type, 'close');
    assert.equal(event.wasClean, true);
    // The code and reason of the close frame received: tsws's server echoes them.
    assert.equal(event.code, 3001);
    assert.equal(event.reason, 'ça va ✓ 🎉');
    assert.deepEqual(types(log), ['open', 'close']);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('clean close started by the client without a code: 1005 on both sides', async (t) => {
    const { ws, server, closed } = await openPair(t);
    const serverClose = nextClose(server);
    ws.close();
    assert.deepEqual(await serverClose, { code: 1005, reason: '', raw: Buffer.alloc(0) });
    const event = await closed();
    assert.deepEqual([event.wasClean, event.code, event.reason], [true, 1005, '']);
  });

  it('clean close started by the server, with a code and a non-ASCII reason', async (t) => {
    const { ws, server, log, closed } = await openPair(t);
    server.close(4000, 'über ✓');
    const event = await closed();
    assert.deepEqual([event.wasClean, event.code, event.reason], [true, 4000, 'über ✓']);
    assert.deepEqual(types(log), ['open', 'close']);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('clean close started by the server without a code: 1005', async (t) => {
    const { server, log, closed } = await openPair(t);
    server.close();
    const event = await closed();
    assert.deepEqual([event.wasClean, event.code, event.reason], [true, 1005, '']);
    assert.deepEqual(types(log), ['open', 'close']);
  });

  it('server terminates TCP: close 1006, not clean, and no error event (the connection was not failed)', async (t) => {
    const { server, log, closed } = await openPair(t);
    server.terminate();
    const event = await closed();
    assert.deepEqual([event.wasClean, event.code, event.reason], [false, 1006, '']);
    assert.deepEqual(types(log), ['open', 'close']);
  });

  it('refused upgrade: the connection fails: error, then close 1006; never open', async (t) => {
    const { url } = await startServer(t, { verifyClient: () => false });
    const { ws, log, closed } = whatwgClient(t, url);
    const event = await closed();
    assert.deepEqual(types(log), ['error', 'close']);
    assert.equal(log[0]!.event.constructor, Event, 'error is a plain Event');
    assert.deepEqual([event.wasClean, event.code, event.reason], [false, 1006, '']);
    assert.equal(ws.readyState, WebSocket.CLOSED);
    assert.equal(ws.protocol, '');
  });

  it('a connection refused at TCP level fails the same way (no way to tell the cases apart)', async (t) => {
    const { wss, url } = await startServer(t);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    const { log, closed } = whatwgClient(t, url);
    const event = await closed();
    assert.deepEqual(types(log), ['error', 'close']);
    assert.deepEqual([event.wasClean, event.code, event.reason], [false, 1006, '']);
  });

  for (const bad of [
    { name: 'a reserved opcode', frame: { opcode: 0x3, payload: 'x' }, code: 1002 },
    {
      name: 'a masked frame from the server',
      frame: { opcode: OP_TEXT, payload: 'x', mask: true },
      code: 1002,
    },
    {
      name: 'text that is not UTF-8',
      frame: { opcode: OP_TEXT, payload: Buffer.from([0xff, 0xfe]) },
      code: 1007,
    },
    { name: 'a fragmented ping', frame: { opcode: 0x9, payload: 'p', fin: false }, code: 1002 },
  ]) {
    it(`invalid frame from the server (${bad.name}): tsws sends close ${bad.code}; error then close 1006`, async (t) => {
      let sent: { opcode: number; payload: Buffer } | undefined;
      const { url, done } = await scriptedServer(t, async (peer) => {
        peer.send({ mask: false, ...bad.frame });
        sent = await peer.nextFrame();
        peer.socket.end();
      });
      const { ws, log, closed } = whatwgClient(t, url);
      const event = await closed();
      await done;
      assert.equal(sent?.opcode, OP_CLOSE, 'tsws sent a close frame');
      assert.equal(sent!.payload.readUInt16BE(0), bad.code);
      assert.deepEqual(types(log), ['open', 'error', 'close']);
      assert.deepEqual([event.wasClean, event.code], [false, 1006]);
      assert.equal(ws.readyState, WebSocket.CLOSED);
    });
  }

  it('close() step 3 (not yet established): close() while CONNECTING fails the connection: CLOSING at once, then error and close 1006', async (t) => {
    const { url } = await startServer(t);
    const { ws, log, closed } = whatwgClient(t, url);
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const event = await closed();
    assert.deepEqual(types(log), ['error', 'close']);
    assert.deepEqual([event.wasClean, event.code, event.reason], [false, 1006, '']);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('close(code, reason) while CONNECTING sends nothing and fails the same way', async (t) => {
    const { wss, url } = await startServer(t);
    const { ws, log, closed } = whatwgClient(t, url);
    ws.close(3000, 'bye');
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const event = await closed();
    assert.deepEqual(types(log), ['error', 'close']);
    assert.equal(event.code, 1006);
    await turns(3);
    assert.equal(wss.clients?.size ?? 0, 0);
  });

  it('§4: once the server starts the closing handshake, readyState becomes CLOSING before the close event', async (t) => {
    let echoed: { opcode: number; payload: Buffer } | undefined;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { url, done } = await scriptedServer(t, async (peer) => {
      peer.send({ opcode: OP_CLOSE, payload: closePayload(1000, 'bye'), mask: false });
      echoed = await peer.nextFrame();
      // Hold TCP open until the test has looked at readyState.
      await released;
      peer.socket.end();
    });
    const { ws, log, closed } = whatwgClient(t, url);
    await nextEvent(ws, 'open');
    try {
      await until(() => echoed !== undefined, 'the echo of the close frame');
      await until(() => ws.readyState !== WebSocket.OPEN, 'readyState to leave OPEN', 1000);
      assert.equal(ws.readyState, WebSocket.CLOSING);
      assert.deepEqual(types(log), ['open'], 'no close event yet: TCP is still open');
    } finally {
      release();
    }
    const event = await closed();
    await done;
    assert.equal(echoed!.opcode, OP_CLOSE);
    assert.deepEqual([event.wasClean, event.code, event.reason], [true, 1000, 'bye']);
  });

  it('the close event is not fired twice, and close() after it is a no-op', async (t) => {
    const { ws, server, log, closed } = await openPair(t);
    server.close(1000);
    await closed();
    ws.close();
    ws.close(1000, 'again');
    await turns(5);
    assert.deepEqual(types(log), ['open', 'close']);
  });
});

describe('WebSocket events: messages and binary frames from a raw server', () => {
  it('a fragmented message is delivered once, whole', async (t) => {
    const { url } = await scriptedServer(t, async (peer) => {
      peer.send({ opcode: OP_BINARY, payload: 'ab', fin: false, mask: false });
      peer.send({ opcode: 0x0, payload: 'cd', fin: false, mask: false });
      peer.send({ opcode: 0x0, payload: 'ef', fin: true, mask: false });
      await peer.closed;
    });
    const { ws } = whatwgClient(t, url);
    ws.binaryType = 'arraybuffer';
    const event = await nextEvent<MessageEvent>(ws, 'message');
    assert.equal(Buffer.from(event.data as ArrayBuffer).toString(), 'abcdef');
  });

  it('open, then each message, then close: the order of the frames on the wire', async (t) => {
    const { url } = await scriptedServer(t, async (peer) => {
      peer.send({ opcode: OP_TEXT, payload: 'm1', mask: false });
      peer.send({ opcode: OP_TEXT, payload: 'm2', mask: false });
      peer.send({ opcode: OP_CLOSE, payload: closePayload(1000), mask: false });
      await peer.nextFrame();
      peer.socket.end();
    });
    const { log, closed } = whatwgClient(t, url);
    await closed();
    assert.deepEqual(types(log), ['open', 'message', 'message', 'close']);
    assert.deepEqual(
      log.filter((e) => e.type === 'message').map((e) => (e.event as MessageEvent).data),
      ['m1', 'm2'],
    );
  });

  it('a server that closes without ever sending frames after the handshake: close 1006', async (t) => {
    const { url } = await scriptedServer(t, async (peer) => {
      peer.socket.end();
    });
    const { log, closed } = whatwgClient(t, url);
    const event = await closed();
    assert.deepEqual(types(log), ['open', 'close']);
    assert.deepEqual([event.wasClean, event.code], [false, 1006]);
  });

  it('a ping from the server is answered with a pong and fires no event', async (t) => {
    let pong: { opcode: number; payload: Buffer } | undefined;
    const { url, done } = await scriptedServer(t, async (peer) => {
      peer.send({ opcode: 0x9, payload: 'are you there', mask: false });
      pong = await peer.nextFrame();
      peer.send({ opcode: OP_TEXT, payload: 'after', mask: false });
    });
    const { ws, log } = whatwgClient(t, url);
    await nextEvent(ws, 'message');
    await done;
    assert.equal(pong?.opcode, 0xa);
    assert.equal(pong!.payload.toString(), 'are you there');
    assert.deepEqual(types(log), ['open', 'message']);
  });
});

describe('WebSocket events: the server side sees a well-behaved client', () => {
  it('the close frame tsws sends for close(code, reason) carries them, masked', async (t) => {
    let frame: { opcode: number; payload: Buffer; masked: boolean } | undefined;
    const { url, done } = await scriptedServer(t, async (peer) => {
      frame = await peer.nextFrame();
      peer.send({ opcode: OP_CLOSE, payload: frame.payload, mask: false });
      peer.socket.end();
    });
    const { ws, closed } = whatwgClient(t, url);
    await nextEvent(ws, 'open');
    ws.close(4001, 'done');
    await closed();
    await done;
    assert.equal(frame?.opcode, OP_CLOSE);
    assert.equal(frame!.masked, true);
    assert.deepEqual(frame!.payload, closePayload(4001, 'done'));
  });

  it('close() without arguments sends a close frame without a body', async (t) => {
    let frame: { opcode: number; payload: Buffer } | undefined;
    const { url, done } = await scriptedServer(t, async (peer) => {
      frame = await peer.nextFrame();
      peer.send({ opcode: OP_CLOSE, payload: frame.payload, mask: false });
      peer.socket.end();
    });
    const { ws, closed } = whatwgClient(t, url);
    await nextEvent(ws, 'open');
    ws.close();
    await closed();
    await done;
    assert.equal(frame?.opcode, OP_CLOSE);
    assert.equal(frame!.payload.length, 0);
  });

  it('the server-side ws sees the close code the page gave', async (t) => {
    const { ws, server } = await openPair(t);
    const serverClose = next<[number, Buffer]>(server, 'close');
    ws.close(1000, 'page done');
    const [code, reason] = await serverClose;
    assert.equal(code, 1000);
    assert.equal(reason.toString(), 'page done');
  });
});
