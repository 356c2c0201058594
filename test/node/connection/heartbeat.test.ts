import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { WebSocket as WsWebSocket } from 'ws';
import {
  DEFAULT_HEARTBEAT,
  FAST_HEARTBEAT,
  WebSocket,
  WebSocketServer,
} from '../../../src/index.js';
import { acceptKey, rawPair, rawServer, readHead, requestHeader } from '../../helpers/node-raw.js';
import {
  client,
  connectPair,
  defer,
  next,
  nextClose,
  record,
  startServer,
  within,
} from '../../helpers/node-util.js';

const beat = { interval: 50, maxMissed: 2 };

/** Resolves after `emitter` emitted `event` `n` times. */
function count(target: WebSocket | WsWebSocket, event: string, n: number): Promise<void> {
  const emitter = target as unknown as EventEmitter;
  return within(
    new Promise<void>((resolve) => {
      let seen = 0;
      const on = () => {
        if (++seen === n) {
          emitter.off(event, on);
          resolve();
        }
      };
      emitter.on(event, on);
    }),
    `${n} "${event}" events`,
  );
}

describe('heartbeat', () => {
  it('terminates a peer that never answers pings: close 1006, "heartbeat timeout"', async (t) => {
    const { server, peer } = await rawPair(t, { heartbeat: beat });
    const started = Date.now();
    const closed = await nextClose(server, 5000);
    assert.deepEqual([closed.code, closed.reason], [1006, 'heartbeat timeout']);
    assert.ok(Date.now() - started < 4000, 'terminated within a few intervals');
    await within(peer.closed, 'the peer sees TCP close');
    const pings = [];
    while (peer.pending > 0) pings.push(await peer.nextFrame());
    assert.ok(pings.length >= 1, 'the peer was pinged first');
    for (const frame of pings) assert.equal(frame.opcode, 0x9);
  });

  it('keeps a live tsws client connected for many intervals; the client sees the pings', async (t) => {
    const { server, client } = await connectPair(t, { heartbeat: beat });
    const closes = record(server, ['close']);
    await count(client, 'ping', 8);
    assert.equal(server.readyState, WebSocket.OPEN);
    assert.equal(client.readyState, WebSocket.OPEN);
    assert.deepEqual(closes, []);
    assert.equal(typeof server.rtt, 'number', 'rtt measured from the heartbeat pong');
  });

  it('keeps a live ws client connected for many intervals', async (t) => {
    const { wss, url } = await startServer(t, { heartbeat: beat });
    const ws = new WsWebSocket(url);
    defer(t, () => ws.terminate());
    const [[server]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(ws, 'open')]);
    await count(ws, 'ping', 8);
    assert.equal(server.readyState, WebSocket.OPEN);
    assert.equal(ws.readyState, WsWebSocket.OPEN);
  });

  it('any frame from the peer counts as alive, not only pongs', async (t) => {
    const { server, client } = await connectPair(t, { heartbeat: beat }, { autoPong: false });
    client.on('ping', () => client.send('still here'));
    const pongs = record(server, ['pong']);
    await count(client, 'ping', 8);
    assert.equal(server.readyState, WebSocket.OPEN);
    assert.deepEqual(pongs, []);
  });

  it('a client heartbeat terminates a silent server', async (t) => {
    const { port } = await rawServer(t, async (socket) => {
      const { head } = await readHead(socket);
      const key = requestHeader(head, 'sec-websocket-key') ?? '';
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
      );
      socket.resume();
    });
    const ws = client(t, `ws://127.0.0.1:${port}`, { heartbeat: beat });
    await next(ws, 'open');
    const closed = await nextClose(ws);
    assert.deepEqual([closed.code, closed.reason], [1006, 'heartbeat timeout']);
  });

  it('a connection the application paused is not terminated: its peer cannot be heard, nothing counts as missed', async (t) => {
    const { server, client } = await connectPair(t, { heartbeat: beat });
    server.pause();
    // The client answers every ping, but the paused server does not read the pongs.
    await count(client, 'ping', 8);
    assert.equal(server.readyState, WebSocket.OPEN);
    server.resume();
    await count(client, 'ping', 4);
    assert.equal(server.readyState, WebSocket.OPEN);
  });

  it('a silent peer of a paused connection is found once the application resumes', async (t) => {
    const { server, peer } = await rawPair(t, { heartbeat: beat });
    server.pause();
    for (let i = 0; i < 6; i++) assert.equal((await peer.nextFrame()).opcode, 0x9);
    assert.equal(server.readyState, WebSocket.OPEN);
    server.resume();
    const closed = await nextClose(server);
    assert.deepEqual([closed.code, closed.reason], [1006, 'heartbeat timeout']);
  });

  it('rtt is measured from a ping to the next pong, for pings sent by the application too', async (t) => {
    const { server, client } = await connectPair(t, { heartbeat: false }, { heartbeat: false });
    assert.equal(server.rtt, undefined);
    server.ping('x');
    await next(server, 'pong');
    assert.equal(typeof server.rtt, 'number');
    assert.ok(server.rtt! >= 0);
    client.ping();
    await next(client, 'pong');
    assert.ok(client.rtt! >= 0);
  });

  it('heartbeat: false sends no pings', async (t) => {
    const quiet = await rawPair(t, { heartbeat: false });
    const control = await rawPair(t, { heartbeat: { interval: 20, maxMissed: 100 } });
    // While the control connection gets three pings, the other one gets nothing.
    for (let i = 0; i < 3; i++) assert.equal((await control.peer.nextFrame()).opcode, 0x9);
    assert.equal(quiet.peer.received, 0);
    assert.equal(quiet.server.readyState, WebSocket.OPEN);
  });

  it('exports the default and the article profile FAST_HEARTBEAT', () => {
    assert.deepEqual({ ...DEFAULT_HEARTBEAT }, { interval: 30000, maxMissed: 2 });
    assert.deepEqual({ ...FAST_HEARTBEAT }, { interval: 5000, maxMissed: 3 });
  });

  it('an invalid heartbeat option is refused by the server constructor', () => {
    for (const heartbeat of [
      { interval: 0, maxMissed: 2 },
      { interval: -1, maxMissed: 2 },
      { interval: 100, maxMissed: 0 },
      { interval: 100, maxMissed: 1.5 },
    ]) {
      let wss: WebSocketServer | undefined;
      try {
        assert.throws(() => {
          wss = new WebSocketServer({ noServer: true, heartbeat });
        }, TypeError);
      } finally {
        wss?.close();
      }
    }
  });

  it('an invalid heartbeat option is refused by the client constructor', async (t) => {
    const { server, port } = await rawServer(t, () => {});
    await new Promise((resolve) => server.close(resolve));
    let ws: WebSocket | undefined;
    try {
      assert.throws(() => {
        ws = new WebSocket(`ws://127.0.0.1:${port}`, { heartbeat: { interval: 10, maxMissed: 0 } });
      }, TypeError);
    } finally {
      ws?.terminate();
    }
  });
});
