// followRedirects and credentials (issue 11, finding 3): Authorization, Cookie and the `auth`
// option must not follow a redirect to another host or port, nor a downgrade from wss: to ws:.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import { WebSocketServer } from '../../../src/index.js';
import { client, defer, next, portOf, shutdown } from '../../helpers/node-util.js';

let dir = '';
let key = '';
let cert = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsws-redirect-tls-'));
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

const CREDENTIALS = {
  Authorization: 'Bearer secret-token',
  Cookie: 'session=secret',
  'X-Trace': 'kept',
};

/**
 * Answers upgrades: paths in `redirects` with a 302 to their target, the others with a
 * WebSocket, whose request headers it hands to `seen`.
 */
function upgradeHandler(
  t: TestContext,
  redirects: Record<string, string>,
  seen: (req: http.IncomingMessage) => void,
): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({ noServer: true });
  defer(t, () => shutdown(wss));
  return (req, socket, head) => {
    const target = redirects[req.url ?? ''];
    if (target !== undefined) {
      socket.end(
        `HTTP/1.1 302 Found\r\nLocation: ${target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    seen(req);
    wss.handleUpgrade(req, socket, head, () => {});
  };
}

async function listen(t: TestContext, server: net.Server): Promise<number> {
  defer(t, () => new Promise((resolve) => server.close(resolve)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return portOf(server);
}

/** Where the client's final (WebSocket) request arrived, and its headers. */
function finalRequest(): {
  seen: (req: http.IncomingMessage) => void;
  request: Promise<http.IncomingMessage>;
} {
  let seen: (req: http.IncomingMessage) => void = () => {};
  const request = new Promise<http.IncomingMessage>((resolve) => {
    seen = resolve;
  });
  return { seen, request };
}

describe('client: credentials on redirects', () => {
  it('a redirect from wss: to ws: on the same host and port drops Authorization, Cookie and auth', async (t) => {
    // One port, TLS or not by the first byte (0x16: a TLS handshake record), so only the
    // scheme changes.
    const final = finalRequest();
    const secure = https.createServer({ key, cert });
    const plain = http.createServer();
    const front = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', (chunk: Buffer) => {
        socket.pause();
        socket.unshift(chunk);
        (chunk[0] === 0x16 ? secure : plain).emit('connection', socket);
        process.nextTick(() => socket.resume());
      });
    });
    const port = await listen(t, front);
    defer(t, () => {
      secure.closeAllConnections();
      plain.closeAllConnections();
    });
    secure.on(
      'upgrade',
      upgradeHandler(t, { '/': `ws://127.0.0.1:${port}/plain` }, () => {}),
    );
    plain.on('upgrade', upgradeHandler(t, {}, final.seen));
    const ws = client(t, `wss://127.0.0.1:${port}/`, {
      ca: cert,
      followRedirects: true,
      headers: CREDENTIALS,
      auth: 'user:password',
    });
    await next(ws, 'open');
    const req = await final.request;
    assert.equal(req.url, '/plain');
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers.cookie, undefined);
    assert.equal(req.headers['x-trace'], 'kept');
  });

  it('a redirect to another port drops Authorization, Cookie and the auth option', async (t) => {
    const final = finalRequest();
    const second = http.createServer();
    second.on('upgrade', upgradeHandler(t, {}, final.seen));
    const secondPort = await listen(t, second);
    const first = http.createServer();
    first.on(
      'upgrade',
      upgradeHandler(t, { '/': `ws://127.0.0.1:${secondPort}/there` }, () => {}),
    );
    const firstPort = await listen(t, first);
    defer(t, () => {
      first.closeAllConnections();
      second.closeAllConnections();
    });
    const ws = client(t, `ws://127.0.0.1:${firstPort}/`, {
      followRedirects: true,
      headers: { Cookie: 'session=secret', 'X-Trace': 'kept' },
      auth: 'user:password',
    });
    await next(ws, 'open');
    const req = await final.request;
    assert.equal(req.url, '/there');
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers.cookie, undefined);
    assert.equal(req.headers['x-trace'], 'kept');
  });

  it('a redirect on the same server (another path) keeps them', async (t) => {
    const final = finalRequest();
    const server = http.createServer();
    server.on('upgrade', upgradeHandler(t, { '/old': '/new' }, final.seen));
    const port = await listen(t, server);
    defer(t, () => server.closeAllConnections());
    const ws = client(t, `ws://127.0.0.1:${port}/old`, {
      followRedirects: true,
      headers: { Cookie: 'session=secret' },
      auth: 'user:password',
    });
    await next(ws, 'open');
    const req = await final.request;
    assert.equal(req.url, '/new');
    assert.equal(req.headers.cookie, 'session=secret');
    assert.equal(
      req.headers.authorization,
      `Basic ${Buffer.from('user:password').toString('base64')}`,
    );
  });
});
