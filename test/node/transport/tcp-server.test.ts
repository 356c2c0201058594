import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import type { ParsedRequestHead } from '../../../src/handshake/index.js';
import { loadLibuv } from '../../../src/node/transport/libuv.js';
import {
  TcpListener,
  type TcpListenerEvents,
  type TcpUpgradeSocket,
} from '../../../src/node/transport/tcp-server.js';
import { httpExchange, rawConnect, upgradeRequest } from '../../helpers/node-raw.js';
import { defer, startServer, until, within } from '../../helpers/node-util.js';

// The fast path's listener on its own: it parses request heads and hands each parsed head to
// its events (the server decides). Only where Node has the libuv TCP handles.
const fast = loadLibuv() !== undefined;

interface Seen {
  requests: { socket: TcpUpgradeSocket; head: ParsedRequestHead; rest: Buffer }[];
  connections: TcpUpgradeSocket[];
  errors: Error[];
}

async function listen(
  t: TestContext,
  onRequest?: TcpListenerEvents['onRequest'],
  options = { handshakeTimeout: 10_000, maxHeaderSize: 1024 },
): Promise<{ listener: TcpListener; port: number; seen: Seen }> {
  const seen: Seen = { requests: [], connections: [], errors: [] };
  const listener = new TcpListener(
    {
      onRequest: (socket, head, rest) => {
        seen.requests.push({ socket, head, rest });
        onRequest?.(socket, head, rest);
      },
      onConnection: (socket) => seen.connections.push(socket),
      onError: (error) => seen.errors.push(error),
    },
    options,
  );
  await within(
    new Promise<void>((resolve, reject) =>
      listener.listen(0, '127.0.0.1', undefined, (error) => (error ? reject(error) : resolve())),
    ),
    'listen',
  );
  defer(t, () => new Promise<void>((resolve) => listener.close(resolve)));
  return { listener, port: listener.address()!.port, seen };
}

/** Resolves once the peer closes `socket`, with whether it ended it cleanly first. */
function closed(socket: net.Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  return within(
    new Promise<string>((resolve) =>
      socket.once('close', () => resolve(Buffer.concat(chunks).toString())),
    ),
    'the connection to close',
  );
}

describe('TcpListener (the fast path)', { skip: !fast && 'no libuv TCP handles here' }, () => {
  it('reports a connection at its accept, before any byte', async (t) => {
    const { port, seen } = await listen(t);
    await rawConnect(t, port);
    await until(() => seen.connections.length === 1, 'onConnection');
    assert.equal(seen.requests.length, 0);
  });

  it('parses a head split across reads, and hands it over once, with what followed', async (t) => {
    const { port, seen } = await listen(t);
    const socket = await rawConnect(t, port);
    const { text } = upgradeRequest({ path: '/split?x=1' });
    // One byte, then the rest of the request line, then the fields in two pieces with the
    // first frame bytes after the blank line.
    const pieces = [text.slice(0, 1), text.slice(1, 20), text.slice(20, 60), `${text.slice(60)}AB`];
    for (const piece of pieces) {
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await until(() => seen.requests.length === 1, 'onRequest');
    const [{ head, socket: upgrade }] = seen.requests;
    assert.equal(head!.method, 'GET');
    assert.equal(head!.url, '/split?x=1');
    assert.equal(head!.headers['sec-websocket-version'], '13');
    assert.equal(upgrade!.open, true);
    // The bytes after the head are held for the connection: handed over with the accept.
    const accepted = upgrade!.accept('HTTP/1.1 101 Switching Protocols\r\n\r\n', Buffer.alloc(0));
    assert.equal(accepted.head.toString(), 'AB');
    accepted.transport.destroy();
  });

  it('writes the refusal the server decides, then closes', async (t) => {
    const { port } = await listen(t, (socket) =>
      socket.refuse('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno'),
    );
    const res = await httpExchange(t, port, upgradeRequest().text);
    assert.equal(res.status, 403);
    assert.equal(res.body, 'no');
    assert.equal(res.ended, true);
  });

  it('answers a malformed head with 400 itself, without reporting a request', async (t) => {
    const { port, seen } = await listen(t);
    const res = await httpExchange(t, port, 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(res.status, 400);
    assert.equal(seen.requests.length, 0);
  });

  it('answers a head larger than maxHeaderSize with 431', async (t) => {
    const { port, seen } = await listen(t);
    const res = await httpExchange(
      t,
      port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`,
    );
    assert.equal(res.status, 431);
    assert.equal(seen.requests.length, 0);
  });

  it('lets a connection that closes mid-head go: no request, nothing left pending', async (t) => {
    const { listener, port, seen } = await listen(t);
    const socket = await rawConnect(t, port);
    await until(() => seen.connections.length === 1, 'onConnection');
    const [upgrade] = seen.connections;
    const gone = new Promise((resolve) => upgrade!.once('close', resolve));
    socket.end('GET / HTTP/1.1\r\nHost: x\r\n');
    await within(gone, 'the half-read connection to close');
    assert.equal(seen.requests.length, 0);
    assert.equal(upgrade!.open, false);
    // close() has no pending handshake left to drop and calls back.
    await within(new Promise<void>((resolve) => listener.close(resolve)), 'close()');
  });

  it('answers a head that does not arrive within handshakeTimeout with 408', async (t) => {
    const { port } = await listen(t, undefined, { handshakeTimeout: 50, maxHeaderSize: 1024 });
    const socket = await rawConnect(t, port);
    const answer = closed(socket);
    socket.write('GET / HTTP/1.1\r\n');
    assert.match(await answer, /^HTTP\/1\.1 408 /);
  });

  it('close() drops connections still in their handshake', async (t) => {
    const { listener, port, seen } = await listen(t);
    const socket = await rawConnect(t, port);
    const answer = closed(socket);
    socket.write('GET / HTTP/1.1\r\n');
    await until(() => seen.connections.length === 1, 'onConnection');
    await within(new Promise<void>((resolve) => listener.close(resolve)), 'close()');
    assert.equal(await answer, '');
  });
});

describe('the standalone server on the fast path', {
  skip: !fast && 'no libuv TCP handles',
}, () => {
  it('answers a plain HTTP request with the one 426 (Upgrade, Sec-WebSocket-Version)', async (t) => {
    const { port } = await startServer(t);
    const res = await httpExchange(t, port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(res.status, 426);
    assert.equal(res.headers.upgrade, 'websocket');
    assert.equal(res.headers['sec-websocket-version'], '13');
    assert.equal(res.body, 'Upgrade Required');
  });

  it('refuses from the parsed head, and builds the request object only for listeners', async (t) => {
    const { wss, port } = await startServer(t);
    const seen: unknown[] = [];
    wss.on('wsClientError', (error, socket, req) => {
      seen.push([error.message, req.url, req.headers.host]);
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    const { text } = upgradeRequest({ path: '/p', headers: { 'Sec-WebSocket-Version': '8' } });
    const res = await httpExchange(t, port, text);
    assert.equal(res.status, 400);
    assert.deepEqual(seen, [
      ['Missing or unsupported Sec-WebSocket-Version header (13 is required)', '/p', '127.0.0.1'],
    ]);
  });
});
