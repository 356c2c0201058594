import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { WebSocket as WsWebSocket, WebSocketServer as WsWebSocketServer } from 'ws';
import { type PeerError, WebSocket } from '../../src/index.js';
import { closePayload, type DecodedFrame, encodeFrame } from '../helpers/frames.js';
import {
  acceptKey,
  FrameReader,
  rawPair,
  rawServer,
  readHead,
  requestHeader,
} from '../helpers/node-raw.js';
import {
  client,
  connectPair,
  defer,
  next,
  nextClose,
  record,
  startServer,
  within,
} from '../helpers/node-util.js';

/** Waits a little to show that nothing happens (an absence cannot be awaited as an event). */
const quietPeriod = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('ping and pong', () => {
  it('ping(data) reaches the peer as a ping event and comes back as a pong, both ways', async (t) => {
    const { server, client } = await connectPair(t);
    const serverPing = next<[Buffer]>(server, 'ping');
    const clientPong = next<[Buffer]>(client, 'pong');
    client.ping('hello');
    assert.equal((await serverPing)[0].toString(), 'hello');
    assert.equal((await clientPong)[0].toString(), 'hello');

    const clientPing = next<[Buffer]>(client, 'ping');
    const serverPong = next<[Buffer]>(server, 'pong');
    server.ping(Buffer.from([1, 2, 3]));
    assert.deepEqual((await clientPing)[0], Buffer.from([1, 2, 3]));
    assert.deepEqual((await serverPong)[0], Buffer.from([1, 2, 3]));

    const empty = next<[Buffer]>(client, 'pong');
    client.ping();
    assert.equal((await empty)[0].length, 0);
  });

  it('the automatic pong is on the wire with the ping payload', async (t) => {
    const { peer } = await rawPair(t);
    peer.send({ opcode: 0x9, payload: 'are you there', mask: true });
    const frame = await peer.nextFrame();
    assert.equal(frame.opcode, 0xa);
    assert.equal(frame.payload.toString(), 'are you there');
  });

  it('autoPong: false emits ping without answering; pong() answers by hand', async (t) => {
    const { server, peer } = await rawPair(t, { autoPong: false });
    const ping = next<[Buffer]>(server, 'ping');
    peer.send({ opcode: 0x9, payload: 'p1', mask: true });
    assert.equal((await ping)[0].toString(), 'p1');
    await quietPeriod();
    assert.equal(peer.pending, 0, 'no automatic pong');
    server.pong('by hand');
    const frame = await peer.nextFrame();
    assert.deepEqual([frame.opcode, frame.payload.toString()], [0xa, 'by hand']);
  });

  it('autoPong: false on a client, between tsws peers', async (t) => {
    const { server, client } = await connectPair(t, {}, { autoPong: false });
    const pongs = record(server, ['pong']);
    const ping = next(client, 'ping');
    server.ping('x');
    await ping;
    await quietPeriod();
    assert.equal(pongs.length, 0);
  });

  it('a ping or pong payload over 125 bytes throws; 125 bytes is fine', async (t) => {
    const { server, client } = await connectPair(t);
    assert.throws(() => client.ping(Buffer.alloc(126)));
    assert.throws(() => client.pong('x'.repeat(126)));
    assert.throws(() => server.ping(Buffer.alloc(200)));
    const got = next<[Buffer]>(server, 'ping');
    client.ping(Buffer.alloc(125, 1));
    assert.equal((await got)[0].length, 125);
  });

  it('ping() while CONNECTING throws', async (t) => {
    const { url } = await startServer(t);
    const ws = client(t, url);
    assert.throws(() => ws.ping(), /CONNECTING/);
    await next(ws, 'open');
  });

  it('ping callbacks are called; after close they get an error', async (t) => {
    const { client } = await connectPair(t);
    const ok = await within(new Promise((resolve) => client.ping('a', resolve)), 'ping callback');
    assert.ok(ok === null || ok === undefined);
    const viaMask = await within(
      new Promise((resolve) => client.ping('a', true, resolve)),
      'ping callback after the mask argument',
    );
    assert.ok(viaMask === null || viaMask === undefined);
    client.close();
    const late = await within(new Promise((resolve) => client.ping('b', resolve)), 'callback');
    assert.ok(late instanceof Error);
  });

  it('rtt is set after a pong', async (t) => {
    const { client, server } = await connectPair(t);
    assert.equal(client.rtt, undefined);
    const pong = next(client, 'pong');
    client.ping();
    await pong;
    assert.equal(typeof client.rtt, 'number');
    assert.ok(client.rtt! >= 0 && client.rtt! < 5000);
    assert.equal(server.rtt, undefined);
  });

  it('an unsolicited pong is emitted and leaves rtt unset', async (t) => {
    const { server, client } = await connectPair(t);
    const pong = next<[Buffer]>(client, 'pong');
    server.pong('unsolicited');
    assert.equal((await pong)[0].toString(), 'unsolicited');
    assert.equal(client.rtt, undefined);
  });
});

describe('close()', () => {
  it('close(code, reason) reaches the peer with that code and reason, as a Buffer', async (t) => {
    const { server, client } = await connectPair(t);
    const atServer = nextClose(server);
    const atClient = nextClose(client);
    client.close(4000, 'bye now');
    const s = await atServer;
    assert.equal(s.code, 4000);
    assert.ok(Buffer.isBuffer(s.raw));
    assert.equal(s.reason, 'bye now');
    const c = await atClient;
    assert.deepEqual([c.code, c.reason], [4000, 'bye now'], 'the echo carries code and reason');
    assert.equal(client.readyState, WebSocket.CLOSED);
    assert.equal(server.readyState, WebSocket.CLOSED);
  });

  it('the server side can close too, with a Buffer reason', async (t) => {
    const { server, client } = await connectPair(t);
    const atClient = nextClose(client);
    const atServer = nextClose(server);
    server.close(1000, Buffer.from('done'));
    assert.equal(server.readyState, WebSocket.CLOSING);
    const c = await atClient;
    assert.deepEqual([c.code, c.reason], [1000, 'done']);
    assert.equal((await atServer).code, 1000);
  });

  it('the initiator reports the reason echoed by a ws peer', async (t) => {
    const wss = new WsWebSocketServer({ port: 0, host: '127.0.0.1' });
    defer(t, () => new Promise((resolve) => wss.close(resolve)));
    await next(wss, 'listening');
    const { port } = wss.address() as { port: number };
    const ws = client(t, `ws://127.0.0.1:${port}`);
    await next(ws, 'open');
    const closed = nextClose(ws);
    ws.close(4001, 'see you');
    const c = await closed;
    assert.deepEqual([c.code, c.reason], [4001, 'see you']);
  });

  it('messages sent just before close() arrive before the close', async (t) => {
    const { wss, url } = await startServer(t);
    wss.on('connection', (ws) => {
      ws.send('first');
      ws.send(Buffer.from('second'));
      ws.close(1000, 'bye');
    });
    const ws = client(t, url);
    const log = record(ws, ['open', 'message', 'close']);
    await nextClose(ws);
    assert.deepEqual(
      log.map((e) => e.name),
      ['open', 'message', 'message', 'close'],
    );
    assert.equal(String(log[1]!.args[0]), 'first');
    assert.equal(String(log[2]!.args[0]), 'second');
    assert.deepEqual([log[3]!.args[0], String(log[3]!.args[1])], [1000, 'bye']);
  });

  it('close() without a code is reported as 1005 on both sides', async (t) => {
    const { server, client } = await connectPair(t);
    const atServer = nextClose(server);
    const atClient = nextClose(client);
    client.close();
    const s = await atServer;
    assert.deepEqual([s.code, s.reason], [1005, '']);
    assert.equal((await atClient).code, 1005);
  });

  it('a reason without a code is not sent (as in ws)', async (t) => {
    const { server, client } = await connectPair(t);
    const atServer = nextClose(server);
    client.close(undefined, '');
    assert.equal((await atServer).code, 1005);
  });

  it('throws for codes that may not be sent and reasons over 123 bytes; stays open', async (t) => {
    const { server, client } = await connectPair(t);
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5, Number.NaN]) {
      assert.throws(() => client.close(code), `code ${code}`);
    }
    assert.throws(() => client.close(1000, 'x'.repeat(124)));
    assert.throws(() => client.close(1000, 'é'.repeat(62)), '124 bytes in 62 characters');
    assert.equal(client.readyState, WebSocket.OPEN);
    const got = next<[Buffer]>(server, 'message');
    client.send('still open');
    assert.equal((await got)[0].toString(), 'still open');
    const atServer = nextClose(server);
    client.close(3000, 'y'.repeat(123));
    const s = await atServer;
    assert.deepEqual([s.code, s.reason.length], [3000, 123]);
  });

  it('close() twice and close() after terminate() do nothing more', async (t) => {
    const { server, client } = await connectPair(t);
    const atServer = nextClose(server);
    const atClient = nextClose(client);
    client.close(1000);
    assert.doesNotThrow(() => client.close(4000));
    assert.equal((await atServer).code, 1000);
    assert.equal((await atClient).code, 1000);
    assert.doesNotThrow(() => client.close());
    assert.doesNotThrow(() => client.terminate());
  });

  it('terminate() is reported as 1006 on both sides', async (t) => {
    const { server, client } = await connectPair(t);
    const atServer = nextClose(server);
    const atClient = nextClose(client);
    client.terminate();
    assert.equal(client.readyState, WebSocket.CLOSING);
    assert.equal((await atClient).code, 1006);
    assert.equal((await atServer).code, 1006);
  });

  it('a TCP drop by the peer is reported as 1006', async (t) => {
    const { server, peer } = await rawPair(t);
    const closed = nextClose(server);
    peer.socket.destroy();
    assert.deepEqual(await closed, { code: 1006, reason: '', raw: Buffer.alloc(0) });
  });

  it('a peer that ends TCP without a close frame is 1006', async (t) => {
    const { server, peer } = await rawPair(t);
    const closed = nextClose(server);
    peer.socket.end();
    assert.equal((await closed).code, 1006);
    await within(peer.end, 'the server ends its side too');
  });

  it('answers a close frame with the same code, ends TCP, and reports code and reason', async (t) => {
    const { server, peer } = await rawPair(t);
    const closed = nextClose(server);
    peer.send({ opcode: 0x8, payload: closePayload(1000, 'done'), mask: true });
    const echo = await peer.nextFrame();
    assert.equal(echo.opcode, 0x8);
    assert.equal(echo.payload.readUInt16BE(0), 1000);
    await within(peer.end, 'the server ends TCP after the closing handshake');
    peer.socket.end();
    const c = await closed;
    assert.deepEqual([c.code, c.reason], [1000, 'done']);
  });

  it('the close timeout destroys a socket whose peer never answers the close frame', async (t) => {
    const { server, peer } = await rawPair(t, { closeTimeout: 100 });
    const started = Date.now();
    const closed = nextClose(server, 5000);
    server.close(1000, 'going');
    const frame = await peer.nextFrame();
    assert.deepEqual([frame.opcode, frame.payload.readUInt16BE(0)], [0x8, 1000]);
    assert.equal((await closed).code, 1006);
    assert.ok(Date.now() - started < 3000, 'destroyed soon after the 100 ms timeout');
    await within(peer.closed, 'the peer sees TCP close');
  });

  it('the client close timeout destroys TCP when the server never answers', async (t) => {
    const { port } = await rawServer(t, async (socket) => {
      const { head } = await readHead(socket);
      const key = requestHeader(head, 'sec-websocket-key') ?? '';
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
      );
      socket.resume();
    });
    const ws = client(t, `ws://127.0.0.1:${port}`, { closeTimeout: 100 });
    await next(ws, 'open');
    const closed = nextClose(ws);
    ws.close(1000);
    assert.equal((await closed).code, 1006);
  });
});

describe('peer faults', () => {
  /** A test: the peer writes `frames`; the server must fail the connection with `closeCode`. */
  function expectFault(
    frames: Buffer[],
    closeCode: number,
    errorCode: string,
    options: Parameters<typeof rawPair>[1] = {},
  ): (t: TestContext) => Promise<void> {
    return async (t) => {
      const { server, peer } = await rawPair(t, options);
      const log = record(server, ['error', 'close']);
      const closed = nextClose(server);
      for (const frame of frames) peer.socket.write(frame);
      const frame = await peer.nextFrame();
      assert.equal(frame.opcode, 0x8, 'a close frame is sent');
      assert.equal(frame.payload.readUInt16BE(0), closeCode);
      await within(peer.end, 'TCP ends after the close frame');
      assert.equal(peer.pending, 0);
      const c = await closed;
      assert.equal(c.code, closeCode);
      assert.deepEqual(
        log.map((e) => e.name),
        ['error', 'close'],
      );
      const error = log[0]!.args[0] as PeerError;
      assert.equal(error.closeCode, closeCode);
      assert.equal(error.code, errorCode);
    };
  }

  it(
    'an unmasked frame from a client: 1002 on the wire before TCP ends, and in close',
    expectFault([encodeFrame({ opcode: 0x1, payload: 'unmasked' })], 1002, 'WS_ERR_EXPECTED_MASK'),
  );

  it(
    'a reserved opcode: 1002',
    expectFault(
      [encodeFrame({ opcode: 0x3, payload: 'x', mask: true })],
      1002,
      'WS_ERR_INVALID_OPCODE',
    ),
  );

  it(
    'RSV1 without an extension: 1002',
    expectFault(
      [encodeFrame({ opcode: 0x1, payload: 'x', rsv1: true, mask: true })],
      1002,
      'WS_ERR_UNEXPECTED_RSV_1',
    ),
  );

  it(
    'a fragmented ping: 1002',
    expectFault(
      [encodeFrame({ opcode: 0x9, fin: false, mask: true })],
      1002,
      'WS_ERR_EXPECTED_FIN',
    ),
  );

  it(
    'a continuation without a first frame: 1002',
    expectFault(
      [encodeFrame({ opcode: 0x0, payload: 'x', mask: true })],
      1002,
      'WS_ERR_UNEXPECTED_CONTINUATION',
    ),
  );

  it(
    'a message over maxPayload: 1009',
    expectFault(
      [encodeFrame({ opcode: 0x2, payload: Buffer.alloc(101), mask: true })],
      1009,
      'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      {
        maxPayload: 100,
      },
    ),
  );

  it(
    'fragments adding up to more than maxPayload: 1009',
    expectFault(
      [
        encodeFrame({ opcode: 0x2, fin: false, payload: Buffer.alloc(60), mask: true }),
        encodeFrame({ opcode: 0x0, payload: Buffer.alloc(60), mask: true }),
      ],
      1009,
      'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      { maxPayload: 100 },
    ),
  );

  it(
    'invalid UTF-8 in a text message: 1007',
    expectFault(
      [encodeFrame({ opcode: 0x1, payload: Buffer.from([0x68, 0xc3, 0x28]), mask: true })],
      1007,
      'WS_ERR_INVALID_UTF8',
    ),
  );

  it(
    'invalid UTF-8 in a close reason: 1007',
    expectFault(
      [encodeFrame({ opcode: 0x8, payload: closePayload(1000, Buffer.from([0xff])), mask: true })],
      1007,
      'WS_ERR_INVALID_UTF8',
    ),
  );

  it(
    'a close frame with an invalid code: 1002',
    expectFault(
      [encodeFrame({ opcode: 0x8, payload: closePayload(1005), mask: true })],
      1002,
      'WS_ERR_INVALID_CLOSE_CODE',
    ),
  );

  it('without an error listener, a fault is still reported by close', async (t) => {
    const { server, peer } = await rawPair(t);
    const closed = nextClose(server);
    peer.send({ opcode: 0x1, payload: 'unmasked', mask: false });
    assert.equal((await closed).code, 1002);
  });

  it('maxPayload between tsws peers: the sender sees 1009 from the receiver', async (t) => {
    const { server, client } = await connectPair(t, { maxPayload: 10 });
    const atServer = nextClose(server);
    const atClient = nextClose(client);
    client.send(Buffer.alloc(10));
    const ok = await next<[Buffer]>(server, 'message');
    assert.equal(ok[0].length, 10);
    client.send(Buffer.alloc(11));
    assert.equal((await atServer).code, 1009);
    assert.equal((await atClient).code, 1009);
  });

  it('a client receiving a masked frame fails with 1002, sending a masked close frame', async (t) => {
    let closeFrame: Promise<DecodedFrame> | undefined;
    const { port } = await rawServer(t, async (socket) => {
      const { head, rest } = await readHead(socket);
      const key = requestHeader(head, 'sec-websocket-key') ?? '';
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
      );
      socket.write(encodeFrame({ opcode: 0x1, payload: 'masked', mask: true }));
      const reader = new FrameReader(socket, rest);
      closeFrame = reader.nextFrame().then((frame) => {
        socket.end();
        return frame;
      });
    });
    const ws = client(t, `ws://127.0.0.1:${port}`);
    const closed = nextClose(ws);
    await next(ws, 'open');
    assert.equal((await closed).code, 1002);
    const frame = await closeFrame!;
    assert.equal(frame.opcode, 0x8);
    assert.equal(frame.masked, true);
    assert.equal(frame.payload.readUInt16BE(0), 1002);
  });

  it('a ws client sees the code of a tsws fault', async (t) => {
    const { url } = await startServer(t, { maxPayload: 5 });
    const ws = new WsWebSocket(url);
    defer(t, () => ws.terminate());
    ws.on('error', () => {});
    await next(ws, 'open');
    const closed = next<[number, Buffer]>(ws, 'close');
    ws.send('too long');
    assert.equal((await closed)[0], 1009);
  });
});
