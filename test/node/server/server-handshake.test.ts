import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { WebSocketServer as WsWebSocketServer } from 'ws';
import {
  type ServerOptions,
  UpgradeRejection,
  type VerifyClientInfo,
  WebSocket,
  WebSocketServer,
} from '../../../src/index.js';
import { encodeFrame } from '../../helpers/frames.js';
import {
  acceptKey,
  httpExchange,
  rawConnect,
  rawUpgrade,
  upgradeRequest,
} from '../../helpers/node-raw.js';
import {
  client,
  defer,
  next,
  portOf,
  record,
  shutdown,
  startServer,
  turns,
  within,
} from '../../helpers/node-util.js';

describe('handshake refusals on the wire', () => {
  const cases: {
    name: string;
    request: Parameters<typeof upgradeRequest>[0];
    status: number;
    body?: RegExp;
    headers?: Record<string, string>;
  }[] = [
    {
      name: 'a method other than GET gets 405 with Allow: GET',
      request: { method: 'POST', headers: { 'Content-Length': '0' } },
      status: 405,
      headers: { allow: 'GET' },
    },
    {
      name: 'HTTP/1.0 gets 400',
      request: { version: '1.0' },
      status: 400,
      body: /HTTP\/1\.1/,
    },
    {
      name: 'a missing Sec-WebSocket-Key gets 400',
      request: { headers: { 'Sec-WebSocket-Key': undefined } },
      status: 400,
      body: /Sec-WebSocket-Key/,
    },
    {
      name: 'a key that is not 16 bytes in base64 gets 400',
      request: { headers: { 'Sec-WebSocket-Key': 'c2hvcnQ=' } },
      status: 400,
      body: /Sec-WebSocket-Key/,
    },
    {
      name: 'version 8 gets 426 with Sec-WebSocket-Version: 13',
      request: { headers: { 'Sec-WebSocket-Version': '8' } },
      status: 426,
      body: /Sec-WebSocket-Version/,
      headers: { 'sec-websocket-version': '13' },
    },
    {
      name: 'a missing version gets 426 with Sec-WebSocket-Version: 13',
      request: { headers: { 'Sec-WebSocket-Version': undefined } },
      status: 426,
      headers: { 'sec-websocket-version': '13' },
    },
    {
      name: 'an Upgrade to another protocol gets 400',
      request: { headers: { Upgrade: 'h2c' } },
      status: 400,
      body: /Upgrade header/,
    },
    {
      name: 'an invalid Sec-WebSocket-Protocol gets 400',
      request: { headers: { 'Sec-WebSocket-Protocol': 'a b, ,' } },
      status: 400,
    },
  ];
  for (const c of cases) {
    it(c.name, async (t) => {
      const { wss, port } = await startServer(t);
      wss.on('connection', () => assert.fail('no connection for a refused upgrade'));
      const res = await httpExchange(t, port, upgradeRequest(c.request).text);
      assert.equal(res.status, c.status, res.statusLine);
      assert.ok(res.body.length > 0, 'a reason in the body');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
      if (c.body) assert.match(res.body, c.body);
      for (const [name, value] of Object.entries(c.headers ?? {})) {
        assert.equal(res.headers[name], value, name);
      }
      assert.equal(res.ended, true, 'the server ends the connection');
      assert.equal(wss.clients?.size, 0);
    });
  }

  it('a request without Connection: Upgrade handed to handleUpgrade gets 400', async (t) => {
    const wss = new WebSocketServer({ noServer: true });
    defer(t, () => shutdown(wss));
    const server = http.createServer();
    defer(t, () => new Promise((resolve) => server.close(resolve)));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      delete req.headers.connection;
      wss.handleUpgrade(req, socket, head, () => assert.fail('no connection'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const res = await httpExchange(t, portOf(server), upgradeRequest().text);
    assert.equal(res.status, 400);
    assert.match(res.body, /Connection header/);
  });

  it('wsClientError listeners get the error, the socket and the request instead', async (t) => {
    const { wss, port } = await startServer(t);
    const seen: { message: string; statusCode: unknown; url: string | undefined }[] = [];
    wss.on('wsClientError', (error, socket, req) => {
      seen.push({
        message: error.message,
        statusCode: (error as Error & { statusCode?: number }).statusCode,
        url: req.url,
      });
      socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    const res = await httpExchange(
      t,
      port,
      upgradeRequest({ path: '/p', headers: { 'Sec-WebSocket-Version': '7' } }).text,
    );
    assert.equal(res.status, 418);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, '/p');
    assert.equal(seen[0]!.statusCode, 426);
    assert.match(seen[0]!.message, /Sec-WebSocket-Version/);
  });
});

describe('wsClientError parity with ws', () => {
  it('refusals by verifyClient and path are answered, not handed to wsClientError (as in ws)', async (t) => {
    const wsServer = new WsWebSocketServer({
      port: 0,
      host: '127.0.0.1',
      path: '/ok',
      verifyClient: () => false,
    });
    defer(t, () => new Promise((resolve) => wsServer.close(resolve)));
    await next(wsServer, 'listening');
    const { port: tswsPort, wss } = await startServer(t, {
      path: '/ok',
      verifyClient: () => false,
    });
    const servers = [
      { name: 'ws', port: (wsServer.address() as { port: number }).port, emitter: wsServer },
      { name: 'tsws', port: tswsPort, emitter: wss },
    ];
    const results: Record<string, unknown> = {};
    for (const { name, port, emitter } of servers) {
      const calls: string[] = [];
      (emitter as WebSocketServer).on('wsClientError', (error, socket) => {
        calls.push(error.message);
        socket.destroy();
      });
      const statuses: number[] = [];
      for (const path of ['/ok', '/elsewhere']) {
        const res = await httpExchange(t, port, upgradeRequest({ path }).text).catch(() => ({
          status: 0,
        }));
        statuses.push(res.status);
      }
      results[name] = { statuses, calls };
    }
    assert.deepEqual(results.ws, { statuses: [401, 400], calls: [] });
    assert.deepEqual(results.tsws, results.ws);
  });
});

describe('the 101 response', () => {
  it('answers 101 with the accept key of the request', async (t) => {
    const { port } = await startServer(t);
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const peer = await rawUpgrade(t, port, { headers: { 'Sec-WebSocket-Key': key } });
    assert.equal(peer.response.headers['sec-websocket-accept'], acceptKey(key));
    assert.equal(peer.response.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    assert.equal(peer.response.headers.upgrade?.toLowerCase(), 'websocket');
    assert.equal(peer.response.headers['sec-websocket-protocol'], undefined);
  });

  it('headers listeners can add a header, and get the request', async (t) => {
    const { wss, url } = await startServer(t);
    const urls: (string | undefined)[] = [];
    wss.on('headers', (lines, req) => {
      assert.equal(lines[0], 'HTTP/1.1 101 Switching Protocols');
      urls.push(req.url);
      lines.push('Set-Cookie: session=abc');
    });
    const ws = client(t, `${url}/h`);
    const [[res]] = await Promise.all([
      next<[http.IncomingMessage]>(ws, 'upgrade'),
      next(ws, 'open'),
    ]);
    assert.deepEqual(res.headers['set-cookie'], ['session=abc']);
    assert.deepEqual(urls, ['/h']);
  });
});

describe('subprotocols', () => {
  async function negotiate(
    t: TestContext,
    options: ServerOptions,
    offered: string[],
  ): Promise<{ client: string; server: string; header: string | undefined }> {
    const { wss, url } = await startServer(t, options);
    const ws = client(t, url, offered);
    const upgrade = next<[http.IncomingMessage]>(ws, 'upgrade');
    const [[server]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(ws, 'open')]);
    const [res] = await upgrade;
    return {
      client: ws.protocol,
      server: server.protocol,
      header: res.headers['sec-websocket-protocol'] as string | undefined,
    };
  }

  it('by default picks the first offer', async (t) => {
    assert.deepEqual(await negotiate(t, {}, ['chat', 'superchat']), {
      client: 'chat',
      server: 'chat',
      header: 'chat',
    });
  });

  it('handleProtocols chooses among the offers, given in order with the request', async (t) => {
    const given: string[][] = [];
    const handleProtocols = (protocols: Set<string>, req: http.IncomingMessage) => {
      given.push([...protocols, req.url ?? '']);
      return protocols.has('v2') ? 'v2' : false;
    };
    assert.deepEqual(await negotiate(t, { handleProtocols }, ['v1', 'v2']), {
      client: 'v2',
      server: 'v2',
      header: 'v2',
    });
    assert.deepEqual(given, [['v1', 'v2', '/']]);
  });

  it('handleProtocols returning false accepts without a subprotocol', async (t) => {
    assert.deepEqual(await negotiate(t, { handleProtocols: () => false }, ['v1']), {
      client: '',
      server: '',
      header: undefined,
    });
  });

  it('handleProtocols is not called when nothing is offered', async (t) => {
    let called = 0;
    const handleProtocols = () => {
      called++;
      return false as const;
    };
    assert.deepEqual(await negotiate(t, { handleProtocols }, []), {
      client: '',
      server: '',
      header: undefined,
    });
    assert.equal(called, 0);
  });
});

describe('robustness of the upgrade', () => {
  it('a handleProtocols answer the client did not offer fails that client, not the server', async (t) => {
    const { url } = await startServer(t, { handleProtocols: () => 'v1' });
    const ws = client(t, url, ['other']);
    const log = record(ws, ['open', 'error', 'close']);
    await next(ws, 'close');
    assert.deepEqual(
      log.map((e) => e.name),
      ['error', 'close'],
    );
    const good = client(t, url, ['v1']);
    await next(good, 'open');
    assert.equal(good.protocol, 'v1');
  });

  it('frames sent in the same packet as the upgrade request are not lost', async (t) => {
    const { wss, port } = await startServer(t);
    const got = new Promise<string>((resolve) => {
      wss.on('connection', (ws) => ws.once('message', (data) => resolve(String(data))));
    });
    const socket = await rawConnect(t, port);
    socket.on('data', () => {});
    socket.write(
      Buffer.concat([
        Buffer.from(upgradeRequest().text),
        encodeFrame({ opcode: 0x1, payload: 'early bird', mask: true }),
      ]),
    );
    assert.equal(await within(got, 'the early message'), 'early bird');
  });
});

describe('verifyClient', () => {
  it('sync: true accepts (with origin, secure and req), false refuses with 401', async (t) => {
    const infos: VerifyClientInfo[] = [];
    const { port, url } = await startServer(t, {
      verifyClient: (info: VerifyClientInfo) => {
        infos.push(info);
        return info.req.url === '/ok';
      },
    });
    const ws = client(t, `${url}/ok`, { origin: 'https://example.test' });
    await next(ws, 'open');
    assert.equal(infos[0]!.origin, 'https://example.test');
    assert.equal(infos[0]!.secure, false);
    assert.equal(infos[0]!.req.url, '/ok');
    const res = await httpExchange(t, port, upgradeRequest({ path: '/no' }).text);
    assert.equal(res.status, 401);
  });

  it('async: refuses with the code, message and headers given to the callback', async (t) => {
    const { wss, port, url } = await startServer(t, {
      verifyClient: (info: VerifyClientInfo, cb) => {
        setImmediate(() => {
          if (info.req.headers.authorization === 'Bearer good') cb(true);
          else cb(false, 403, 'Go away', { 'X-Reason': 'no token' });
        });
      },
    });
    const res = await httpExchange(t, port, upgradeRequest().text);
    assert.equal(res.status, 403);
    assert.equal(res.body, 'Go away');
    assert.equal(res.headers['x-reason'], 'no token');
    const ws = client(t, url, { headers: { Authorization: 'Bearer good' } });
    const [[server]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(ws, 'open')]);
    assert.equal(server.readyState, WebSocket.OPEN);
  });

  it('async without a code refuses with 401', async (t) => {
    const { port } = await startServer(t, {
      verifyClient: (_info: VerifyClientInfo, cb) => cb(false),
    });
    const res = await httpExchange(t, port, upgradeRequest().text);
    assert.equal(res.status, 401);
  });
});

describe('authenticate', () => {
  it('a sync value becomes ws.data', async (t) => {
    const { wss, url } = await startServer(t, {
      authenticate: (req) => ({ user: req.headers['x-user'] }),
    });
    const ws = client(t, url, { headers: { 'X-User': 'ada' } });
    const [[server]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(ws, 'open')]);
    assert.deepEqual(server.data, { user: 'ada' });
    assert.equal(ws.data, undefined);
  });

  it('an async value becomes ws.data', async (t) => {
    const { wss, url } = await startServer(t, {
      authenticate: async (req) => {
        await new Promise((resolve) => setImmediate(resolve));
        return { user: req.url?.slice(1) };
      },
    });
    const ws = client(t, `${url}/grace`);
    const [[server]] = await Promise.all([next<[WebSocket]>(wss, 'connection'), next(ws, 'open')]);
    assert.deepEqual(server.data, { user: 'grace' });
  });

  it('UpgradeRejection (thrown or rejected) refuses with its status, message and headers', async (t) => {
    const rejection = () =>
      new UpgradeRejection(401, 'Login first', { 'WWW-Authenticate': 'Bearer realm="x"' });
    for (const authenticate of [
      () => {
        throw rejection();
      },
      async () => {
        await new Promise((resolve) => setImmediate(resolve));
        throw rejection();
      },
    ]) {
      const { wss, port } = await startServer(t, { authenticate });
      wss.on('connection', () => assert.fail('no connection'));
      const res = await httpExchange(t, port, upgradeRequest().text);
      assert.equal(res.status, 401);
      assert.equal(res.statusLine, 'HTTP/1.1 401 Unauthorized');
      assert.equal(res.body, 'Login first');
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="x"');
    }
  });

  it('UpgradeRejection takes only 4xx and 5xx statuses', () => {
    assert.throws(() => new UpgradeRejection(302), RangeError);
    assert.throws(() => new UpgradeRejection(200), RangeError);
    assert.equal(new UpgradeRejection(429).status, 429);
  });

  it('a client sees the status of an UpgradeRejection', async (t) => {
    const { url } = await startServer(t, {
      authenticate: () => {
        throw new UpgradeRejection(429, 'Slow down', { 'Retry-After': '5' });
      },
    });
    const ws = client(t, url);
    const [, res] = await next<[http.ClientRequest, http.IncomingMessage]>(
      ws,
      'unexpected-response',
    );
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '5');
    ws.terminate();
  });

  it('any other error refuses with 500 and is emitted as error on the server', async (t) => {
    const { wss, port } = await startServer(t, {
      authenticate: (req) => {
        if (req.url === '/sync') throw new Error('db down');
        return Promise.reject(new Error('db down async'));
      },
    });
    const errors = record(wss, ['error']);
    const sync = await httpExchange(t, port, upgradeRequest({ path: '/sync' }).text);
    assert.equal(sync.status, 500);
    assert.doesNotMatch(sync.body, /db down/, 'the error is not disclosed');
    const async = await httpExchange(t, port, upgradeRequest({ path: '/async' }).text);
    assert.equal(async.status, 500);
    assert.deepEqual(
      errors.map((e) => (e.args[0] as Error).message),
      ['db down', 'db down async'],
    );
  });

  it('without an error listener, a failing authenticate still answers 500', async (t) => {
    const { port } = await startServer(t, {
      authenticate: () => {
        throw new Error('boom');
      },
    });
    const res = await httpExchange(t, port, upgradeRequest().text);
    assert.equal(res.status, 500);
  });

  it('verifyClient runs before authenticate', async (t) => {
    const order: string[] = [];
    const { port } = await startServer(t, {
      verifyClient: () => {
        order.push('verifyClient');
        return false;
      },
      authenticate: () => {
        order.push('authenticate');
      },
    });
    const res = await httpExchange(t, port, upgradeRequest().text);
    assert.equal(res.status, 401);
    assert.deepEqual(order, ['verifyClient']);
  });

  it('a client that leaves while authenticate is pending gets no connection', async (t) => {
    let socketGone: Promise<unknown> | undefined;
    let settled: (() => void) | undefined;
    const { wss, port } = await startServer(t, {
      authenticate: (req) => {
        // The server's sockets are half-open: the client's FIN shows as 'end'.
        socketGone = new Promise((resolve) => {
          req.socket.once('end', resolve);
          req.socket.once('close', resolve);
        });
        return new Promise((resolve) => {
          settled = () => resolve({ user: 'late' });
        });
      },
    });
    const connections = record(wss, ['connection']);
    const socket = await rawConnect(t, port);
    socket.write(upgradeRequest().text);
    await within(
      (async () => {
        while (settled === undefined) await turns(1);
      })(),
      'authenticate to be called',
    );
    socket.destroy();
    await within(socketGone!, 'the server to see the socket close');
    settled!();
    await turns(5);
    assert.equal(connections.length, 0);
    assert.equal(wss.clients?.size, 0);
  });
});
