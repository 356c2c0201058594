import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type * as net from 'node:net';
import { describe, it } from 'node:test';
import type { WebSocket as NodeWebSocket } from '../../src/index.js';
import { WebSocketError, type WebSocketStreamOptions } from '../../src/whatwg/index.js';
import { closePayload } from '../helpers/frames.js';
import {
  defer,
  next,
  nextClose,
  startServer,
  turns,
  until,
  WAIT,
  within,
} from '../helpers/node-util.js';
import {
  echoServer,
  promiseState,
  rawWebSocketServer,
  rejectsDOMException,
  sleep,
  streamClient,
  throwsDOMException,
  WebSocketStream,
  watchUnhandledRejections,
} from '../helpers/whatwg-util.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The rejection reason of `promise` (which must reject within WAIT). */
async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  const result = await within(
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    what,
  );
  assert.ok(!result.ok, `${what} should reject`);
  return result.error;
}

/** Asserts a WebSocketError with the given closeCode and reason. */
function assertWebSocketError(error: unknown, closeCode: number | null, reason = ''): void {
  assert.ok(error instanceof WebSocketError, `a WebSocketError, got ${String(error)}`);
  assert.ok(error instanceof DOMException);
  assert.equal(error.name, 'WebSocketError');
  assert.equal(error.closeCode, closeCode);
  assert.equal(error.reason, reason);
}

/** A server whose side of the next connection is handed out, with the WebSocketStream open. */
async function openStream(
  t: Parameters<typeof streamClient>[0],
  options: WebSocketStreamOptions = {},
  serverOptions: Parameters<typeof startServer>[1] = {},
) {
  const { wss, url, port } = await startServer(t, serverOptions);
  const connection = next<[NodeWebSocket, IncomingMessage]>(wss, 'connection');
  const stream = streamClient(t, url, options);
  const [[server, req], info] = await Promise.all([connection, within(stream.opened, 'opened')]);
  return { stream, server, req, info, url, port, wss };
}

describe('WebSocketStream: construction', () => {
  it('url is the serialized URL record (http becomes ws)', async (t) => {
    const { port } = await startServer(t);
    const stream = streamClient(t, `http://127.0.0.1:${port}/x?y=1`);
    assert.equal(stream.url, `ws://127.0.0.1:${port}/x?y=1`);
    await within(stream.opened, 'opened');
  });

  it('invalid URLs, fragments, other schemes and bad protocols throw a SyntaxError', () => {
    for (const url of [
      'nope',
      '/relative',
      'ftp://127.0.0.1/',
      'ws://127.0.0.1:1/#',
      'ws://127.0.0.1:1/#f',
    ]) {
      throwsDOMException(() => new WebSocketStream(url), 'SyntaxError', url);
    }
    throwsDOMException(
      () => new WebSocketStream('ws://127.0.0.1:1/', { protocols: ['a', 'a'] }),
      'SyntaxError',
      'repeated protocol',
    );
    throwsDOMException(
      () => new WebSocketStream('ws://127.0.0.1:1/', { protocols: ['a b'] }),
      'SyntaxError',
      'invalid protocol',
    );
  });

  it('throws a TypeError when called with no argument (WebIDL: 1 argument required)', () => {
    assert.throws(() => Reflect.construct(WebSocketStream, []), TypeError);
  });

  it('opened resolves { readable, writable, protocol, extensions }; the request carries the protocols', async (t) => {
    const { info, req } = await openStream(t, { protocols: ['chat', 'superchat'] });
    assert.ok(info.readable instanceof ReadableStream);
    assert.ok(info.writable instanceof WritableStream);
    assert.equal(info.protocol, 'chat');
    assert.equal(typeof info.extensions, 'string');
    assert.equal(req.headers['sec-websocket-protocol'], 'chat, superchat');
  });

  it('§2 opening handshake: protocols requested but none selected fails: opened and closed reject', async (t) => {
    const { url } = await startServer(t, { handleProtocols: () => false });
    const stream = streamClient(t, url, { protocols: ['chat'] });
    assert.ok((await rejection(stream.opened, 'opened')) instanceof WebSocketError);
    assertWebSocketError(await rejection(stream.closed, 'closed'), 1006);
  });

  it('Node options pass through (headers)', async (t) => {
    const { req } = await openStream(t, { headers: { 'X-Stream': 'yes' } });
    assert.equal(req.headers['x-stream'], 'yes');
  });
});

describe('WebSocketStream: Node-only options', () => {
  it('`maxPayload`: a larger message fails the connection (the server sees 1009; read and closed reject, 1006)', async (t) => {
    const { stream, server, info } = await openStream(t, { maxPayload: 16 });
    const serverClose = nextClose(server);
    server.send('x'.repeat(16));
    server.send('x'.repeat(17));
    const reader = info.readable.getReader();
    assert.equal((await within(reader.read(), 'read')).value, 'x'.repeat(16));
    assertWebSocketError(await rejection(reader.read(), 'the next read'), 1006);
    assertWebSocketError(await rejection(stream.closed, 'closed'), 1006);
    assert.equal((await serverClose).code, 1009);
  });

  it('`handshakeTimeout`: a server that never answers: opened and closed reject', async (t) => {
    const { url, requests } = await rawWebSocketServer(t, () => {}, { silent: true });
    const stream = streamClient(t, url, { handshakeTimeout: 150 });
    await within(requests, 'the upgrade request');
    assert.ok((await rejection(stream.opened, 'opened')) instanceof WebSocketError);
    assertWebSocketError(await rejection(stream.closed, 'closed'), 1006);
  });

  it('`heartbeat`: the client pings; a server that stops answering is dropped (closed rejects, 1006)', async (t) => {
    const { server } = await openStream(t, { heartbeat: { interval: 20, maxMissed: 1000 } });
    assert.ok(Buffer.isBuffer((await next<[Buffer]>(server, 'ping'))[0]));
    const { url } = await rawWebSocketServer(t, (peer) => {
      peer.socket.resume();
    });
    const silent = streamClient(t, url, { heartbeat: { interval: 20, maxMissed: 2 } });
    await within(silent.opened, 'opened');
    assertWebSocketError(await rejection(silent.closed, 'closed'), 1006);
  });
});

describe('WebSocketStream: writing and reading', () => {
  it('strings go as text and come back as strings; buffers and views go as binary and come back as ArrayBuffers (as in Chromium)', async (t) => {
    const { url } = await echoServer(t);
    const stream = streamClient(t, url);
    const { readable, writable } = await within(stream.opened, 'opened');
    const writer = writable.getWriter();
    const reader = readable.getReader();
    const backing = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).buffer;
    const chunks = [
      'héllo ✓',
      '',
      new Uint8Array([1, 2, 3]).buffer,
      new Uint8Array(backing, 2, 3),
      new DataView(backing, 7, 2),
      new Uint16Array([0x0102, 0x0304]),
      Buffer.from('a buffer'),
    ];
    for (const chunk of chunks) await within(writer.write(chunk), 'write');
    const expected: (string | number[])[] = [
      'héllo ✓',
      '',
      [1, 2, 3],
      [2, 3, 4],
      [7, 8],
      [...new Uint8Array(new Uint16Array([0x0102, 0x0304]).buffer)],
      [...Buffer.from('a buffer')],
    ];
    for (const want of expected) {
      const { value, done } = await within(reader.read(), 'read');
      assert.equal(done, false);
      if (typeof want === 'string') {
        assert.equal(value, want);
      } else {
        assert.ok(value instanceof ArrayBuffer, `an ArrayBuffer, got ${String(value)}`);
        assert.deepEqual([...new Uint8Array(value)], want);
      }
    }
  });

  it('binary chunks read are ArrayBuffers of their own (not slices of a shared buffer)', async (t) => {
    const { server, info } = await openStream(t);
    const reader = info.readable.getReader();
    server.send(Buffer.from([1, 2, 3]));
    server.send(Buffer.from([4, 5]));
    const first = await within(reader.read(), 'read');
    const second = await within(reader.read(), 'read');
    for (const value of [first.value, second.value]) {
      assert.ok(value instanceof ArrayBuffer);
      assert.equal(Object.getPrototypeOf(value), ArrayBuffer.prototype);
    }
    assert.deepEqual([...new Uint8Array(first.value as ArrayBuffer)], [1, 2, 3]);
    assert.deepEqual([...new Uint8Array(second.value as ArrayBuffer)], [4, 5]);
  });

  it('write() copies the bytes: changing the buffer right after write() does not change what is sent', async (t) => {
    const { server, info } = await openStream(t);
    const got: Buffer[] = [];
    server.on('message', (data) => got.push(Buffer.from(data as Buffer)));
    const writer = info.writable.getWriter();
    const view = new Uint8Array([1, 2, 3, 4]);
    const first = writer.write(view);
    view.fill(0xee);
    await within(first, 'write');
    const buffer = new Uint8Array([5, 6, 7]).buffer;
    const second = writer.write(buffer);
    new Uint8Array(buffer).fill(0xee);
    await within(second, 'write');
    await until(() => got.length === 2, 'two messages at the server');
    assert.deepEqual(
      got.map((b) => [...b]),
      [
        [1, 2, 3, 4],
        [5, 6, 7],
      ],
    );
  });

  it('messages the server sent before closing are read before the end of the stream', async (t) => {
    const { server, info, stream } = await openStream(t);
    server.send('one');
    server.send(Buffer.from('two'));
    server.close(1000, 'done');
    const reader = info.readable.getReader();
    const first = await within(reader.read(), 'read');
    const second = await within(reader.read(), 'read');
    const end = await within(reader.read(), 'read');
    assert.equal(first.value, 'one');
    assert.deepEqual([...new Uint8Array(second.value as ArrayBuffer)], [...Buffer.from('two')]);
    assert.equal(end.done, true);
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 1000, reason: 'done' });
  });
});

describe('WebSocketStream: close(closeInfo)', () => {
  for (const [label, info, code, reason] of [
    ['close()', undefined, 1005, ''],
    ['close({})', {}, 1005, ''],
    ["close({ reason: '' })", { reason: '' }, 1005, ''],
    ['close({ closeCode: 3000 })', { closeCode: 3000 }, 3000, ''],
    [
      "close({ closeCode: 4000, reason: 'bye ✓' })",
      { closeCode: 4000, reason: 'bye ✓' },
      4000,
      'bye ✓',
    ],
    [
      "close({ reason: 'only' }): a reason without a code sends 1000",
      { reason: 'only' },
      1000,
      'only',
    ],
  ] as const) {
    it(`${label}: the server sees ${code}, and closed resolves { closeCode, reason }`, async (t) => {
      const { stream, server } = await openStream(t);
      const serverClose = nextClose(server);
      stream.close(info);
      const seen = await serverClose;
      assert.deepEqual({ code: seen.code, reason: seen.reason }, { code, reason });
      assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: code, reason });
    });
  }

  it('invalid codes throw an InvalidAccessError, out-of-range ones too once clamped (as in Chromium)', async (t) => {
    const { stream } = await openStream(t);
    for (const closeCode of [0, 999, 1001, 1005, 1006, 2999, 5000, 65535]) {
      throwsDOMException(
        () => stream.close({ closeCode }),
        'InvalidAccessError',
        `closeCode ${closeCode}`,
      );
    }
    // Clamped to 0-65535 and truncated (NaN is 0), then refused.
    for (const closeCode of [-1, 65536, NaN, Infinity, -Infinity, 2999.9, 999.99, 'abc']) {
      throwsDOMException(
        () => stream.close({ closeCode: closeCode as number }),
        'InvalidAccessError',
        `closeCode ${String(closeCode)}`,
      );
    }
    // A BigInt cannot become a number: a TypeError (WebIDL).
    assert.throws(() => stream.close({ closeCode: 4000n as unknown as number }), TypeError);
  });

  it('a fractional code is truncated (as Chromium does): 3000.9 closes with 3000', async (t) => {
    const { stream, server } = await openStream(t);
    const serverClose = nextClose(server);
    stream.close({ closeCode: 3000.9, reason: 'fraction' });
    const { code, reason } = await serverClose;
    assert.deepEqual({ code, reason }, { code: 3000, reason: 'fraction' });
  });

  it('a reason over 123 bytes of UTF-8 throws a SyntaxError; the code is checked first', async (t) => {
    const { stream } = await openStream(t);
    throwsDOMException(
      () => stream.close({ closeCode: 1000, reason: 'x'.repeat(124) }),
      'SyntaxError',
    );
    throwsDOMException(() => stream.close({ reason: 'é'.repeat(62) }), 'SyntaxError');
    throwsDOMException(
      () => stream.close({ closeCode: 1001, reason: 'x'.repeat(124) }),
      'InvalidAccessError',
    );
  });

  it('close(true) throws a TypeError (WebIDL: a dictionary must be an object)', async (t) => {
    const { stream } = await openStream(t);
    assert.throws(() => stream.close(true as never), TypeError);
  });

  it('close() twice: only the first counts', async (t) => {
    const { stream, server } = await openStream(t);
    const serverClose = nextClose(server);
    stream.close({ closeCode: 3001, reason: 'first' });
    stream.close({ closeCode: 3002, reason: 'second' });
    const { code, reason } = await serverClose;
    assert.deepEqual({ code, reason }, { code: 3001, reason: 'first' });
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 3001, reason: 'first' });
  });

  it('close() during the handshake: opened and closed reject with WebSocketErrors', async (t) => {
    const { url } = await startServer(t);
    const stream = streamClient(t, url);
    stream.close();
    const openedError = await rejection(stream.opened, 'opened');
    const closedError = await rejection(stream.closed, 'closed');
    assert.ok(openedError instanceof WebSocketError, String(openedError));
    assertWebSocketError(closedError, 1006);
  });
});

describe('WebSocketStream: closed', () => {
  it('resolves { closeCode, reason } on a clean close started by the server; readable ends, writable errors with InvalidStateError', async (t) => {
    const { stream, server, info } = await openStream(t);
    server.close(4001, 'sërver');
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 4001, reason: 'sërver' });
    const reader = info.readable.getReader();
    assert.deepEqual(await within(reader.read(), 'read'), { value: undefined, done: true });
    const writer = info.writable.getWriter();
    await rejectsDOMException(
      writer.write('late'),
      'InvalidStateError',
      'write after a clean close',
    );
    await rejectsDOMException(writer.closed, 'InvalidStateError', 'writer.closed');
  });

  it('after a clean close started by the client, the writable errors with InvalidStateError and the readable is closed', async (t) => {
    const { stream, info } = await openStream(t);
    stream.close({ closeCode: 1000 });
    await within(stream.closed, 'closed');
    const reader = info.readable.getReader();
    assert.equal((await within(reader.read(), 'read')).done, true);
    await rejectsDOMException(info.writable.getWriter().write('x'), 'InvalidStateError');
  });

  it('rejects with a WebSocketError (closeCode 1006) on an abrupt close; readable and writable error with it', async (t) => {
    const { stream, server, info } = await openStream(t);
    server.terminate();
    const error = await rejection(stream.closed, 'closed');
    assertWebSocketError(error, 1006, '');
    const reader = info.readable.getReader();
    assert.equal(await rejection(reader.read(), 'read'), error);
    const writer = info.writable.getWriter();
    assert.equal(await rejection(writer.write('x'), 'write'), error);
  });

  it('opened and closed reject with WebSocketErrors when the upgrade is refused', async (t) => {
    const { url } = await startServer(t, { verifyClient: () => false });
    const stream = streamClient(t, url);
    const openedError = await rejection(stream.opened, 'opened');
    const closedError = await rejection(stream.closed, 'closed');
    assert.ok(openedError instanceof WebSocketError, String(openedError));
    assert.equal((openedError as WebSocketError).name, 'WebSocketError');
    assertWebSocketError(closedError, 1006, '');
  });

  it('a failed connection (invalid frame from the server): closed rejects with closeCode 1006, tsws sent 1002', async (t) => {
    let sent: { opcode: number; payload: Buffer } | undefined;
    const { url } = await rawWebSocketServer(t, (peer) => {
      peer.send({ opcode: 0x3, payload: 'x', mask: false });
      peer
        .nextFrame()
        .then((frame) => {
          sent = frame;
          peer.socket.end();
        })
        .catch(() => {});
    });
    const stream = streamClient(t, url);
    await within(stream.opened, 'opened');
    assertWebSocketError(await rejection(stream.closed, 'closed'), 1006);
    await until(() => sent !== undefined, 'the close frame at the server');
    assert.equal(sent!.opcode, 0x8);
    assert.equal(sent!.payload.readUInt16BE(0), 1002);
  });

  it('a server close frame with a reason is reported exactly (clean close through a raw server)', async (t) => {
    const { url } = await rawWebSocketServer(t, (peer) => {
      peer.send({ opcode: 0x8, payload: closePayload(3999, 'raw ✓'), mask: false });
      peer
        .nextFrame()
        .then(() => peer.socket.end())
        .catch(() => {});
    });
    const stream = streamClient(t, url);
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 3999, reason: 'raw ✓' });
  });
});

describe('WebSocketStream: AbortSignal (constructor step "signal")', () => {
  it('an already aborted signal: opened and closed reject with an AbortError, whatever the reason (as in Chromium)', async (t) => {
    const { url } = await startServer(t);
    for (const signal of [
      AbortSignal.abort(),
      AbortSignal.abort(new Error('stop before starting')),
      AbortSignal.abort('a string'),
    ]) {
      const stream = streamClient(t, url, { signal });
      for (const [what, promise] of [
        ['opened', stream.opened],
        ['closed', stream.closed],
      ] as const) {
        const error = await rejection(promise, what);
        assert.ok(error instanceof DOMException, `${what}: a DOMException`);
        assert.equal(error.name, 'AbortError');
        assert.notEqual(error, signal.reason);
      }
    }
  });

  it('aborted during the handshake: both reject with an AbortError, and the connection is dropped', async (t) => {
    const { url, requests, sockets } = await rawWebSocketServer(t, () => {}, { silent: true });
    const controller = new AbortController();
    const stream = streamClient(t, url, { signal: controller.signal });
    await within(requests, 'the upgrade request');
    const dropped = within(
      new Promise((resolve) => sockets[0]!.once('close', resolve)),
      'the client to drop the TCP connection',
    );
    controller.abort({ why: 'changed my mind' });
    await rejectsDOMException(stream.opened, 'AbortError', 'opened');
    await rejectsDOMException(stream.closed, 'AbortError', 'closed');
    await dropped;
  });

  it('aborting after the connection is established does nothing', async (t) => {
    const controller = new AbortController();
    const { stream, server } = await openStream(t, { signal: controller.signal });
    controller.abort(new Error('too late'));
    await turns(3);
    const serverClose = nextClose(server);
    stream.close({ closeCode: 3000, reason: 'normal' });
    assert.equal((await serverClose).code, 3000);
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 3000, reason: 'normal' });
  });
});

describe('WebSocketStream: cancelling the readable, aborting or closing the writable', () => {
  it('reader.cancel(reason) closes the connection without a code (1005)', async (t) => {
    const { stream, server, info } = await openStream(t);
    const serverClose = nextClose(server);
    await within(info.readable.getReader().cancel(new Error('not interested')), 'cancel');
    assert.equal((await serverClose).code, 1005);
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 1005, reason: '' });
  });

  it("reader.cancel(WebSocketError) closes with the error's closeCode and reason", async (t) => {
    const { stream, server, info } = await openStream(t);
    const serverClose = nextClose(server);
    await within(
      info.readable
        .getReader()
        .cancel(new WebSocketError('bye', { closeCode: 3003, reason: 'cancelled' })),
      'cancel',
    );
    const { code, reason } = await serverClose;
    assert.deepEqual({ code, reason }, { code: 3003, reason: 'cancelled' });
    assert.deepEqual(await within(stream.closed, 'closed'), {
      closeCode: 3003,
      reason: 'cancelled',
    });
  });

  it("writer.abort(WebSocketError) closes with the error's closeCode and reason", async (t) => {
    const { stream, server, info } = await openStream(t);
    const serverClose = nextClose(server);
    await within(
      info.writable
        .getWriter()
        .abort(new WebSocketError('', { closeCode: 4000, reason: 'aborted' })),
      'abort',
    );
    const { code, reason } = await serverClose;
    assert.deepEqual({ code, reason }, { code: 4000, reason: 'aborted' });
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 4000, reason: 'aborted' });
  });

  it('writer.abort() with a plain object that looks like close info ignores it (1005)', async (t) => {
    const { server, info } = await openStream(t);
    const serverClose = nextClose(server);
    await within(info.writable.getWriter().abort({ closeCode: 3456, reason: 'set' }), 'abort');
    assert.equal((await serverClose).code, 1005);
  });

  it('a WebSocketError with only a reason closes with 1000 and that reason', async (t) => {
    const { server, info } = await openStream(t);
    const serverClose = nextClose(server);
    await within(
      info.readable.cancel(new WebSocketError('', { reason: 'just a reason' })),
      'cancel',
    );
    const { code, reason } = await serverClose;
    assert.deepEqual({ code, reason }, { code: 1000, reason: 'just a reason' });
  });

  it('closing the writable is a clean close without a code (1005)', async (t) => {
    const { stream, server, info } = await openStream(t);
    const serverClose = nextClose(server);
    await within(info.writable.getWriter().close(), 'writer.close()');
    assert.equal((await serverClose).code, 1005);
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 1005, reason: '' });
  });

  it('writer.close() resolves only once the closing handshake is done (WPT close.any.js)', async (t) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let closeFrame: Buffer | undefined;
    const { url } = await rawWebSocketServer(t, (peer) => {
      peer
        .nextFrame()
        .then(async (frame) => {
          closeFrame = frame.payload;
          await released;
          peer.send({ opcode: 0x8, payload: frame.payload, mask: false });
          peer.socket.end();
        })
        .catch(() => {});
    });
    const stream = streamClient(t, url);
    const { writable } = await within(stream.opened, 'opened');
    const closing = writable.getWriter().close();
    try {
      await until(() => closeFrame !== undefined, 'the close frame at the server');
      await turns(5);
      assert.equal(
        promiseState(closing),
        'pending',
        'the server has not answered the close frame yet',
      );
    } finally {
      release();
    }
    await within(closing, 'writer.close()');
    assert.deepEqual(await within(stream.closed, 'closed'), { closeCode: 1005, reason: '' });
  });
});

describe('WebSocketStream: backpressure', () => {
  it('a reader that does not read stops tsws reading TCP; reading everything later drains it in order', async (t) => {
    const count = 2000;
    const size = 64 * KiB;
    const total = count * size;
    // The server keeps everything the client does not take (no backpressure limit of its own).
    const { wss, url, port } = await startServer(t, { maxBackpressure: Infinity });
    // The client's TCP socket, to see how much it read.
    const clientSockets: net.Socket[] = [];
    const onSocket = (message: unknown) => {
      clientSockets.push((message as { socket: net.Socket }).socket);
    };
    diagnostics.subscribe('net.client.socket', onSocket);
    defer(t, () => diagnostics.unsubscribe('net.client.socket', onSocket));
    const connection = next<[NodeWebSocket]>(wss, 'connection');
    const stream = streamClient(t, url);
    const [[server], info] = await Promise.all([connection, within(stream.opened, 'opened')]);
    const clientSocket = clientSockets.find((socket) => socket.remotePort === port);
    assert.ok(clientSocket !== undefined, 'found the client socket');
    for (let i = 0; i < count; i++) {
      const message = Buffer.alloc(size, i & 0xff);
      message.writeUInt32BE(i, 0);
      server.send(message);
    }
    // Wait until the traffic settles: nothing moves once the buffers are full.
    let last = -1;
    await until(
      () => {
        const now = server.bufferedAmount;
        const settled = now === last;
        last = now;
        return settled;
      },
      'the server-side bufferedAmount to settle',
      WAIT * 2,
    );
    await sleep(200);
    const buffered = server.bufferedAmount;
    const read = clientSocket.bytesRead;
    assert.ok(
      buffered > total - 32 * MiB,
      `the server still holds most of the ${total} bytes (${buffered})`,
    );
    assert.ok(read < 32 * MiB, `the client read a bounded amount from TCP (${read})`);
    await sleep(100);
    assert.equal(server.bufferedAmount, buffered, 'no progress while nobody reads');
    assert.equal(clientSocket.bytesRead, read, 'tsws does not read from TCP while nobody reads');
    // Now read everything: all of it arrives, in order.
    const reader = info.readable.getReader();
    for (let i = 0; i < count; i++) {
      const { value, done } = await within(reader.read(), `message ${i}`);
      assert.equal(done, false);
      assert.ok(value instanceof ArrayBuffer);
      if (value.byteLength !== size) assert.fail(`message ${i}: ${value.byteLength} bytes`);
      const bytes = Buffer.from(value);
      const index = bytes.readUInt32BE(0);
      if (index !== i) assert.fail(`message ${i} arrived as #${index}`);
      if (bytes[size - 1] !== (i & 0xff)) assert.fail(`message ${i}: wrong content`);
    }
    await until(() => server.bufferedAmount === 0, 'the server to drain');
  });
});

describe('WebSocketStream: unobserved rejections', () => {
  it('rejections of opened/closed nobody observes never produce an unhandledRejection', async (t) => {
    const unhandled = watchUnhandledRejections(t);
    const streams: WebSocketStream[] = [];
    // 1. Refused upgrade.
    const refusing = await startServer(t, { verifyClient: () => false });
    streams.push(new WebSocketStream(refusing.url));
    // 2. An already aborted signal.
    streams.push(new WebSocketStream(refusing.url, { signal: AbortSignal.abort() }));
    // 3. Aborted during the handshake.
    const silent = await rawWebSocketServer(t, () => {}, { silent: true });
    const controller = new AbortController();
    streams.push(new WebSocketStream(silent.url, { signal: controller.signal }));
    // 4. close() during the handshake.
    const closing = new WebSocketStream(refusing.url.replace('ws:', 'http:'));
    closing.close();
    streams.push(closing);
    // 5. Open, then terminated by the server.
    const { wss, url } = await startServer(t);
    wss.on('connection', (ws) => setImmediate(() => ws.terminate()));
    const terminated = new WebSocketStream(url);
    streams.push(terminated);
    for (const stream of streams) {
      defer(t, () => {
        try {
          stream.close();
        } catch {}
      });
    }
    await within(silent.requests, 'the upgrade request');
    controller.abort();
    await until(
      () => streams.every((s) => promiseState(s.closed) !== 'pending'),
      'every closed promise to settle',
    );
    await turns(5);
    await sleep(20);
    assert.deepEqual(unhandled, []);
    assert.deepEqual(
      streams.map((s) => promiseState(s.closed)),
      ['rejected', 'rejected', 'rejected', 'rejected', 'rejected'],
    );
  });
});
