import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import { loadLibuv } from '../../../src/node/transport/libuv.js';
import { encodeFrame } from '../../helpers/frames.js';
import { httpExchange, rawConnect, readHead, upgradeRequest } from '../../helpers/node-raw.js';
import {
  defer,
  messages,
  next,
  nextMessage,
  portOf,
  startServer,
  within,
} from '../../helpers/node-util.js';

// The standalone server's raw TCP path. Skipped only where Node lacks the handles (the whole
// suite also runs with TSWS_NO_FAST_PATH=1, on the http path).
const fast = loadLibuv() !== undefined;

describe('standalone server fast path', { skip: !fast && 'no libuv TCP handles here' }, () => {
  it('is used by default: req.socket is not a net.Socket, and knows the peer address', async (t) => {
    const { wss, url } = await startServer(t);
    const connection = next<
      [WebSocket, { socket: { remoteAddress?: string; remotePort?: number } }]
    >(wss, 'connection');
    const ws = new WebSocket(url);
    defer(t, () => ws.terminate());
    const [, req] = await connection;
    assert.equal(req.socket instanceof net.Socket, false);
    assert.equal(req.socket.remoteAddress, '127.0.0.1');
    assert.equal(typeof req.socket.remotePort, 'number');
  });

  it('answers plain HTTP requests with 426', async (t) => {
    const { port } = await startServer(t);
    const res = await httpExchange(t, port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(res.status, 426);
    assert.equal(res.headers.upgrade, 'websocket');
  });

  it('answers a malformed request head with 400 and an oversized one with 431', async (t) => {
    const { port } = await startServer(t, { maxHeaderSize: 1024 });
    const bad = await httpExchange(t, port, 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(bad.status, 400);
    const big = await httpExchange(
      t,
      port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`,
    );
    assert.equal(big.status, 431);
  });

  it('refuses an upgrade request that declares a body', async (t) => {
    const { port } = await startServer(t);
    const { text } = upgradeRequest({ headers: { 'Content-Length': '5' } });
    const res = await httpExchange(t, port, text);
    assert.equal(res.status, 400);
  });

  it('cuts off a client that sends nothing, or its head too slowly (408)', async (t) => {
    const { port } = await startServer(t, { handshakeTimeout: 150 });
    const silent = await rawConnect(t, port);
    const slow = await rawConnect(t, port);
    const slowData: Buffer[] = [];
    slow.on('data', (chunk: Buffer) => slowData.push(chunk));
    const { text } = upgradeRequest();
    let i = 0;
    const drip = setInterval(() => {
      if (i < text.length && !slow.destroyed) slow.write(text[i++]!);
    }, 20);
    defer(t, () => clearInterval(drip));
    const silentHead = await readHead(silent);
    assert.match(silentHead.head, /^HTTP\/1\.1 408 /);
    await within(once(slow, 'end'), 'the slow client cut off');
    assert.match(Buffer.concat(slowData).toString(), /^HTTP\/1\.1 408 /);
    assert.ok(i < text.length, 'cut off before the head was complete');
  });

  it('delivers frames sent in the same write as the request, after the connection event', async (t) => {
    const { wss, port } = await startServer(t);
    const got: string[] = [];
    wss.on('connection', (ws) => ws.on('message', (data) => got.push(String(data))));
    const socket = await rawConnect(t, port);
    const { text } = upgradeRequest();
    socket.write(
      Buffer.concat([
        Buffer.from(text),
        encodeFrame({ opcode: 1, payload: 'first', mask: true }),
        encodeFrame({ opcode: 1, payload: 'second', mask: true }),
      ]),
    );
    await within(
      (async () => {
        while (got.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      'two messages',
    );
    assert.deepEqual(got, ['first', 'second']);
  });

  it('keeps frames that arrive while an asynchronous check runs, in order', async (t) => {
    let release: (() => void) | undefined;
    const { wss, port } = await startServer(t, {
      authenticate: () => new Promise<string>((resolve) => (release = () => resolve('ok'))),
    });
    const got: string[] = [];
    wss.on('connection', (ws) => ws.on('message', (data) => got.push(String(data))));
    const socket = await rawConnect(t, port);
    socket.write(upgradeRequest().text);
    await within(
      (async () => {
        while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 2));
      })(),
      'authenticate called',
    );
    socket.write(encodeFrame({ opcode: 1, payload: 'early-1', mask: true }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(encodeFrame({ opcode: 1, payload: 'early-2', mask: true }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    release!();
    await within(
      (async () => {
        while (got.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      'the early messages',
    );
    assert.deepEqual(got, ['early-1', 'early-2']);
  });

  it('reports EADDRINUSE as an error event', async (t) => {
    const { port } = await startServer(t);
    const second = new WebSocketServer({ port, host: '127.0.0.1' });
    const [error] = await next<[Error & { code: string; syscall: string }]>(second, 'error');
    assert.equal(error.code, 'EADDRINUSE');
    assert.equal(error.syscall, 'listen');
    assert.match(error.message, /EADDRINUSE/);
    await new Promise<void>((resolve) => second.close(() => resolve()));
  });

  it('listens on IPv6 and on a host name', async (t) => {
    for (const host of ['::1', 'localhost']) {
      const wss = new WebSocketServer({ port: 0, host });
      defer(t, () => new Promise<void>((resolve) => wss.close(() => resolve())));
      await next(wss, 'listening');
      const port = portOf(wss);
      const address = host === '::1' ? '[::1]' : 'localhost';
      wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data as Buffer)));
      const ws = new WebSocket(`ws://${address}:${port}/`);
      defer(t, () => ws.terminate());
      await next(ws, 'open');
      ws.send('over IPv6 or a name');
      assert.equal(String((await nextMessage(ws)).data), 'over IPv6 or a name');
    }
  });

  it('moves large messages through the shared read buffer intact, both ways', async (t) => {
    const { wss, url } = await startServer(t);
    wss.on('connection', (ws) =>
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })),
    );
    const ws = new WebSocket(url);
    defer(t, () => ws.terminate());
    await next(ws, 'open');
    const payloads = [1, 125, 126, 65535, 65536, 200_000, 3 * 1024 * 1024].map((size) => {
      const buffer = Buffer.alloc(size);
      for (let i = 0; i < size; i++) buffer[i] = (i * 7 + size) & 0xff;
      return buffer;
    });
    const echoes = messages(ws, payloads.length, 20_000);
    for (const payload of payloads) ws.send(payload);
    const got = await echoes;
    for (const [i, { data }] of got.entries()) assert.ok(data.equals(payloads[i]!), `payload ${i}`);
  });

  it('close() stops listening and drops connections still in their handshake', async (t) => {
    const { wss, port } = await startServer(t);
    const pending = await rawConnect(t, port);
    pending.write('GET / HTTP/1.1\r\n'); // never finished
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closed = once(pending, 'close');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await within(closed, 'the pending connection dropped');
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
        socket.once('error', reject);
      }),
      { code: 'ECONNREFUSED' },
    );
  });

  it('fastPath: false uses the http module (req.socket is a net.Socket)', async (t) => {
    const { wss, url } = await startServer(t, { fastPath: false });
    const connection = next<[WebSocket, { socket: unknown }]>(wss, 'connection');
    const ws = new WebSocket(url);
    defer(t, () => ws.terminate());
    const [, req] = await connection;
    assert.ok(req.socket instanceof net.Socket);
  });
});
