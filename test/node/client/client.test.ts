import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type VerifyClientInfo, WebSocket, WebSocketServer } from '../../../src/index.js';
import { acceptKey, rawServer, readHead, requestHeader } from '../../helpers/node-raw.js';
import {
  client,
  defer,
  next,
  nextClose,
  portOf,
  record,
  shutdown,
  startServer,
} from '../../helpers/node-util.js';

type Log = ReturnType<typeof record>;
const names = (log: Log) => log.map((e) => e.name);

/** Waits for `close` and checks the client failed: `error` then `close` 1006, never `open`. */
async function expectFailure(ws: WebSocket, log: Log, ms?: number): Promise<Error> {
  const { code } = await nextClose(ws, ms);
  assert.equal(code, 1006);
  assert.deepEqual(names(log), ['error', 'close']);
  assert.equal(ws.readyState, WebSocket.CLOSED);
  return log[0]!.args[0] as Error;
}

/** A raw server that reads the upgrade request and answers with `answer(key, head)`. */
async function answeringServer(
  t: TestContext,
  answer: (key: string, head: string) => string,
): Promise<number> {
  const { port } = await rawServer(t, async (socket: net.Socket) => {
    const { head } = await readHead(socket);
    // latin1: one byte per character, so a test can append frame bytes as \x escapes.
    socket.write(answer(requestHeader(head, 'sec-websocket-key') ?? '', head), 'latin1');
  });
  return port;
}

describe('client: opening', () => {
  it('goes CONNECTING -> OPEN -> CLOSING -> CLOSED with url and negotiated protocol', async (t) => {
    const { url } = await startServer(t);
    const ws = client(t, `${url}/room?x=1`, ['p1', 'p2']);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.equal(ws.url, `${url}/room?x=1`);
    assert.equal(ws.protocol, '');
    await next(ws, 'open');
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(ws.protocol, 'p1');
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    await nextClose(ws);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('emits upgrade with the 101 response before open', async (t) => {
    const { url } = await startServer(t);
    const ws = client(t, url);
    const log = record(ws, ['upgrade', 'open']);
    await next(ws, 'open');
    assert.deepEqual(names(log), ['upgrade', 'open']);
    assert.equal((log[0]!.args[0] as http.IncomingMessage).statusCode, 101);
  });

  it('throws a SyntaxError synchronously for invalid URLs, fragments and other schemes', () => {
    for (const url of [
      'not a url',
      'ws://127.0.0.1:1/#frag',
      'ws://127.0.0.1:1/#',
      'ftp://127.0.0.1/',
      'file:///tmp/x',
    ]) {
      assert.throws(() => new WebSocket(url), SyntaxError, url);
    }
  });

  it('maps http:// and https:// URLs to ws:// and wss://', async (t) => {
    const { wss, port } = await startServer(t);
    const ws = client(t, `http://127.0.0.1:${port}/a`);
    assert.equal(ws.url, `ws://127.0.0.1:${port}/a`);
    const [[, req]] = await Promise.all([
      next<[WebSocket, http.IncomingMessage]>(wss, 'connection'),
      next(ws, 'open'),
    ]);
    assert.equal(req.url, '/a');
    const secure = new WebSocket(`https://127.0.0.1:${port}/`);
    assert.equal(secure.url, `wss://127.0.0.1:${port}/`);
    secure.terminate();
    await nextClose(secure);
  });

  it('accepts a URL object', async (t) => {
    const { url } = await startServer(t);
    const ws = client(t, url);
    await next(ws, 'open');
    const other = new WebSocket(new URL(`${url}/u`));
    defer(t, () => other.terminate());
    assert.equal(other.url, `${url}/u`);
    await next(other, 'open');
  });

  it('sends extra headers and the origin to the server', async (t) => {
    const { wss, url } = await startServer(t);
    const ws = client(t, url, {
      headers: { 'X-Api-Key': 'k1', Cookie: 'a=b' },
      origin: 'https://app.example',
    });
    const [[, req]] = await Promise.all([
      next<[WebSocket, http.IncomingMessage]>(wss, 'connection'),
      next(ws, 'open'),
    ]);
    assert.equal(req.headers['x-api-key'], 'k1');
    assert.equal(req.headers.cookie, 'a=b');
    assert.equal(req.headers.origin, 'https://app.example');
  });

  it('handshakeTimeout: a server that never answers fails with error then close 1006', async (t) => {
    const { port } = await rawServer(t, () => {});
    const started = Date.now();
    const ws = client(t, `ws://127.0.0.1:${port}`, { handshakeTimeout: 100 });
    const log = record(ws, ['open', 'error', 'close']);
    const error = await expectFailure(ws, log);
    assert.match(error.message, /timed out/);
    assert.ok(Date.now() - started < 4000, 'the timeout is not much over 100 ms');
  });

  it('a refused connection fails with error (ECONNREFUSED) then close 1006', async (t) => {
    const { server, port } = await rawServer(t, () => {});
    await new Promise((resolve) => server.close(resolve));
    const ws = client(t, `ws://127.0.0.1:${port}`);
    const log = record(ws, ['open', 'error', 'close']);
    const error = (await expectFailure(ws, log)) as NodeJS.ErrnoException;
    assert.equal(error.code, 'ECONNREFUSED');
  });

  it('without an error listener, a failed handshake only emits close 1006', async (t) => {
    const { server, port } = await rawServer(t, () => {});
    await new Promise((resolve) => server.close(resolve));
    const ws = client(t, `ws://127.0.0.1:${port}`);
    const { code } = await nextClose(ws);
    assert.equal(code, 1006);
  });

  it('a non-101 answer is handed to unexpected-response listeners', async (t) => {
    const { url } = await startServer(t, {
      verifyClient: (_info: VerifyClientInfo, cb) => cb(false, 403, 'Forbidden'),
    });
    const ws = client(t, url);
    const log = record(ws, ['open', 'error', 'close']);
    const [req, res] = await next<[http.ClientRequest, http.IncomingMessage]>(
      ws,
      'unexpected-response',
    );
    assert.ok(req instanceof http.ClientRequest);
    assert.equal(res.statusCode, 403);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.deepEqual(log, []);
    ws.terminate();
    await nextClose(ws);
  });

  it('a non-101 answer without a listener fails with "Unexpected server response: 403"', async (t) => {
    const { url } = await startServer(t, {
      verifyClient: (_info: VerifyClientInfo, cb) => cb(false, 403),
    });
    const ws = client(t, url);
    const log = record(ws, ['open', 'error', 'close']);
    const error = await expectFailure(ws, log);
    assert.equal(error.message, 'Unexpected server response: 403');
  });

  it('a 101 with a wrong Sec-WebSocket-Accept fails with error then 1006', async (t) => {
    const port = await answeringServer(
      t,
      () =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey('AAAAAAAAAAAAAAAAAAAAAA==')}\r\n\r\n`,
    );
    const ws = client(t, `ws://127.0.0.1:${port}`);
    const log = record(ws, ['open', 'error', 'close']);
    const error = await expectFailure(ws, log);
    assert.match(error.message, /Sec-WebSocket-Accept/);
  });

  it('a 101 with a subprotocol that was not requested fails with error then 1006', async (t) => {
    const port = await answeringServer(
      t,
      (key) =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
    );
    const ws = client(t, `ws://127.0.0.1:${port}`);
    const log = record(ws, ['open', 'error', 'close']);
    const error = await expectFailure(ws, log);
    assert.match(error.message, /subprotocol/);

    const other = client(t, `ws://127.0.0.1:${port}`, ['superchat']);
    const otherLog = record(other, ['open', 'error', 'close']);
    await expectFailure(other, otherLog);
  });

  it('a correct 101 from a hand-written server opens, with the frames that follow it', async (t) => {
    const port = await answeringServer(
      t,
      (key) =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n\x81\x02hi`,
    );
    const ws = client(t, `ws://127.0.0.1:${port}`);
    const message = next<[Buffer, boolean]>(ws, 'message');
    await next(ws, 'open');
    const [data, isBinary] = await message;
    assert.equal(data.toString(), 'hi');
    assert.equal(isBinary, false);
  });

  it('close() while CONNECTING: error then close 1006, and never open', async (t) => {
    const { wss, url } = await startServer(t);
    const ws = client(t, url);
    const log = record(ws, ['open', 'error', 'close']);
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const error = await expectFailure(ws, log);
    assert.match(error.message, /closed before the connection was established/);
    assert.equal(wss.clients?.size, 0);
  });

  it('terminate() while CONNECTING: error then close 1006', async (t) => {
    const { url } = await startServer(t);
    const ws = client(t, url);
    const log = record(ws, ['open', 'error', 'close']);
    ws.terminate();
    await expectFailure(ws, log);
  });

  for (const [first, second] of [
    ['close', 'close'],
    ['close', 'terminate'],
    ['terminate', 'terminate'],
    ['terminate', 'close'],
  ] as const) {
    it(`${first}() then ${second}() while CONNECTING do not throw; one close 1006`, async (t) => {
      const { url } = await startServer(t);
      const ws = client(t, url);
      const log = record(ws, ['open', 'error', 'close']);
      ws[first]();
      assert.doesNotThrow(() => ws[second]());
      await expectFailure(ws, log);
      assert.doesNotThrow(() => ws.close(), 'close() once closed');
      assert.doesNotThrow(() => ws.terminate(), 'terminate() once closed');
    });
  }

  it('terminate() and close() in the error listener of a refused connection do not throw', async (t) => {
    const { server, port } = await rawServer(t, () => {});
    await new Promise((resolve) => server.close(resolve));
    for (const method of ['terminate', 'close'] as const) {
      const ws = client(t, `ws://127.0.0.1:${port}`);
      const thrown: unknown[] = [];
      ws.on('error', () => {
        try {
          ws[method]();
        } catch (error) {
          thrown.push(error);
        }
      });
      assert.equal((await nextClose(ws)).code, 1006);
      assert.deepEqual(thrown, [], `${method}() threw`);
    }
  });

  it('throws synchronously for invalid or repeated subprotocols', () => {
    for (const protocols of [['a', 'a'], ['two words'], ['']]) {
      assert.throws(() => new WebSocket('ws://127.0.0.1:1', protocols), JSON.stringify(protocols));
    }
  });
});

describe('client: redirects', () => {
  /** An http server whose /old, /a and /b answer upgrades with 302, the rest is WebSocket. */
  async function redirectingServer(
    t: TestContext,
  ): Promise<{ port: number; wss: WebSocketServer }> {
    const wss = new WebSocketServer({ noServer: true });
    defer(t, () => shutdown(wss));
    const server = http.createServer();
    defer(t, () => new Promise((resolve) => server.close(resolve)));
    const targets: Record<string, string> = { '/old': '/new', '/a': '/b', '/b': '/a' };
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const target = targets[req.url ?? ''];
      if (target !== undefined) {
        socket.end(
          `HTTP/1.1 302 Found\r\nLocation: ${target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: portOf(server), wss };
  }

  it('followRedirects follows a 302 to another path of the same server', async (t) => {
    const { port, wss } = await redirectingServer(t);
    const ws = client(t, `ws://127.0.0.1:${port}/old`, { followRedirects: true });
    const redirects = record(ws, ['redirect']);
    const [[, req]] = await Promise.all([
      next<[WebSocket, http.IncomingMessage]>(wss, 'connection'),
      next(ws, 'open'),
    ]);
    assert.equal(req.url, '/new');
    assert.equal(ws.url, `ws://127.0.0.1:${port}/new`);
    assert.deepEqual(
      redirects.map((e) => e.args[0]),
      [`ws://127.0.0.1:${port}/new`],
    );
  });

  it('more redirects than maxRedirects fail with error then 1006', async (t) => {
    const { port } = await redirectingServer(t);
    const ws = client(t, `ws://127.0.0.1:${port}/a`, { followRedirects: true, maxRedirects: 3 });
    const log = record(ws, ['open', 'error', 'close', 'redirect']);
    await nextClose(ws);
    assert.deepEqual(names(log), ['redirect', 'redirect', 'redirect', 'error', 'close']);
    assert.match((log[3]!.args[0] as Error).message, /Maximum redirects exceeded/);
    assert.equal(log[4]!.args[0], 1006);
  });

  it('without followRedirects a 302 is an unexpected response', async (t) => {
    const { port } = await redirectingServer(t);
    const ws = client(t, `ws://127.0.0.1:${port}/old`);
    const log = record(ws, ['open', 'error', 'close']);
    const error = await expectFailure(ws, log);
    assert.equal(error.message, 'Unexpected server response: 302');
  });
});

describe('client: wss://', () => {
  let dir = '';
  let key = '';
  let cert = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsws-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  async function tlsServer(t: TestContext): Promise<{ wss: WebSocketServer; port: number }> {
    const server = https.createServer({ key, cert });
    defer(t, () => new Promise((resolve) => server.close(resolve)));
    const infos: VerifyClientInfo[] = [];
    const wss = new WebSocketServer({
      server,
      verifyClient: (info: VerifyClientInfo) => infos.push(info) > 0 && info.secure,
    });
    defer(t, () => shutdown(wss));
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data as Buffer)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { wss, port: portOf(server) };
  }

  it('connects with the self-signed certificate given as ca, and echoes', async (t) => {
    const { port } = await tlsServer(t);
    const ws = client(t, `wss://127.0.0.1:${port}/`, { ca: cert });
    await next(ws, 'open');
    ws.send('over tls');
    const [data] = await next<[Buffer]>(ws, 'message');
    assert.equal(data.toString(), 'over tls');
  });

  it('hands servername and checkServerIdentity to tls.connect', async (t) => {
    const { port } = await tlsServer(t);
    const checked: string[] = [];
    const ws = client(t, `wss://127.0.0.1:${port}/`, {
      ca: cert,
      servername: 'localhost',
      checkServerIdentity: (host) => {
        checked.push(host);
        return undefined;
      },
    });
    await next(ws, 'open');
    assert.deepEqual(checked, ['localhost']);
  });

  it('connects with rejectUnauthorized: false', async (t) => {
    const { port } = await tlsServer(t);
    const ws = client(t, `wss://localhost:${port}/`, { rejectUnauthorized: false });
    await next(ws, 'open');
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  it('fails (error then 1006) against an untrusted certificate', async (t) => {
    const { port } = await tlsServer(t);
    const ws = client(t, `wss://127.0.0.1:${port}/`);
    const log = record(ws, ['open', 'error', 'close']);
    const error = (await expectFailure(ws, log)) as NodeJS.ErrnoException;
    assert.match(String(error.code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });
});
