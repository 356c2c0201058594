import assert from 'node:assert/strict';
import * as http from 'node:http';
import type * as net from 'node:net';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import {
  type ServerOptions,
  UpgradeRejection,
  type VerifyClientInfo,
  WebSocketServer,
} from '../../../src/index.js';
import { httpExchange, rawConnect, upgradeRequest } from '../../helpers/node-raw.js';
import { defer, next, portOf, shutdown, until, within } from '../../helpers/node-util.js';

// Issue 11: nothing a peer sends, and no hook that throws, may end the process; each server
// path is checked: the fast path (standalone, raw TCP), the http module (standalone with
// fastPath: false) and a server attached to the application's http.Server.

type Mode = 'fast' | 'http' | 'attached';
/** Under TSWS_NO_FAST_PATH=1 (the suite's second run) the 'fast' mode is on the http path too. */
const FAST = process.env.TSWS_NO_FAST_PATH !== '1';
const MODES: Mode[] = ['fast', 'http', 'attached'];

type Options = Omit<ServerOptions, 'port' | 'server' | 'noServer'>;

async function serve(
  t: TestContext,
  mode: Mode,
  options: Options = {},
): Promise<{ wss: WebSocketServer; port: number; errors: Error[] }> {
  let wss: WebSocketServer;
  if (mode === 'attached') {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    defer(t, () => new Promise((resolve) => server.close(resolve)));
    defer(t, () => server.closeAllConnections());
    wss = new WebSocketServer({ server, ...options });
    defer(t, () => shutdown(wss));
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    return { wss, port: portOf(server), errors };
  }
  wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    ...(mode === 'http' ? { fastPath: false } : {}),
    ...options,
  });
  defer(t, () => shutdown(wss));
  const errors: Error[] = [];
  wss.on('error', (error) => errors.push(error));
  await next(wss, 'listening');
  return { wss, port: portOf(wss), errors };
}

/** Sends `request` (a latin1 string: each char one byte) and reads the answer. */
function exchange(t: TestContext, port: number, request: string) {
  return httpExchange(t, port, Buffer.from(request, 'latin1') as unknown as string);
}

/** The status of the server's first answer to `request` (the connection is then dropped). */
async function firstStatus(t: TestContext, port: number, request: string): Promise<number> {
  const socket = await rawConnect(t, port);
  socket.on('error', () => {});
  socket.write(request);
  const data = await within(
    new Promise<Buffer>((resolve) => socket.once('data', resolve)),
    'a response',
  );
  socket.destroy();
  return Number(data.toString('latin1').split(' ')[1]);
}

const afterTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('a hook or a header that cannot be written ends the request with 500, not the process', () => {
  // A header value echoing the peer's bytes: é (0xe9) cannot go out in a header.
  const latin1 = upgradeRequest({ headers: { 'X-Name': 'ex\xe9mple' } }).text;
  const rejection = (req: http.IncomingMessage) =>
    new UpgradeRejection(401, 'Login first', {
      'WWW-Authenticate': `Bearer realm="${String(req.headers['x-name'])}"`,
    });
  const cases: [string, Options, string?][] = [
    [
      'sync authenticate: UpgradeRejection with a byte >= 0x80',
      {
        authenticate: (req) => {
          throw rejection(req);
        },
      },
    ],
    [
      'async authenticate: UpgradeRejection with a byte >= 0x80',
      {
        authenticate: async (req) => {
          await afterTurn();
          throw rejection(req);
        },
      },
    ],
    [
      'UpgradeRejection with CR LF in a header value',
      {
        authenticate: () => {
          throw new UpgradeRejection(403, 'no', { 'X-A': 'a\r\nSet-Cookie: evil=1' });
        },
      },
    ],
    [
      'UpgradeRejection with an invalid header name',
      {
        authenticate: () => {
          throw new UpgradeRejection(403, 'no', { 'Bad Name': 'x' });
        },
      },
    ],
    [
      'authenticate throws a plain error',
      {
        authenticate: () => {
          throw new Error('boom');
        },
      },
    ],
    [
      'async verifyClient refuses with status 200',
      { verifyClient: (_info: VerifyClientInfo, cb) => setImmediate(() => cb(false, 200)) },
    ],
    [
      'sync verifyClient callback refuses with status 99 and a CR LF header',
      { verifyClient: (_info: VerifyClientInfo, cb) => cb(false, 99, 'x', { A: '\r\n' }) },
    ],
    [
      'async verifyClient refuses with a byte >= 0x80 in a header',
      {
        verifyClient: (info: VerifyClientInfo, cb) =>
          setImmediate(() =>
            cb(false, 403, 'no', { 'X-Echo': String(info.req.headers['x-name']) }),
          ),
      },
    ],
    [
      'verifyClient throws',
      {
        verifyClient: () => {
          throw new Error('boom');
        },
      },
    ],
    [
      'handleProtocols throws',
      {
        handleProtocols: () => {
          throw new Error('boom');
        },
      },
      upgradeRequest({ headers: { 'Sec-WebSocket-Protocol': 'a' } }).text,
    ],
  ];
  for (const mode of MODES) {
    for (const [name, options, request] of cases) {
      it(`${mode}: ${name}`, async (t) => {
        const { wss, port, errors } = await serve(t, mode, options);
        wss.on('connection', () => assert.fail('no connection'));
        const res = await exchange(t, port, request ?? latin1);
        assert.equal(res.status, 500);
        await until(() => errors.length > 0, 'an error event');
        // The server still serves.
        const again = await exchange(t, port, request ?? latin1);
        assert.equal(again.status, 500);
      });
    }
    it(`${mode}: a headers listener that adds CR LF gives 500`, async (t) => {
      const { wss, port, errors } = await serve(t, mode);
      wss.on('headers', (lines) => lines.push('X-A: a\r\nX-B: b'));
      const res = await exchange(t, port, upgradeRequest().text);
      assert.equal(res.status, 500);
      assert.equal(errors.length, 1);
    });
  }

  it('a header value may be a finite number, as with setHeader', async (t) => {
    const { port } = await serve(t, 'fast', {
      authenticate: () => {
        throw new UpgradeRejection(429, 'Slow down', { 'Retry-After': 5, 'X-List': [1, 'b'] });
      },
    });
    const res = await exchange(t, port, upgradeRequest().text);
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '5');
  });
});

describe('maxConnections / maxConnectionsPerIp count from the TCP accept', () => {
  /** A connection that never sends its request. */
  async function halfOpen(t: TestContext, port: number): Promise<net.Socket> {
    const socket = await rawConnect(t, port);
    socket.on('error', () => {});
    socket.on('data', () => {});
    return socket;
  }

  for (const mode of ['fast', 'http'] as const) {
    for (const limit of ['maxConnectionsPerIp', 'maxConnections'] as const) {
      it(`${mode}: ${limit}: half-open connections hold their slots`, async (t) => {
        const { wss, port } = await serve(t, mode, { [limit]: 3 });
        const held = [];
        for (let i = 0; i < 3; i++) held.push(await halfOpen(t, port));
        const refused = await exchange(t, port, upgradeRequest().text);
        assert.equal(refused.status, 503);
        // One leaves: its slot frees, once the server has seen it go.
        held[0]!.destroy();
        let status = 503;
        await within(
          (async () => {
            while (status === 503) {
              status = await firstStatus(t, port, upgradeRequest().text);
              if (status === 503) await new Promise((resolve) => setTimeout(resolve, 10));
            }
          })(),
          'a slot to free',
        );
        assert.equal(status, 101);
        assert.ok(wss.clients!.size <= 1);
      });
    }
  }
});

describe('origins and allowMissingOrigin', () => {
  const origins = ['https://good.example', /^https:\/\/[a-z]+\.trusted\.example$/g];
  for (const mode of MODES) {
    it(`${mode}: an origin outside the list gets 403; listed ones, patterns and a missing one pass`, async (t) => {
      const { port } = await serve(t, mode, { origins });
      const status = (origin?: string) =>
        firstStatus(t, port, upgradeRequest({ headers: { Origin: origin } }).text);
      assert.equal(await status('https://evil.example'), 403);
      assert.equal(await status('https://good.example.evil.example'), 403);
      assert.equal(await status('null'), 403);
      assert.equal(await status('https://good.example'), 101);
      assert.equal(await status('HTTPS://GOOD.example'), 101);
      // The pattern keeps no state between tests (its g flag is dropped).
      assert.equal(await status('https://a.trusted.example'), 101);
      assert.equal(await status('https://a.trusted.example'), 101);
      assert.equal(await status(undefined), 101);
    });

    it(`${mode}: allowMissingOrigin: false refuses a request without Origin`, async (t) => {
      const { port } = await serve(t, mode, {
        origins: ['https://good.example'],
        allowMissingOrigin: false,
      });
      const res = await exchange(t, port, upgradeRequest().text);
      assert.equal(res.status, 403);
    });
  }

  it('refuses an invalid origins option', () => {
    assert.throws(
      () => new WebSocketServer({ noServer: true, origins: 'https://a' as never }),
      TypeError,
    );
    assert.throws(() => new WebSocketServer({ noServer: true, origins: [1 as never] }), TypeError);
  });
});

describe('request heads the server refuses before any hook', () => {
  const request = (...extra: string[]) =>
    upgradeRequest().text.replace(/\r\n\r\n$/, `\r\n${extra.map((l) => `${l}\r\n`).join('')}\r\n`);
  const cases: [string, string, number][] = [
    ['Content-Length 0 and 5', request('Content-Length: 0', 'Content-Length: 5'), 400],
    ['Content-Length 0 twice', request('Content-Length: 0', 'Content-Length: 0'), 400],
    ['repeated Host', request('Host: other'), 400],
    ['repeated Origin', request('Origin: https://good.example', 'Origin: https://evil'), 400],
    ['HTTP/1.2', upgradeRequest({ version: '1.2' }).text, 505],
    ['target evil.example:80', upgradeRequest({ path: 'evil.example:80' }).text, 400],
    ['target @p', upgradeRequest({ path: '@p' }).text, 400],
  ];
  for (const mode of MODES) {
    for (const [name, text, status] of cases) {
      it(`${mode}: ${name}`, async (t) => {
        let hooks = 0;
        const { port } = await serve(t, mode, {
          origins: ['https://good.example'],
          authenticate: () => {
            hooks++;
          },
        });
        const res = await exchange(t, port, text);
        // Node's parser answers some of these with 400 where ours says 505.
        assert.ok(
          res.status === status || ((mode !== 'fast' || !FAST) && res.status === 400),
          name,
        );
        assert.equal(hooks, 0);
      });
    }
  }

  it('fast: an invalid Host value is a 400 (Node lets it through to the hooks)', {
    skip: !FAST,
  }, async (t) => {
    const { port } = await serve(t, 'fast');
    const res = await exchange(t, port, upgradeRequest({ headers: { Host: 'ex\xe9mple' } }).text);
    assert.equal(res.status, 400);
  });

  it('fast: req.headers behaves as Node’s (its Object.prototype methods work)', async (t) => {
    const seen: boolean[] = [];
    const { port } = await serve(t, 'fast', {
      authenticate: (req) => {
        seen.push(Object.hasOwn(req.headers, 'host'), Object.hasOwn(req.headers, 'cookie'));
      },
    });
    assert.equal(await firstStatus(t, port, upgradeRequest().text), 101);
    assert.deepEqual(seen, [true, false]);
  });
});
