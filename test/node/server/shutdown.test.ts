import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import type { Lifetimes } from '../../../src/node/server/lifetimes.js';
import { rawConnect, rawUpgrade } from '../../helpers/node-raw.js';
import {
  client,
  messages,
  next,
  nextClose,
  record,
  startServer,
  within,
} from '../../helpers/node-util.js';

// The suite runs on both server paths (raw libuv handles, and http with TSWS_NO_FAST_PATH=1).

const KiB = 1024;
const SLOW = 30_000;

function closeServer(wss: WebSocketServer): Promise<Error | undefined> {
  return within(
    new Promise((resolve) => wss.close((error) => resolve(error))),
    'WebSocketServer.close()',
    SLOW,
  );
}

describe('graceful shutdown: server.close()', () => {
  it('closes every connection with 1001, waits for their close frames, then calls back; no new connection is accepted', async (t) => {
    const { wss, url } = await startServer(t);
    const peers: WebSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const connection = next<[WebSocket]>(wss, 'connection');
      const ws = client(t, url);
      await next(ws, 'open');
      await connection;
      peers.push(ws);
    }
    const log: string[] = [];
    for (const ws of wss.clients!) ws.on('close', (code) => log.push(`server side ${code}`));
    const peerCloses = peers.map((ws) => nextClose(ws, SLOW));
    const events = record(wss, ['close']);
    const error = await closeServer(wss);
    assert.equal(error, undefined);
    log.push('closed');
    assert.deepEqual(log, [...Array(3).fill('server side 1001'), 'closed']);
    assert.equal(events.length, 1, "the server's close event");
    for (const closed of await Promise.all(peerCloses)) assert.equal(closed.code, 1001);
    assert.equal(wss.clients!.size, 0);
    const late = new WebSocket(url);
    late.on('error', () => {});
    assert.equal((await nextClose(late)).code, 1006, 'the server no longer listens');
  });

  it('messages sent before close() are delivered first, to a slow reader, then the 1001', async (t) => {
    const { wss, url } = await startServer(t);
    const connection = next<[WebSocket]>(wss, 'connection');
    const ws = client(t, url);
    await next(ws, 'open');
    const [server] = await connection;
    // A slow reader: it takes one message per turn of the event loop, from a paused socket.
    ws.pause();
    ws.on('message', () => {
      ws.pause();
      setImmediate(() => ws.resume());
    });
    const count = 64;
    for (let i = 0; i < count; i++) {
      const data = Buffer.alloc(256 * KiB, i);
      data.writeUInt32BE(i, 0);
      server.send(data);
    }
    assert.ok(server.bufferedAmount > 0, 'a backlog waits');
    const got = messages(ws, count, SLOW);
    const closed = nextClose(ws, SLOW);
    const shutdown = closeServer(wss);
    ws.resume();
    assert.deepEqual(
      (await got).map((m) => m.data.readUInt32BE(0)),
      [...Array(count).keys()],
    );
    assert.equal((await closed).code, 1001);
    assert.equal(await shutdown, undefined);
  });

  it('a peer that does not answer the close is cut off after closeTimeout, and close() completes', async (t) => {
    const { wss, port } = await startServer(t, { closeTimeout: 100 });
    const connection = next<[WebSocket]>(wss, 'connection');
    const peer = await rawUpgrade(t, port);
    const [server] = await connection;
    const serverClosed = nextClose(server, SLOW);
    const shutdown = closeServer(wss);
    const frame = await peer.nextFrame();
    assert.equal(frame.opcode, 0x8);
    assert.equal(frame.payload.readUInt16BE(0), 1001);
    // The peer reads but never answers.
    assert.equal((await serverClosed).code, 1006);
    assert.equal(await shutdown, undefined);
    await within(peer.closed, 'TCP closed');
  });

  it('drops connections still sending their request head', async (t) => {
    const { wss, port } = await startServer(t, { handshakeTimeout: 120_000 });
    const partial = await rawConnect(t, port);
    partial.on('error', () => {});
    partial.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const closed = new Promise((resolve) => partial.once('close', resolve));
    assert.equal(await closeServer(wss), undefined);
    await within(closed, 'the half-sent handshake dropped');
  });
});

describe('maxLifetime', () => {
  it('closes a connection with 1001 once its lifetime is over', async (t) => {
    const { wss, url } = await startServer(t, { maxLifetime: 100, maxLifetimeJitter: 0.5 });
    const connection = next<[WebSocket]>(wss, 'connection');
    const ws = client(t, url);
    await next(ws, 'open');
    const [server] = await connection;
    const serverClosed = nextClose(server, SLOW);
    const { code, reason } = await nextClose(ws, SLOW);
    assert.deepEqual([code, reason], [1001, 'maximum connection lifetime']);
    assert.equal((await serverClosed).code, 1001);
  });

  it('spreads the deadlines of connections opened together (jitter)', async (t) => {
    const lifetime = 60_000;
    const { wss, url } = await startServer(t, { maxLifetime: lifetime, maxLifetimeJitter: 0.5 });
    for (let i = 0; i < 8; i++) {
      const ws = client(t, url);
      await next(ws, 'open');
    }
    const lifetimes = (wss as unknown as { _lifetimes: Lifetimes })._lifetimes;
    const deadlines = [...wss.clients!].map((ws) => lifetimes.deadline(ws)!);
    assert.equal(deadlines.length, 8);
    assert.ok(new Set(deadlines).size > 1, 'not all the same');
    const now = Date.now();
    for (const deadline of deadlines) {
      assert.ok(deadline - now <= lifetime && deadline - now >= lifetime * 0.5 - 5_000);
    }
  });

  it('refuses invalid values', () => {
    for (const options of [
      { maxLifetime: 0 },
      { maxLifetime: 1000, maxLifetimeJitter: -0.1 },
      { maxLifetime: 1000, maxLifetimeJitter: 1.5 },
    ]) {
      assert.throws(() => new WebSocketServer({ noServer: true, ...options }), TypeError);
    }
  });
});
