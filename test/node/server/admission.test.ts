import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import { httpExchange, rawConnect, readHead, upgradeRequest } from '../../helpers/node-raw.js';
import { client, next, nextClose, startServer, until, within } from '../../helpers/node-util.js';

// The suite runs on both server paths (raw libuv handles, and http with TSWS_NO_FAST_PATH=1).

/** Opens a tsws client from `localAddress` (any 127/8 address reaches the server on Linux). */
async function open(t: TestContext, url: string, localAddress = '127.0.0.1'): Promise<WebSocket> {
  const ws = client(t, url, { localAddress });
  await next(ws, 'open');
  return ws;
}

/** The HTTP status a refused client got (the client fails its handshake). */
async function refusedWith(t: TestContext, url: string, localAddress = '127.0.0.1') {
  const ws = client(t, url, { localAddress });
  const [, res] = await next<[unknown, { statusCode: number; headers: Record<string, string> }]>(
    ws,
    'unexpected-response',
  );
  return res;
}

describe('connection limits (maxConnections, maxConnectionsPerIp)', () => {
  it('maxConnections: one more is refused with 503 before the upgrade; a slot frees when a connection closes', async (t) => {
    const { wss, url, port } = await startServer(t, { maxConnections: 2 });
    const a = await open(t, url);
    await open(t, url);
    const refused = await httpExchange(t, port, upgradeRequest().text);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers.upgrade, undefined, 'not upgraded');
    assert.equal(wss.clients!.size, 2);
    const closed = next(wss.clients!.values().next().value!, 'close');
    a.close();
    await closed;
    await open(t, url);
    assert.equal((await refusedWith(t, url)).statusCode, 503);
  });

  it('maxConnectionsPerIp: counted per client address, and again after closes', async (t) => {
    const { wss, url } = await startServer(t, { maxConnectionsPerIp: 1 });
    const a = await open(t, url, '127.0.0.1');
    assert.equal((await refusedWith(t, url, '127.0.0.1')).statusCode, 503);
    const b = await open(t, url, '127.0.0.2');
    assert.equal((await refusedWith(t, url, '127.0.0.2')).statusCode, 503);
    // A slot frees when the server's side has closed (the client may see its close first).
    a.close();
    await nextClose(a);
    await until(() => wss.clients!.size === 1, 'the server to close its side');
    await open(t, url, '127.0.0.1');
    b.terminate();
    await nextClose(b);
    await until(() => wss.clients!.size === 1, 'the server to close its side');
    await open(t, url, '127.0.0.2');
  });

  it('a connection counts while an asynchronous authenticate runs, and stops counting if its peer leaves', async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    t.after(() => release());
    const authenticating = new Set<unknown>();
    const { url, port } = await startServer(t, {
      maxConnections: 1,
      // The first handshake waits for the gate; later ones are accepted at once.
      authenticate: (req) => {
        authenticating.add(req);
        return authenticating.size === 1 ? gate.then(() => 'first') : 'later';
      },
    });
    const first = await rawConnect(t, port);
    first.write(upgradeRequest().text);
    await within(
      (async () => {
        while (authenticating.size === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      })(),
      'the first handshake to reach authenticate',
    );
    assert.equal((await httpExchange(t, port, upgradeRequest().text)).status, 503);
    // The first peer leaves while it is being authenticated: its slot frees.
    first.destroy();
    await once(first, 'close');
    let trying = true;
    t.after(() => {
      trying = false;
    });
    await within(
      (async () => {
        while (trying) {
          const ws = new WebSocket(url);
          const event = await new Promise((resolve) => {
            ws.once('open', () => resolve('open'));
            ws.once('close', () => resolve('close'));
          });
          if (event === 'open') {
            ws.close();
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      'a new connection admitted',
    );
  });

  it('a request taken over by a wsClientError listener stops counting when its socket closes', async (t) => {
    const { wss, url, port } = await startServer(t, { maxConnections: 1 });
    let closed!: Promise<unknown>;
    wss.on('wsClientError', (_error, socket) => {
      closed = next(socket, 'close');
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    const bad = await httpExchange(
      t,
      port,
      upgradeRequest({ headers: { 'Sec-WebSocket-Key': undefined } }).text,
    );
    assert.equal(bad.status, 400);
    // The slot frees when the server's socket has closed (the client may see its end first).
    await closed;
    const ws = client(t, url);
    await within(
      new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('unexpected-response', () => reject(new Error('refused: the slot leaked')));
      }),
      'the next connection admitted',
    );
  });

  it('refuses invalid limits', () => {
    for (const options of [
      { maxConnections: 0 },
      { maxConnections: -1 },
      { maxConnectionsPerIp: 0 },
    ]) {
      assert.throws(() => new WebSocketServer({ noServer: true, ...options }), TypeError);
    }
  });
});

describe('handshake limits (handshakeTimeout, maxHeaderSize)', () => {
  it('cuts off a client that opens TCP and sends nothing (408)', async (t) => {
    const { port } = await startServer(t, { handshakeTimeout: 150 });
    const silent = await rawConnect(t, port);
    const chunks: Buffer[] = [];
    silent.on('data', (chunk: Buffer) => chunks.push(chunk));
    await within(once(silent, 'close'), 'the silent client cut off');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 408 /);
  });

  it('cuts off a client that sends its request head a byte at a time (408)', async (t) => {
    const { port } = await startServer(t, { handshakeTimeout: 150 });
    const slow = await rawConnect(t, port);
    const chunks: Buffer[] = [];
    slow.on('data', (chunk: Buffer) => chunks.push(chunk));
    slow.on('error', () => {});
    const { text } = upgradeRequest();
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < text.length && slow.writable) slow.write(text[sent++]!);
    }, 10);
    t.after(() => clearInterval(drip));
    await within(once(slow, 'close'), 'the slow client cut off');
    clearInterval(drip);
    assert.ok(sent < text.length, 'cut off before its head was complete');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 408 /);
  });

  it('a request head over maxHeaderSize gets 431; one under it is upgraded', async (t) => {
    const { port } = await startServer(t, { maxHeaderSize: 2048 });
    const big = await httpExchange(
      t,
      port,
      upgradeRequest({ headers: { 'X-Padding': 'a'.repeat(4000) } }).text,
    );
    assert.equal(big.status, 431);
    const socket = await rawConnect(t, port);
    socket.write(upgradeRequest({ headers: { 'X-Padding': 'a'.repeat(1000) } }).text);
    assert.match((await readHead(socket)).head, /^HTTP\/1\.1 101 /);
  });

  it('an open connection is not subject to handshakeTimeout', async (t) => {
    const { wss, url } = await startServer(t, { handshakeTimeout: 50 });
    const connection = next<[WebSocket]>(wss, 'connection');
    const ws = await open(t, url);
    const [server] = await connection;
    // Several timeouts later, messages still flow both ways.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const echoed = next<[Buffer]>(server, 'message');
      ws.send(`ping ${i}`);
      assert.equal(String((await echoed)[0]), `ping ${i}`);
    }
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  it('refuses invalid limits', () => {
    for (const options of [{ handshakeTimeout: 0 }, { maxHeaderSize: -5 }]) {
      assert.throws(() => new WebSocketServer({ noServer: true, ...options }), TypeError);
    }
  });
});
