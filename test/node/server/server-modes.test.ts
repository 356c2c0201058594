import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import { httpExchange, rawConnect, upgradeRequest } from '../../helpers/node-raw.js';
import {
  client,
  defer,
  next,
  nextClose,
  nextMessage,
  portOf,
  record,
  shutdown,
  startServer,
  until,
  within,
} from '../../helpers/node-util.js';

/** An http server on 127.0.0.1 answering 'hello from http' to normal requests. */
async function httpServer(t: TestContext): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('hello from http');
  });
  defer(
    t,
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const res = await within(
    new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent: false }, resolve).on('error', reject);
    }),
    'HTTP GET',
  );
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res) body += chunk;
  return { status: res.statusCode ?? 0, body };
}

async function echoOnce(t: TestContext, url: string): Promise<string> {
  const ws = client(t, url);
  await next(ws, 'open');
  ws.send('ping?');
  const { data } = await nextMessage(ws);
  ws.close();
  return String(data);
}

function echo(wss: WebSocketServer): void {
  wss.on('connection', (ws) =>
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })),
  );
}

describe('WebSocketServer modes', () => {
  it('standalone { port }: emits listening, calls the constructor callback, reports its address', async (t) => {
    let called = 0;
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => called++);
    defer(t, () => shutdown(wss));
    await next(wss, 'listening');
    assert.equal(called, 1);
    const address = wss.address();
    assert.ok(address !== null && typeof address === 'object');
    assert.equal(address.address, '127.0.0.1');
    assert.ok(address.port > 0);
    echo(wss);
    assert.equal(await echoOnce(t, `ws://127.0.0.1:${address.port}`), 'ping?');
  });

  it('standalone { port }: a plain HTTP GET gets 426 Upgrade Required', async (t) => {
    const { port } = await startServer(t);
    const res = await get(port, '/anything');
    assert.equal(res.status, 426);
    assert.equal(res.body, 'Upgrade Required');
    // A request that names Upgrade without Connection: upgrade is no upgrade for HTTP.
    const raw = await httpExchange(
      t,
      port,
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: close\r\n\r\n',
    );
    assert.equal(raw.status, 426);
  });

  it('{ server }: upgrades on an existing http server, which still serves normal requests', async (t) => {
    const server = await httpServer(t);
    const wss = new WebSocketServer({ server });
    defer(t, () => shutdown(wss));
    echo(wss);
    const port = portOf(server);
    assert.deepEqual(wss.address(), server.address());
    const connection = next<[WebSocket, http.IncomingMessage]>(wss, 'connection');
    assert.equal(await echoOnce(t, `ws://127.0.0.1:${port}/x?y=1`), 'ping?');
    const [ws, req] = await connection;
    assert.ok(ws instanceof WebSocket);
    assert.equal(req.url, '/x?y=1');
    assert.deepEqual(await get(port), { status: 200, body: 'hello from http' });
  });

  it('{ server }: emits listening when the http server starts listening later', async (t) => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    defer(t, () => shutdown(wss));
    defer(t, () => new Promise<void>((resolve) => server.close(() => resolve())));
    const listening = next(wss, 'listening');
    server.listen(0, '127.0.0.1');
    await listening;
    assert.equal(portOf(wss), portOf(server));
  });

  it('{ server }: close() leaves the http server listening and serving', async (t) => {
    const server = await httpServer(t);
    const wss = new WebSocketServer({ server });
    await within(new Promise<void>((resolve) => wss.close(() => resolve())), 'close');
    assert.equal(server.listening, true);
    assert.deepEqual(await get(portOf(server)), { status: 200, body: 'hello from http' });
  });

  it('{ noServer: true }: handleUpgrade completes an upgrade the application routes', async (t) => {
    const wss = new WebSocketServer({ noServer: true });
    defer(t, () => shutdown(wss));
    assert.throws(() => wss.address(), /noServer/);
    const server = await httpServer(t);
    const seen: string[] = [];
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      seen.push(req.url ?? '');
      wss.handleUpgrade(req, socket, head, (ws, request) => {
        assert.equal(request, req);
        wss.emit('connection', ws, request);
      });
    });
    echo(wss);
    assert.equal(await echoOnce(t, `ws://127.0.0.1:${portOf(server)}/routed`), 'ping?');
    assert.deepEqual(seen, ['/routed']);
    assert.equal(wss.clients?.size, 1);
  });

  it('path: accepts its path (query ignored), refuses another with 400', async (t) => {
    const { wss, port, url } = await startServer(t, { path: '/chat' });
    echo(wss);
    assert.equal(await echoOnce(t, `${url}/chat?room=1`), 'ping?');
    const res = await httpExchange(t, port, upgradeRequest({ path: '/other' }).text);
    assert.equal(res.status, 400);
    const ws = client(t, `${url}/other`);
    const log = record(ws, ['open', 'error', 'close']);
    await next(ws, 'close');
    assert.deepEqual(
      log.map((e) => e.name),
      ['error', 'close'],
    );
    assert.match(String((log[0]!.args[0] as Error).message), /400/);
    assert.equal(log[1]!.args[0], 1006);
    assert.equal(wss.shouldHandle({ url: '/chat?x' } as http.IncomingMessage), true);
    assert.equal(wss.shouldHandle({ url: '/chat/' } as http.IncomingMessage), false);
  });

  it('throws on invalid option combinations', () => {
    const server = http.createServer();
    const invalid = [
      {},
      { port: 0, server },
      { port: 0, noServer: true },
      { server, noServer: true },
      { port: 0, server, noServer: true },
      { noServer: false },
    ];
    for (const options of invalid) {
      assert.throws(() => new WebSocketServer(options), TypeError, JSON.stringify(options));
    }
  });
});

describe('WebSocketServer.close()', () => {
  it('closes open connections with 1001 and calls back once they are gone', async (t) => {
    const { wss, url } = await startServer(t);
    const serverSide: WebSocket[] = [];
    wss.on('connection', (ws) => serverSide.push(ws));
    const clients = [client(t, url), client(t, url), client(t, url)];
    await Promise.all(clients.map((ws) => next(ws, 'open')));
    await within(
      (async () => {
        while (serverSide.length < 3) await next(wss, 'connection');
      })(),
      'three connections',
    );
    const clientCloses = Promise.all(clients.map((ws) => nextClose(ws)));
    const serverCloses = serverSide.map((ws) => record(ws, ['close']));
    const closeEvent = next(wss, 'close');
    let called = 0;
    const stateAtCallback = await within(
      new Promise<{ closes: number; size: number | undefined }>((resolve) =>
        wss.close((error) => {
          called++;
          assert.equal(error, undefined);
          resolve({
            closes: serverCloses.filter((log) => log.length === 1).length,
            size: wss.clients?.size,
          });
        }),
      ),
      'close callback',
    );
    assert.deepEqual(stateAtCallback, { closes: 3, size: 0 });
    for (const ws of serverSide) assert.equal(ws.readyState, WebSocket.CLOSED);
    for (const { code } of await clientCloses) assert.equal(code, 1001);
    await closeEvent;
    assert.equal(called, 1);
  });

  it('refuses new connections after close (standalone: the port is closed)', async (t) => {
    const { wss, url } = await startServer(t);
    await within(new Promise<void>((resolve) => wss.close(() => resolve())), 'close');
    const ws = client(t, url);
    const log = record(ws, ['open', 'error', 'close']);
    await next(ws, 'close');
    assert.deepEqual(
      log.map((e) => e.name),
      ['error', 'close'],
    );
    assert.equal((log[0]!.args[0] as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  });

  it('noServer: handleUpgrade after close answers 503', async (t) => {
    const wss = new WebSocketServer({ noServer: true });
    const server = await httpServer(t);
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, () => assert.fail('no connection after close'));
    });
    await within(new Promise<void>((resolve) => wss.close(() => resolve())), 'close');
    const res = await httpExchange(t, portOf(server), upgradeRequest().text);
    assert.equal(res.status, 503);
  });

  it('an upgrade still being authenticated when close() is called gets 503', async (t) => {
    let release: (() => void) | undefined;
    const { wss, port } = await startServer(t, {
      authenticate: () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    });
    const socket = await rawConnect(t, port);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.write(upgradeRequest().text);
    await until(() => release !== undefined, 'authenticate to be called');
    const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
    release!();
    await within(new Promise((resolve) => socket.once('close', resolve)), 'the refusal');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 503 /);
    await within(closed, 'close callback');
  });

  it('close(cb) on a closed server calls back with an error; close() twice calls back twice', async (t) => {
    const { wss } = await startServer(t);
    const results: (Error | undefined)[] = [];
    await within(
      Promise.all([
        new Promise<void>((resolve) => wss.close((e) => resolve(void results.push(e)))),
        new Promise<void>((resolve) => wss.close((e) => resolve(void results.push(e)))),
      ]),
      'both close callbacks',
    );
    assert.deepEqual(results, [undefined, undefined]);
    const error = await within(
      new Promise<Error | undefined>((resolve) => wss.close(resolve)),
      'close callback on a closed server',
    );
    assert.ok(error instanceof Error);
    assert.match(error.message, /not running/);
  });

  it('a connection closed by its client leaves clients; close then needs no wait', async (t) => {
    const { wss, url } = await startServer(t);
    const ws = client(t, url);
    const [[server]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(ws, 'open')]);
    assert.ok(wss.clients?.has(server));
    ws.close(1000);
    await nextClose(server);
    assert.equal(wss.clients?.size, 0);
  });
});

describe('clientTracking', () => {
  it('keeps the open connections in clients', async (t) => {
    const { wss, url } = await startServer(t);
    assert.ok(wss.clients instanceof Set);
    const a = client(t, url);
    const [[sa]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(a, 'open')]);
    const b = client(t, url);
    const [[sb]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(b, 'open')]);
    assert.deepEqual([...wss.clients], [sa, sb]);
    a.terminate();
    await nextClose(sa);
    assert.deepEqual([...wss.clients], [sb]);
  });

  it('clientTracking: false leaves clients undefined', async (t) => {
    const { wss, url } = await startServer(t, { clientTracking: false });
    assert.equal(wss.clients, undefined);
    const ws = client(t, url);
    const [[server]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(ws, 'open')]);
    defer(t, () => server.terminate());
    assert.equal(wss.clients, undefined);
  });
});
