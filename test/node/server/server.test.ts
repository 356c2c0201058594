import assert from 'node:assert/strict';
import type * as http from 'node:http';
import { Duplex } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { type WebSocket, WebSocketServer } from '../../../src/index.js';
import { closePayload, decodeFrames, encodeFrame } from '../../helpers/frames.js';
import { acceptKey } from '../../helpers/node-raw.js';
import { defer, next, until, within } from '../../helpers/node-util.js';

// The server's own behaviour without TCP: handleUpgrade over an in-memory socket pair.

/** Two connected in-memory Duplexes: what one writes, the other reads. */
function socketPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _encoding, callback) {
        peer().push(chunk);
        callback();
      },
      final(callback) {
        peer().push(null);
        callback();
      },
    });
  sides.push(
    make(() => sides[1]!),
    make(() => sides[0]!),
  );
  return [sides[0]!, sides[1]!];
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A request as http.Server gives it (the fields the server and hooks read). */
function request(
  socket: Duplex,
  headers: Record<string, string> = {},
  url = '/',
): http.IncomingMessage {
  const all: Record<string, string> = {
    host: 'server.example',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
    ...headers,
  };
  const rawHeaders = Object.entries(all).flat();
  return {
    method: 'GET',
    url,
    httpVersion: '1.1',
    headers: all,
    rawHeaders,
    socket,
  } as unknown as http.IncomingMessage;
}

/** Everything the client side reads until `done(text)` says it is enough. */
function readUntil(client: Duplex, done: (bytes: Buffer) => boolean): Promise<Buffer> {
  let bytes = Buffer.alloc(0);
  return within(
    new Promise<Buffer>((resolve) => {
      const onData = (chunk: Buffer) => {
        bytes = Buffer.concat([bytes, chunk]);
        if (done(bytes)) {
          client.off('data', onData);
          resolve(bytes);
        }
      };
      client.on('data', onData);
      client.once('end', () => resolve(bytes));
    }),
    'the server to answer',
  );
}

const headEnd = (bytes: Buffer) => bytes.includes('\r\n\r\n');

function noServer(t: TestContext, options: Record<string, unknown> = {}): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, ...options });
  defer(t, () => {
    for (const ws of wss.clients ?? []) ws.terminate();
    return new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return wss;
}

describe('WebSocketServer options', () => {
  it('wants exactly one of port, server, noServer', () => {
    assert.throws(() => new WebSocketServer({}), TypeError);
    assert.throws(() => new WebSocketServer({ port: 0, noServer: true }), TypeError);
  });

  it('refuses non-positive limits and handshake settings', () => {
    for (const options of [
      { maxConnections: 0 },
      { maxConnectionsPerIp: -1 },
      { maxLifetime: 0 },
      { handshakeTimeout: 0 },
      { maxHeaderSize: 1.5 },
      { origins: 'https://a' as unknown as string[] },
      { origins: [42 as unknown as string] },
    ]) {
      assert.throws(
        () => new WebSocketServer({ noServer: true, ...options }),
        TypeError,
        JSON.stringify(options),
      );
    }
  });

  it('tracks clients by default; clientTracking: false leaves clients undefined', (t) => {
    assert.ok(noServer(t).clients instanceof Set);
    assert.equal(noServer(t, { clientTracking: false }).clients, undefined);
  });

  it('noServer has no address', (t) => {
    assert.throws(() => noServer(t).address(), /noServer/);
  });
});

describe('WebSocketServer.handleUpgrade over a socket pair', () => {
  it('answers 101 and opens a tracked connection, given to the callback with its request', async (t) => {
    const wss = noServer(t, { handleProtocols: (offered: Set<string>) => [...offered][1] });
    const [server, client] = socketPair();
    const req = request(server, { 'sec-websocket-protocol': 'a, b' });
    const opened = new Promise<[WebSocket, http.IncomingMessage]>((resolve) =>
      wss.handleUpgrade(req, server, Buffer.alloc(0), (ws, r) => resolve([ws, r])),
    );
    const head = (await readUntil(client, headEnd)).toString();
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(head, new RegExp(`\r\nSec-WebSocket-Accept: ${escapeRegExp(acceptKey(KEY))}\r\n`));
    assert.match(head, /\r\nSec-WebSocket-Protocol: b\r\n/);
    const [ws, r] = await within(opened, 'the connection');
    assert.equal(r, req);
    assert.equal(ws.protocol, 'b');
    assert.deepEqual([...wss.clients!], [ws]);
    // A frame from the client reaches the connection.
    const message = next<[Buffer]>(ws, 'message');
    client.write(encodeFrame({ opcode: 1, payload: 'hi', mask: true }));
    assert.equal(String((await message)[0]), 'hi');
  });

  it('reads the request object as the application left it (req.headers)', async (t) => {
    const wss = noServer(t);
    const [server, client] = socketPair();
    const req = request(server);
    delete req.headers.connection;
    wss.handleUpgrade(req, server, Buffer.alloc(0), () => assert.fail('no connection'));
    const text = (await readUntil(client, () => false)).toString();
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(text, /Connection header$/);
    assert.equal(wss.clients!.size, 0);
  });

  it('refuses another path with 400, and asks shouldHandle (which a subclass may change)', async (t) => {
    const wss = noServer(t, { path: '/chat' });
    const [server, client] = socketPair();
    wss.handleUpgrade(request(server, {}, '/other'), server, Buffer.alloc(0), () =>
      assert.fail('no connection'),
    );
    assert.match(
      (await readUntil(client, () => false)).toString(),
      /^HTTP\/1\.1 400 [\s\S]*Invalid path$/,
    );
    class Routed extends WebSocketServer {
      override shouldHandle(req: http.IncomingMessage): boolean {
        return req.url === '/other';
      }
    }
    const routed = new Routed({ noServer: true, path: '/chat' });
    defer(t, () => new Promise<void>((resolve) => routed.close(() => resolve())));
    const [server2, client2] = socketPair();
    routed.handleUpgrade(request(server2, {}, '/other'), server2, Buffer.alloc(0), () => {});
    assert.match((await readUntil(client2, headEnd)).toString(), /^HTTP\/1\.1 101 /);
    for (const ws of routed.clients!) ws.terminate();
  });

  it('refuses an origin outside origins with 403', async (t) => {
    const wss = noServer(t, { origins: ['https://good.example'] });
    const [server, client] = socketPair();
    wss.handleUpgrade(
      request(server, { origin: 'https://evil.example' }),
      server,
      Buffer.alloc(0),
      () => assert.fail('no connection'),
    );
    assert.match((await readUntil(client, () => false)).toString(), /^HTTP\/1\.1 403 /);
  });

  it('a second handleUpgrade with the same socket throws', async (t) => {
    const wss = noServer(t);
    const [server, client] = socketPair();
    wss.handleUpgrade(request(server), server, Buffer.alloc(0), () => {});
    await readUntil(client, headEnd);
    assert.throws(
      () => wss.handleUpgrade(request(server), server, Buffer.alloc(0), () => {}),
      /more than once/,
    );
  });

  it('a hook that throws ends that request with 500 and an error event', async (t) => {
    const wss = noServer(t, {
      authenticate: () => {
        throw new TypeError('bug in the hook');
      },
    });
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    const [server, client] = socketPair();
    wss.handleUpgrade(request(server), server, Buffer.alloc(0), () => assert.fail('no connection'));
    assert.match((await readUntil(client, () => false)).toString(), /^HTTP\/1\.1 500 /);
    assert.deepEqual(
      errors.map((error) => error.message),
      ['bug in the hook'],
    );
  });
});

describe('WebSocketServer.close() over a socket pair', () => {
  it('closes tracked connections with 1001, calls back once they are closed, then refuses with 503', async (t) => {
    const wss = noServer(t);
    const [server, client] = socketPair();
    wss.handleUpgrade(request(server), server, Buffer.alloc(0), () => {});
    await readUntil(client, headEnd);
    await until(() => wss.clients!.size === 1, 'the connection to be tracked');
    const closing = readUntil(client, (bytes) => bytes.length >= 4);
    let called = false;
    const closed = new Promise<void>((resolve) =>
      wss.close(() => {
        called = true;
        resolve();
      }),
    );
    const bytes = await closing;
    const { frames } = decodeFrames(bytes);
    assert.equal(frames[0]?.opcode, 8);
    assert.equal(frames[0]?.payload.readUInt16BE(0), 1001);
    assert.equal(called, false, 'not before the connection closed');
    client.write(encodeFrame({ opcode: 8, payload: closePayload(1001), mask: true }));
    client.end();
    await within(closed, 'close() to call back');
    assert.equal(wss.clients!.size, 0);
    const [server2, client2] = socketPair();
    wss.handleUpgrade(request(server2), server2, Buffer.alloc(0), () => assert.fail('closed'));
    assert.match((await readUntil(client2, () => false)).toString(), /^HTTP\/1\.1 503 /);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[+/=]/g, (c) => `\\${c}`);
}
