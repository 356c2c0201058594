// The handshake strings against real HTTP parsers: Node's http module and the ws library.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import {
  buildAcceptResponse,
  buildRejectResponse,
  createClientHandshake,
  HandshakeError,
  selectSubprotocol,
  validateServerResponse,
  validateUpgradeRequest,
} from '../../src/handshake/index.js';

/** An HTTP server that answers upgrades with this module's validation and responses. */
async function handshakeServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => res.end('plain'));
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    sockets.add(socket);
    const result = validateUpgradeRequest(req);
    if (!result.ok) {
      socket.end(buildRejectResponse(result.status, result));
      return;
    }
    const protocol = selectSubprotocol(result.protocols, ['chat']);
    socket.write(buildAcceptResponse({ key: result.key, protocol, headers: { 'X-Id': '1' } }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: async () => {
      // Upgraded sockets are no longer the server's to close.
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('the server handshake on the wire', { timeout: 10_000 }, () => {
  it('completes an opening handshake with a ws client', async () => {
    const server = await handshakeServer();
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, ['superchat', 'chat']);
      // ws emits 'open' in the same tick as 'upgrade': listen for both at once.
      const [[res]] = (await Promise.all([once(ws, 'upgrade'), once(ws, 'open')])) as [
        [http.IncomingMessage],
        unknown[],
      ];
      assert.equal(ws.protocol, 'chat');
      assert.equal(ws.extensions, '');
      assert.equal(res.headers['x-id'], '1');
      ws.terminate();
    } finally {
      await server.close();
    }
  });

  it('sends a 426 that Node parses, with the version and the body', async () => {
    const server = await handshakeServer();
    try {
      const { headers } = createClientHandshake({});
      headers['Sec-WebSocket-Version'] = '8';
      const req = http.get({ port: server.port, host: '127.0.0.1', headers });
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      assert.equal(res.statusCode, 426);
      assert.equal(res.statusMessage, 'Upgrade Required');
      assert.equal(res.headers['sec-websocket-version'], '13');
      assert.equal(res.headers.upgrade, 'websocket');
      assert.equal(res.headers.connection, 'Upgrade, close');
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(
        await readBody(res),
        'Missing or unsupported Sec-WebSocket-Version header (13 is required)',
      );
    } finally {
      await server.close();
    }
  });

  it('sends a 405 with Allow for an upgrade that is not a GET', async () => {
    const server = await handshakeServer();
    try {
      const { headers } = createClientHandshake({});
      const req = http.request({ port: server.port, host: '127.0.0.1', method: 'POST', headers });
      req.end();
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers.allow, 'GET');
      assert.equal(await readBody(res), 'The WebSocket handshake requires a GET request');
    } finally {
      await server.close();
    }
  });
});

describe('the client handshake on the wire', { timeout: 10_000 }, () => {
  async function wsServer(
    options: ConstructorParameters<typeof WebSocketServer>[0],
  ): Promise<{ server: WebSocketServer; port: number }> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
    await once(server, 'listening');
    return { server, port: (server.address() as AddressInfo).port };
  }

  it('is accepted by a ws server, and its answer validates', async () => {
    const { server, port } = await wsServer({
      perMessageDeflate: true,
      handleProtocols: (protocols) => (protocols.has('b') ? 'b' : false),
    });
    try {
      const expected = {
        protocols: ['a', 'b'],
        extensionsOffered: true,
      };
      const { key, headers } = createClientHandshake({
        ...expected,
        extensions: 'permessage-deflate; client_max_window_bits',
      });
      const req = http.get({ port, host: '127.0.0.1', path: '/', headers });
      const [res, socket] = (await once(req, 'upgrade')) as [
        http.IncomingMessage,
        import('node:net').Socket,
      ];
      const result = validateServerResponse(res, { ...expected, key });
      assert.ok(!(result instanceof HandshakeError), String(result));
      assert.equal(result.protocol, 'b');
      assert.equal(result.extensions[0]?.name, 'permessage-deflate');
      socket.destroy();
    } finally {
      server.close();
    }
  });

  it('reports a refused handshake with its status', async () => {
    const { server, port } = await wsServer({
      verifyClient: (_info, done) => done(false, 401),
    });
    try {
      const { key, headers } = createClientHandshake({});
      const req = http.get({ port, host: '127.0.0.1', headers });
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      res.resume();
      const result = validateServerResponse(res, {
        key,
        protocols: [],
        extensionsOffered: false,
      });
      assert.ok(result instanceof HandshakeError);
      assert.equal(result.code, 'WS_ERR_UNEXPECTED_RESPONSE');
      assert.equal(result.statusCode, 401);
    } finally {
      server.close();
    }
  });
});
