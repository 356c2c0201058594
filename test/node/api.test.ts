import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import {
  type RawData as WsRawData,
  WebSocket as WsWebSocket,
  WebSocketServer as WsWebSocketServer,
} from 'ws';
import {
  type RawData,
  WebSocket,
  type WebSocketEvents,
  WebSocketServer,
  type WebSocketServerEvents,
} from '../../src/index.js';
import { ErrorCode, UsageError } from '../../src/protocol/index.js';
import { client, connectPair, next, startServer } from '../helpers/node-util.js';

// ---- compile-time checks: tsc fails on this file if an event's types drift from ws's ----

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const typeChecks = {
  rawData: true as Equal<RawData, WsRawData>,
  message: true as Equal<WebSocketEvents['message'], [data: WsRawData, isBinary: boolean]>,
  close: true as Equal<WebSocketEvents['close'], [code: number, reason: Buffer]>,
  ping: true as Equal<WebSocketEvents['ping'], [data: Buffer]>,
  pong: true as Equal<WebSocketEvents['pong'], [data: Buffer]>,
  error: true as Equal<WebSocketEvents['error'], [error: Error]>,
  open: true as Equal<WebSocketEvents['open'], []>,
  upgrade: true as Equal<WebSocketEvents['upgrade'], [response: IncomingMessage]>,
  unexpected: true as Equal<
    WebSocketEvents['unexpected-response'],
    [request: ClientRequest, response: IncomingMessage]
  >,
  redirect: true as Equal<WebSocketEvents['redirect'], [url: string, request: ClientRequest]>,
  connection: true as Equal<
    WebSocketServerEvents['connection'],
    [ws: WebSocket, req: IncomingMessage]
  >,
  headers: true as Equal<WebSocketServerEvents['headers'], [lines: string[], req: IncomingMessage]>,
};

/** Listeners written for ws's types must be accepted by tsws's `on`. */
function listenersWrittenForWs(ws: WebSocket, wss: WebSocketServer): void {
  ws.on('message', (data: WsRawData, isBinary: boolean) => void [data, isBinary]);
  ws.on('close', (code: number, reason: Buffer) => void [code, reason]);
  ws.on('ping', (data: Buffer) => void data);
  ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => void [req, res]);
  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => void [socket, req]);
  wss.on('wsClientError', (error: Error) => void error);
}
void listenersWrittenForWs;

describe('ws API surface', () => {
  it('the event types match ws (checked by tsc)', () => {
    assert.ok(Object.values(typeChecks).every((v) => v === true));
  });

  it('has the ready-state constants, static and on instances, with ws values', async (t) => {
    const names = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;
    assert.deepEqual(
      names.map((n) => WebSocket[n]),
      [0, 1, 2, 3],
    );
    for (const name of names) assert.equal(WebSocket[name], WsWebSocket[name], name);
    const pair = await connectPair(t);
    for (const ws of [pair.client, pair.server]) {
      assert.deepEqual(
        names.map((n) => ws[n]),
        [0, 1, 2, 3],
      );
    }
    assert.ok(
      Object.keys(WebSocket.prototype).includes('OPEN'),
      'enumerable on the prototype, as in ws',
    );
  });

  it('readyState holds the constants through the life of a connection', async (t) => {
    const { url } = await startServer(t);
    const ws = client(t, url);
    const states = [ws.readyState];
    ws.on('open', () => {
      states.push(ws.readyState);
      ws.close();
      states.push(ws.readyState);
    });
    await next(ws, 'close');
    states.push(ws.readyState);
    assert.deepEqual(states, [
      WebSocket.CONNECTING,
      WebSocket.OPEN,
      WebSocket.CLOSING,
      WebSocket.CLOSED,
    ]);
  });

  it('connections have url, protocol, extensions, binaryType, bufferedAmount, isPaused', async (t) => {
    const { client: ws, server, url } = await connectPair(t);
    assert.equal(ws.url, `${url}/`);
    assert.equal(ws.protocol, '');
    assert.equal(ws.extensions, '');
    assert.equal(server.extensions, '');
    assert.equal(ws.binaryType, 'nodebuffer');
    assert.equal(ws.bufferedAmount, 0);
    assert.equal(ws.isPaused, false);
    assert.equal(server.isPaused, false);
  });

  it('WebSocket has every public member of ws WebSocket (including the EventTarget API)', () => {
    const missing = Object.getOwnPropertyNames(WsWebSocket.prototype)
      .filter((name) => !name.startsWith('_') && !['setSocket', 'emitClose'].includes(name))
      .filter((name) => !(name in WebSocket.prototype));
    assert.deepEqual(missing, []);
  });

  it('WebSocketServer has every public member of ws WebSocketServer', () => {
    const missing = Object.getOwnPropertyNames(WsWebSocketServer.prototype)
      .filter((name) => !['completeUpgrade'].includes(name))
      .filter((name) => !(name in WebSocketServer.prototype));
    assert.deepEqual(missing, []);
  });

  it('WebSocket and WebSocketServer are EventEmitters, like ws', async (t) => {
    const { wss, client: ws } = await connectPair(t);
    assert.ok(ws instanceof EventEmitter);
    assert.ok(wss instanceof EventEmitter);
  });

  it('the options given are kept on wss.options, with clientTracking defaulting to true', async (t) => {
    const { wss } = await startServer(t, { maxPayload: 1234, path: '/p' });
    assert.equal(wss.options.maxPayload, 1234);
    assert.equal(wss.options.path, '/p');
    assert.equal(wss.options.clientTracking, true);
  });
});

describe('sending on a closed connection', () => {
  it('calls back with a UsageError coded WS_ERR_INVALID_STATE', async (t) => {
    const { client: ws } = await connectPair(t);
    ws.close();
    const error = await new Promise<Error | null | undefined>((resolve) =>
      ws.send('late', resolve),
    );
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.code, ErrorCode.InvalidState);
  });
});
