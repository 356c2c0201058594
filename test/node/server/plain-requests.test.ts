import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WebSocketServer } from '../../../src/index.js';
import { loadLibuv } from '../../../src/node/transport/libuv.js';
import { encodeFrame } from '../../helpers/frames.js';
import { FrameReader, readHead, upgradeRequest } from '../../helpers/node-raw.js';
import {
  client,
  defer,
  next,
  nextMessage,
  startServer,
  until,
  within,
} from '../../helpers/node-util.js';

// One port for plain HTTP and WebSocket (`handleRequest`), on both paths (the suite also runs
// with TSWS_NO_FAST_PATH=1).
const fast = loadLibuv() !== undefined && process.env.TSWS_NO_FAST_PATH !== '1';

/** A listener that answers `METHOD URL BODY-LENGTH` (and reads the whole body first). */
const describeRequest: http.RequestListener = (req, res) => {
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    length += chunk.length;
  });
  req.on('end', () => res.end(`${req.method} ${req.url} ${length}`));
};

function request(
  port: number,
  path: string,
  options: http.RequestOptions & { body?: string | Buffer } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return within(
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, ...options }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
        // An answer cut short: 'aborted' (Node 20), or an error on the response (later lines).
        res.on('aborted', () => reject(new Error('aborted')));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(options.body);
    }),
    `answer to ${path}`,
  );
}

/** Sends `bytes` on a raw connection, in the pieces given, and resolves with all it got back until the server closes. */
async function rawExchange(port: number, pieces: Buffer[]): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let out = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    out += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await within(closed, 'the server to close');
  return out;
}

describe('handleRequest: plain HTTP and WebSocket on one port', () => {
  it('serves requests (with bodies, kept alive) and upgrades on the same port', async (t) => {
    const { wss, port, url } = await startServer(t, { handleRequest: describeRequest });
    wss.on('connection', (ws) =>
      ws.on('message', (data, binary) => ws.send(data as Buffer, { binary })),
    );
    assert.deepEqual((await request(port, '/a?x=1')).body, 'GET /a?x=1 0');
    const body = Buffer.alloc(300_000, 7); // many reads
    assert.equal((await request(port, '/up', { method: 'POST', body })).body, 'POST /up 300000');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    defer(t, () => agent.destroy());
    const sockets = new Set<net.Socket>();
    for (const path of ['/k1', '/k2', '/k3']) {
      const answer = await within(
        new Promise<string>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
            sockets.add(res.socket as net.Socket);
            let text = '';
            res.on('data', (chunk) => {
              text += chunk;
            });
            res.on('end', () => resolve(text));
          });
          req.on('error', reject);
        }),
        path,
      );
      assert.equal(answer, `GET ${path} 0`);
    }
    assert.equal(sockets.size, 1, 'one kept-alive connection');
    const ws = client(t, `${url}/chat`);
    await next(ws, 'open');
    ws.send('echo');
    assert.equal(String((await nextMessage(ws)).data), 'echo');
  });

  it('takes an upgrade that follows a plain request on a kept-alive connection', async (t) => {
    const { wss, port } = await startServer(t, { handleRequest: describeRequest });
    wss.on('connection', (ws) =>
      ws.on('message', (data, binary) => ws.send(data as Buffer, { binary })),
    );
    const socket = net.connect(port, '127.0.0.1');
    defer(t, () => socket.destroy());
    const opened = next(wss, 'connection');
    socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    const first = await readHead(socket);
    assert.match(first.head, /^HTTP\/1\.1 200/);
    socket.write(upgradeRequest({ path: '/ws' }).text);
    await within(opened, 'the upgrade');
    const answer = readHead(socket);
    socket.resume();
    const upgraded = await answer;
    assert.match(upgraded.head, /^HTTP\/1\.1 101/);
    // Messages both ways on it (the connection http gave back, read through net).
    const reader = new FrameReader(socket, upgraded.rest);
    for (const text of ['one', 'two', 'x'.repeat(70_000)]) {
      socket.write(encodeFrame({ opcode: 1, payload: text, mask: true }));
      const frame = await within(reader.nextFrame(), 'the echo');
      assert.equal(Buffer.from(frame.payload).toString(), text);
    }
  });

  it('hands over a request head that arrives a byte at a time, and the bytes after it', async (t) => {
    const { port } = await startServer(t, { handleRequest: describeRequest });
    const text =
      'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';
    const pieces = [...Buffer.from(text)].map((byte) => Buffer.from([byte]));
    const answer = await rawExchange(port, pieces);
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /POST \/slow 5$/);
  });

  it('hands over pipelined requests read together, and answers each in order', async (t) => {
    const { port } = await startServer(t, { handleRequest: describeRequest });
    const answer = await rawExchange(port, [
      Buffer.from(
        'GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
      ),
    ]);
    const bodies = answer.split(/\r\n\r\n/).filter((part) => /^(GET|POST) /.test(part));
    assert.deepEqual(
      bodies.map((b) => b.slice(0, b.indexOf('HTTP') === -1 ? undefined : b.indexOf('HTTP'))),
      ['GET /one 0', 'POST /two 3'],
    );
  });

  it('reads every request exactly as sent, however it is cut (property)', async (t) => {
    const { port } = await startServer(t, { handleRequest: describeRequest });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }),
        async (length, cuts) => {
          const bytes = Buffer.concat([
            Buffer.from(
              `PUT /p${length} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`,
            ),
            Buffer.alloc(length, 'z'),
          ]);
          const pieces: Buffer[] = [];
          let at = 0;
          for (const cut of cuts) {
            if (at >= bytes.length) break;
            pieces.push(bytes.subarray(at, at + cut));
            at += cut;
          }
          if (at < bytes.length) pieces.push(bytes.subarray(at));
          const answer = await rawExchange(port, pieces);
          assert.match(answer, new RegExp(`PUT /p${length} ${length}$`));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('ends a request whose listener throws or rejects with 500 and an error event; the server goes on', async (t) => {
    const errors: Error[] = [];
    const { wss, port, url } = await startServer(t, {
      handleRequest: async (req, res) => {
        if (req.url === '/throw') throw new Error('listener bug');
        if (req.url === '/late') {
          res.writeHead(200, { 'Content-Length': '100' });
          res.write('part');
          throw new Error('after the head');
        }
        await Promise.resolve();
        if (req.url === '/reject') throw new Error('async bug');
        res.end('fine');
      },
    });
    wss.on('error', (error) => errors.push(error));
    assert.equal((await request(port, '/throw')).status, 500);
    assert.equal((await request(port, '/reject')).status, 500);
    await assert.rejects(request(port, '/late'), (error: Error) => {
      assert.doesNotMatch(error.message, /timed out/, 'cut, not left hanging');
      return true;
    });
    assert.deepEqual(
      errors.map((e) => e.message),
      ['listener bug', 'async bug', 'after the head'],
    );
    assert.equal((await request(port, '/ok')).body, 'fine');
    const ws = client(t, url);
    await next(ws, 'open');
  });

  it("routes an application's http.Server: its routes, and upgrades for other paths to its upgrade listeners", async (t) => {
    const app = http.createServer((_req, res) => res.end('app'));
    const other = new WebSocketServer({ noServer: true });
    defer(t, () => new Promise<void>((resolve) => other.close(() => resolve())));
    app.on('upgrade', (req, socket, head) => {
      if (req.url === '/other')
        other.handleUpgrade(req, socket, head, (ws) => other.emit('connection', ws, req));
    });
    const { wss, port, url } = await startServer(t, { handleRequest: app, path: '/ws' });
    // On the fast path it never listens itself (on the http path the WebSocket server makes it listen).
    if (fast) assert.equal(app.address(), null);
    assert.equal((await request(port, '/anything')).body, 'app');
    const ours = next(wss, 'connection');
    const theirs = next(other, 'connection');
    const a = client(t, `${url}/ws`);
    const b = client(t, `${url}/other`);
    const opened = Promise.all([next(a, 'open'), next(b, 'open')]);
    await within(Promise.all([ours, theirs, opened]), 'both upgrades');
  });

  it('counts a plain connection under maxConnections only until it is handed over', async (t) => {
    const { port, url } = await startServer(t, {
      handleRequest: describeRequest,
      maxConnections: 1,
    });
    const agent = new http.Agent({ keepAlive: true });
    defer(t, () => agent.destroy());
    assert.equal((await request(port, '/kept', { agent })).status, 200);
    // The kept-alive HTTP connection is open, yet a WebSocket gets in.
    const ws = client(t, url);
    await next(ws, 'open');
  });

  it('close() ends kept-alive HTTP connections of its own server and calls back', async (t) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleRequest: describeRequest });
    await next(wss, 'listening');
    const port = (wss.address() as net.AddressInfo).port;
    const socket = net.connect(port, '127.0.0.1');
    defer(t, () => socket.destroy());
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await readHead(socket);
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const ws = client(t, `ws://127.0.0.1:${port}`);
    await next(ws, 'open');
    const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
    await within(Promise.all([closed, ended]), 'the server and the kept-alive connection to close');
    await until(() => ws.readyState === ws.CLOSED, 'the WebSocket to close');
  });

  it('is used on the fast path: the WebSocket connection is not on a net.Socket', {
    skip: !fast && 'the http path',
  }, async (t) => {
    const { wss, url } = await startServer(t, { handleRequest: describeRequest });
    const connection = next<[unknown, http.IncomingMessage]>(wss, 'connection');
    client(t, url);
    const [, req] = await connection;
    assert.equal(req.socket instanceof net.Socket, false);
  });

  it('needs a port', () => {
    assert.throws(
      () => new WebSocketServer({ noServer: true, handleRequest: describeRequest }),
      /handleRequest/,
    );
    assert.throws(
      () => new WebSocketServer({ port: 0, handleRequest: 'x' as unknown as http.Server }),
      /handleRequest/,
    );
  });
});
