import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrameReader } from '../helpers/node-raw.js';
import { messages, next, startServer, turns, until, WAIT } from '../helpers/node-util.js';
import {
  nextEvent,
  openPair,
  rawWebSocketServer,
  sleep,
  types,
  WebSocket,
  whatwgClient,
} from '../helpers/whatwg-util.js';

const MiB = 1024 * 1024;

describe('WebSocket attributes: constants and readyState', () => {
  it('CONNECTING/OPEN/CLOSING/CLOSED are 0-3 on the constructor, the prototype and instances', () => {
    const expected = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
    for (const [name, value] of Object.entries(expected)) {
      assert.equal((WebSocket as unknown as Record<string, number>)[name], value, name);
      assert.equal((WebSocket.prototype as unknown as Record<string, number>)[name], value, name);
    }
  });

  it('the constants are read-only, enumerable, non-configurable (WebIDL §3.7.5 constants)', () => {
    for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) {
      for (const [where, object] of [
        ['constructor', WebSocket],
        ['prototype', WebSocket.prototype],
      ] as const) {
        const descriptor = Object.getOwnPropertyDescriptor(object, name);
        assert.ok(descriptor !== undefined, `${where}.${name} is an own property`);
        assert.deepEqual(
          {
            writable: descriptor.writable,
            enumerable: descriptor.enumerable,
            configurable: descriptor.configurable,
          },
          { writable: false, enumerable: true, configurable: false },
          `${where}.${name}`,
        );
      }
    }
  });

  it('readyState: CONNECTING, OPEN at open, CLOSING right after close(), CLOSED at close', async (t) => {
    const { url } = await startServer(t);
    const { ws, closed } = whatwgClient(t, url);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    const states: number[] = [];
    ws.onopen = () => {
      states.push(ws.readyState);
      ws.close();
      states.push(ws.readyState);
    };
    ws.onclose = () => states.push(ws.readyState);
    await closed();
    assert.deepEqual(states, [WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });
});

describe('WebSocket interface shape (WebIDL)', () => {
  it('constructor and operation lengths, accessors on the prototype, class string', async (t) => {
    assert.equal(WebSocket.name, 'WebSocket');
    assert.equal(WebSocket.length, 1);
    assert.equal(WebSocket.prototype.send.length, 1);
    assert.equal(WebSocket.prototype.close.length, 0);
    for (const name of ['url', 'readyState', 'bufferedAmount', 'extensions', 'protocol']) {
      const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name);
      assert.ok(descriptor?.get !== undefined, `${name} is an accessor on the prototype`);
      assert.equal(descriptor.set, undefined, `${name} is read-only`);
    }
    for (const name of ['binaryType', 'onopen', 'onmessage', 'onerror', 'onclose']) {
      const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name);
      assert.ok(descriptor?.get !== undefined && descriptor.set !== undefined, name);
    }
    const { url } = await startServer(t);
    const { ws } = whatwgClient(t, url);
    assert.equal(Object.prototype.toString.call(ws), '[object WebSocket]');
    assert.ok(ws instanceof EventTarget);
    assert.deepEqual(Object.keys(ws), [], 'no own enumerable state on instances');
    await nextEvent(ws, 'open');
  });
});

describe('WebSocket attributes: url, protocol, extensions', () => {
  it("protocol and extensions are '' until open, then the server's answer", async (t) => {
    const { wss, url } = await startServer(t);
    let answered: string[] = [];
    wss.on('headers', (lines: string[]) => {
      answered = [...lines];
    });
    const { ws } = whatwgClient(t, `${url}/p`, ['chat']);
    assert.equal(ws.protocol, '');
    assert.equal(ws.extensions, '');
    assert.equal(ws.url, `${url}/p`);
    const seen: string[] = [];
    ws.onopen = () => seen.push(ws.protocol, ws.extensions);
    await nextEvent(ws, 'open');
    const extensionLine = answered.find((line) => /^sec-websocket-extensions:/i.test(line));
    const extensions = extensionLine?.replace(/^[^:]*:\s*/, '') ?? '';
    assert.deepEqual(seen, ['chat', extensions]);
    assert.equal(ws.url, `${url}/p`);
  });

  it('protocol stays the negotiated one after close', async (t) => {
    const { ws, closed } = await openPair(t, {}, ['a', 'b']);
    ws.close();
    await closed();
    assert.equal(ws.protocol, 'a');
  });
});

describe('WebSocket attributes: binaryType', () => {
  it("defaults to 'blob'; 'arraybuffer' and 'blob' are accepted; other values are ignored (WebIDL enum)", async (t) => {
    const { url } = await startServer(t);
    const { ws } = whatwgClient(t, url);
    assert.equal(ws.binaryType, 'blob');
    ws.binaryType = 'arraybuffer';
    assert.equal(ws.binaryType, 'arraybuffer');
    for (const value of ['nodebuffer', 'fragments', 'Blob', 'ARRAYBUFFER', '', 'blob ']) {
      ws.binaryType = value as BinaryType;
      assert.equal(ws.binaryType, 'arraybuffer', JSON.stringify(value));
    }
    ws.binaryType = 'blob';
    assert.equal(ws.binaryType, 'blob');
    ws.binaryType = null as unknown as BinaryType;
    assert.equal(ws.binaryType, 'blob');
    await nextEvent(ws, 'open');
  });
});

describe('WebSocket attributes: bufferedAmount', () => {
  it('counts application bytes, not framing: UTF-8 bytes of strings, sizes of binary data; 0 once written', async (t) => {
    const { ws, server } = await openPair(t);
    assert.equal(ws.bufferedAmount, 0);
    const received = messages(server, 4);
    ws.send('héllo ✓'); // 10 bytes of UTF-8
    assert.equal(ws.bufferedAmount, 10);
    ws.send(new Uint8Array(1000));
    assert.equal(ws.bufferedAmount, 1010);
    ws.send(new ArrayBuffer(70_000));
    assert.equal(ws.bufferedAmount, 71_010);
    ws.send(new Blob([new Uint8Array(5)]));
    assert.equal(ws.bufferedAmount, 71_015);
    await received;
    await until(() => ws.bufferedAmount === 0, 'bufferedAmount to go back to 0');
  });

  it('grows while the peer does not read, and goes back down when it reads (raw server)', async (t) => {
    const count = 32;
    let peer!: FrameReader;
    const { url } = await rawWebSocketServer(t, (reader) => {
      peer = reader;
      reader.socket.pause();
    });
    const { ws } = whatwgClient(t, url);
    await nextEvent(ws, 'open');
    for (let i = 0; i < count; i++) ws.send(new Uint8Array(MiB).fill(i));
    // Nothing can have gone out during this task, and framing is not counted.
    assert.equal(ws.bufferedAmount, count * MiB);
    await turns(20);
    await sleep(100);
    // The kernel's buffers hold a few MiB at most; the rest waits in tsws.
    assert.ok(
      ws.bufferedAmount > 8 * MiB,
      `bufferedAmount should stay high while the peer does not read (${ws.bufferedAmount})`,
    );
    peer.socket.resume();
    // Each frame: 1 MiB of payload, 14 bytes of header (64-bit length, mask key).
    await until(() => peer.received >= count * (MiB + 14), 'all the bytes at the peer', WAIT * 2);
    assert.equal(peer.pending, count);
    await until(() => ws.bufferedAmount === 0, 'bufferedAmount to drain to 0');
  });

  it('grows while the server-side ws is paused, and goes back down when it resumes', async (t) => {
    // With tsws's own server: `pause()` on its side of the connection must stop reading TCP.
    const { ws, server } = await openPair(t);
    server.pause();
    const count = 32;
    for (let i = 0; i < count; i++) ws.send(new Uint8Array(MiB).fill(i));
    assert.equal(ws.bufferedAmount, count * MiB);
    await turns(20);
    await sleep(100);
    assert.ok(
      ws.bufferedAmount > 8 * MiB,
      `bufferedAmount should stay high while the server is paused (${ws.bufferedAmount}); ` +
        `the server holds ${(server as unknown as { _conn?: { receiveBufferedAmount: number } })._conn?.receiveBufferedAmount} bytes it read while paused`,
    );
    const received = messages(server, count, WAIT * 2);
    server.resume();
    const got = await received;
    assert.equal(got.length, count);
    assert.equal(got[31]!.data[0], 31);
    await until(() => ws.bufferedAmount === 0, 'bufferedAmount to drain to 0');
  });

  it('after close(), every send adds its byte length and nothing is sent (checked on the wire)', async (t) => {
    const frames: { opcode: number; payload: Buffer }[] = [];
    let peerDone!: Promise<void>;
    const { url } = await rawWebSocketServer(t, (peer: FrameReader) => {
      peerDone = (async () => {
        for (;;) {
          const frame = await peer.nextFrame();
          frames.push(frame);
          if (frame.opcode === 0x8) break;
        }
        // Echo the close frame and end TCP, as a server does.
        peer.send({ opcode: 0x8, payload: frames.at(-1)!.payload, mask: false });
        peer.socket.end();
        await peer.closed;
      })();
    });
    const { ws, closed } = whatwgClient(t, url);
    await nextEvent(ws, 'open');
    ws.close(1000);
    assert.equal(ws.bufferedAmount, 0);
    ws.send('héllo'); // 6 bytes of UTF-8
    assert.equal(ws.bufferedAmount, 6);
    ws.send(new Blob(['0123456789'])); // size 10
    assert.equal(ws.bufferedAmount, 16);
    ws.send(new ArrayBuffer(7));
    assert.equal(ws.bufferedAmount, 23);
    ws.send(new Uint16Array(3)); // 6 bytes
    assert.equal(ws.bufferedAmount, 29);
    ws.send(new DataView(new ArrayBuffer(8), 2, 4));
    assert.equal(ws.bufferedAmount, 33);
    const event = await closed();
    assert.equal(event.wasClean, true);
    assert.equal(ws.bufferedAmount, 33, 'the count does not reset when the connection closes');
    ws.send('€'); // 3 bytes
    assert.equal(ws.bufferedAmount, 36);
    await turns(5);
    assert.equal(ws.bufferedAmount, 36);
    await peerDone;
    assert.deepEqual(
      frames.map((frame) => frame.opcode),
      [0x8],
      'only the close frame went on the wire',
    );
  });

  it('sends made while the closing handshake was started by the server are counted and not sent', async (t) => {
    const { ws, server, closed, log } = await openPair(t);
    const serverMessages: unknown[] = [];
    server.on('message', (data) => serverMessages.push(data));
    const serverClose = next(server, 'close');
    server.close(1000);
    await closed();
    ws.send('abc');
    assert.equal(ws.bufferedAmount, 3);
    await serverClose;
    assert.deepEqual(serverMessages, []);
    assert.deepEqual(types(log), ['open', 'close']);
  });
});
