// The server side of the browser comparison suites: one tsws server (attached to an http server
// that also serves the blank page the scenarios run in) with an endpoint per behaviour, and a
// raw TCP server for what tsws will not do on purpose (bad frames, bad handshakes). Every
// connection records what the server saw under the `id` query parameter of its URL, so a
// scenario can log the server's side too (`/log?id=`).
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { UpgradeRejection, type WebSocket, WebSocketServer } from '../../src/index.js';
import { decodeFrames, encodeFrame } from './frames.js';

/** What the server saw on one connection, in order. The last entry of a finished one is terminal. */
export type ServerEntry = Record<string, unknown> & { event: string };

export interface TestServer {
  port: number;
  /** `http://127.0.0.1:PORT`: the blank page is at `/`. */
  httpUrl: string;
  /** `ws://127.0.0.1:PORT`: the tsws endpoints. */
  wsUrl: string;
  /** `ws://127.0.0.1:RAWPORT`: the hand-written server. */
  rawUrl: string;
  /** The server-side tsws connection of a scenario's `id`, once it is open. */
  connection(id: string): WebSocket | undefined;
  /** What the server saw for `id`, once the connection is over (or after `ms`). */
  log(id: string, ms?: number): Promise<ServerEntry[]>;
  close(): Promise<void>;
}

const BLANK_PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>tsws test</title></head><body></body></html>';
const TERMINAL = new Set(['close', 'refused', 'tcp-closed']);
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The bytes the `/big` endpoint sends: a pattern both sides can check by length and hash. */
export function bigPayload(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
}

export async function startTestServer(): Promise<TestServer> {
  const logs = new Map<string, ServerEntry[]>();
  const waiters = new Map<string, (() => void)[]>();
  const connections = new Map<string, WebSocket>();
  const headers = new Map<string, http.IncomingHttpHeaders>();
  const timers = new Set<NodeJS.Timeout>();
  const bigCache = new Map<number, Buffer>();

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const record = (id: string, entry: ServerEntry) => {
    if (id === '') return;
    const entries = logs.get(id) ?? [];
    logs.set(id, entries);
    entries.push(entry);
    if (TERMINAL.has(entry.event)) {
      const list = waiters.get(id) ?? [];
      waiters.delete(id);
      for (const wake of list) wake();
    }
  };
  const finished = (id: string) => {
    const entries = logs.get(id);
    return entries?.some((e) => TERMINAL.has(e.event)) === true;
  };
  const log = (id: string, ms = 5000) =>
    new Promise<ServerEntry[]>((resolve) => {
      if (finished(id)) {
        resolve(logs.get(id)!);
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve([...(logs.get(id) ?? []), { event: 'log-timeout', ms }]);
      }, ms);
      timers.add(timer);
      const list = waiters.get(id) ?? [];
      waiters.set(id, list);
      list.push(() => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(logs.get(id)!);
      });
    });

  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const id = url.searchParams.get('id') ?? '';
    const json = (value: unknown) => {
      const body = JSON.stringify(value);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(BLANK_PAGE);
    } else if (url.pathname === '/log') {
      log(id, Number(url.searchParams.get('ms') ?? 5000)).then(json);
    } else if (url.pathname === '/headers') {
      json(headers.get(id) ?? null);
    } else {
      res.writeHead(404);
      res.end();
    }
  });

  const queryOf = (req: http.IncomingMessage) => new URL(req.url ?? '/', 'http://127.0.0.1');
  const wss = new WebSocketServer({
    server: httpServer,
    heartbeat: false,
    closeTimeout: 5000,
    handleProtocols(offered, req) {
      const choose = queryOf(req).searchParams.get('choose');
      if (choose === null) return [...offered][0] ?? false;
      return choose === 'none' ? false : choose;
    },
    async authenticate(req) {
      const url = queryOf(req);
      const id = url.searchParams.get('id') ?? '';
      headers.set(id, req.headers);
      const offered = req.headers['sec-websocket-protocol'];
      record(id, {
        event: 'upgrade',
        path: url.pathname,
        protocols: offered === undefined ? [] : offered.split(',').map((p) => p.trim()),
      });
      if (url.pathname === '/refuse') {
        record(id, { event: 'refused', status: 403 });
        throw new UpgradeRejection(403, 'Forbidden');
      }
      if (url.pathname === '/slow-handshake') {
        await new Promise<void>((resolve) =>
          later(Number(url.searchParams.get('ms') ?? 500), resolve),
        );
        if (req.socket.destroyed) record(id, { event: 'tcp-closed', during: 'handshake' });
      }
      return undefined;
    },
  });

  wss.on('connection', (ws, req) => {
    const url = queryOf(req);
    const q = url.searchParams;
    const id = q.get('id') ?? '';
    connections.set(id, ws);
    record(id, { event: 'open', protocol: ws.protocol });
    let count = 0;
    let bytes = 0;
    ws.on('message', (data, isBinary) => {
      const buffer = data as Buffer;
      count++;
      bytes += buffer.length;
      const entry: ServerEntry = { event: 'message', binary: isBinary, length: buffer.length };
      if (!isBinary && buffer.length <= 200) entry.text = buffer.toString();
      if (buffer.length > 200) entry.sha256 = createHash('sha256').update(buffer).digest('hex');
      record(id, entry);
      onMessage(buffer, isBinary);
    });
    ws.on('close', (code, reason) => {
      connections.delete(id);
      record(id, { event: 'close', code, reason: reason.toString() });
    });

    const echo = (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary });
    const closeWithQuery = () => {
      const code = q.get('code');
      if (code === null) ws.close();
      else ws.close(Number(code), q.get('reason') ?? '');
    };
    let onMessage: (data: Buffer, isBinary: boolean) => void = echo;
    const after = Number(q.get('after') ?? 1);
    switch (url.pathname) {
      case '/echo':
      case '/protocol':
      case '/slow-handshake':
        break;
      case '/close':
        // Echo `after` messages, then close with ?code=&reason= (no code: an empty close frame).
        if (after === 0) closeWithQuery();
        else
          onMessage = (data, isBinary) => {
            echo(data, isBinary);
            if (count === after) closeWithQuery();
          };
        break;
      case '/terminate':
        // Drop TCP without a closing handshake, right after open or after `after` messages.
        if (after === 0) ws.terminate();
        else
          onMessage = (data, isBinary) => {
            if (count < after) echo(data, isBinary);
            else ws.terminate();
          };
        break;
      case '/kinds':
        // Text, empty text, binary, empty binary, non-ASCII text: one write.
        ws.send('hello');
        ws.send('');
        ws.send(Buffer.from([0, 1, 2, 127, 128, 255]));
        ws.send(Buffer.alloc(0));
        ws.send('héllo wörld ✓ 😀');
        break;
      case '/burst': {
        // `count` text messages in one write (one TCP read on the other side), then maybe a close.
        const n = Number(q.get('count') ?? 3);
        for (let i = 1; i <= n; i++) ws.send(`m${i}`);
        if (q.get('code') !== null) closeWithQuery();
        break;
      }
      case '/big':
        // Each message asks for one binary message of `size` bytes.
        onMessage = () => {
          const size = Number(q.get('size') ?? 1024 * 1024);
          const payload = bigCache.get(size) ?? bigPayload(size);
          bigCache.set(size, payload);
          ws.send(payload);
        };
        break;
      case '/slow':
        // Stops reading for `ms`, so the client's buffers fill; 'done' is answered with the count.
        ws.pause();
        later(Number(q.get('ms') ?? 500), () => ws.resume());
        onMessage = (data, isBinary) => {
          if (!isBinary && data.toString() === 'done') ws.send(`received ${bytes - 4}`);
        };
        break;
      case '/flood': {
        // Sends `count` binary messages of `size` bytes as fast as tsws takes them.
        const n = Number(q.get('count') ?? 256);
        const size = Number(q.get('size') ?? 64 * 1024);
        const payload = bigPayload(size);
        for (let i = 0; i < n; i++) ws.send(payload);
        onMessage = () => {};
        break;
      }
      default:
        ws.close(4404, 'no such endpoint');
    }
  });

  // The hand-written server: a correct or deliberately wrong 101, then deliberately wrong frames.
  const rawSockets = new Set<net.Socket>();
  const rawServer = net.createServer((socket) => {
    rawSockets.add(socket);
    socket.on('close', () => rawSockets.delete(socket));
    socket.on('error', () => {});
    let head: Buffer = Buffer.alloc(0);
    let id = '';
    let upgraded = false;
    let received: Buffer = Buffer.alloc(0);
    let sawClose = false;
    /** close-linger: the server has sent its close frame and never closes TCP. */
    let linger = false;
    socket.on('close', () => record(id, { event: 'tcp-closed' }));
    // Whether the client's side ends with FIN or RST is not logged: Chromium does either.
    socket.on('end', () => socket.end());
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) {
        received = Buffer.concat([received, chunk]);
        const { frames, rest } = decodeFrames(received);
        received = rest;
        for (const frame of frames) {
          if (frame.opcode !== 8 || sawClose) continue;
          sawClose = true;
          const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null;
          record(id, { event: 'close-frame', code });
          if (linger) continue;
          // Answer the closing handshake the client started (or the failure it reported) and end.
          socket.end(encodeFrame({ opcode: 8, payload: frame.payload.subarray(0, 2) }));
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const target = new URL(lines[0]!.split(' ')[1] ?? '/', 'http://127.0.0.1');
      id = target.searchParams.get('id') ?? '';
      const fields = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0)
          fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const key = fields.get('sec-websocket-key') ?? '';
      let accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      const extra: string[] = [];
      const mode = target.pathname.slice(1);
      record(id, { event: 'upgrade', path: target.pathname });
      if (mode === 'bad-accept') accept = createHash('sha1').update('nope').digest('base64');
      if (mode === 'unoffered-protocol') extra.push('Sec-WebSocket-Protocol: unoffered');
      const response = [
        'HTTP/1.1 101 Switching Protocols',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Accept: ${accept}`,
        ...extra,
        '',
        '',
      ].join('\r\n');
      const frames: Buffer[] = [];
      switch (mode) {
        case 'bad-frame':
          // A text message, then a frame with reserved opcode 3 (RFC 6455 §5.2: fail).
          frames.push(encodeFrame({ opcode: 1, payload: 'before' }));
          frames.push(encodeFrame({ opcode: 3, payload: 'x' }));
          break;
        case 'bad-utf8':
          frames.push(encodeFrame({ opcode: 1, payload: Buffer.from([0x68, 0xc3, 0x28]) }));
          break;
        case 'masked':
          // A server must not mask (RFC 6455 §5.1).
          frames.push(encodeFrame({ opcode: 1, payload: 'masked', mask: true }));
          break;
        case 'rsv1':
          // RSV1 without a negotiated extension.
          frames.push(encodeFrame({ opcode: 1, payload: 'rsv', rsv1: true }));
          break;
        case 'close-1005':
          // 1005 must never be sent in a close frame (RFC 6455 §7.4.1).
          frames.push(encodeFrame({ opcode: 8, payload: Buffer.from([0x03, 0xed]) }));
          break;
        case 'fin':
          // A message, then TCP FIN without a closing handshake.
          frames.push(encodeFrame({ opcode: 1, payload: 'bye' }));
          break;
        case 'close-linger':
          // Close 4002 "linger", then TCP stays open: the client must close it.
          linger = true;
          frames.push(encodeFrame({ opcode: 8, payload: Buffer.from('\x0f\xa2linger', 'latin1') }));
          break;
        case 'bad-accept':
        case 'unoffered-protocol':
          break;
        default:
          frames.push(encodeFrame({ opcode: 8, payload: Buffer.from([0x0f, 0xa4]) }));
      }
      socket.write(Buffer.concat([Buffer.from(response, 'latin1'), ...frames]));
      if (mode === 'fin') socket.end();
    });
  });

  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => rawServer.listen(0, '127.0.0.1', resolve));
  const port = (httpServer.address() as AddressInfo).port;
  const rawPort = (rawServer.address() as AddressInfo).port;

  return {
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    rawUrl: `ws://127.0.0.1:${rawPort}`,
    connection: (id) => connections.get(id),
    log,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const ws of connections.values()) ws.terminate();
      for (const socket of rawSockets) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await new Promise<void>((resolve) => rawServer.close(() => resolve()));
    },
  };
}
