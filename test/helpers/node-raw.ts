import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import type { ServerOptions, WebSocket, WebSocketServer } from '../../src/index.js';
import { type DecodedFrame, decodeFrames, encodeFrame, type RawFrame } from './frames.js';
import { defer, next, portOf, quietly, startServer, WAIT, within } from './node-util.js';

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** A parsed HTTP response head (names in lower case) and whatever followed it. */
export interface RawResponse {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A 101 response's head, and its length in bytes with the blank line. */
export type RawHead = Omit<RawResponse, 'body'> & { headLength: number };

function parseHead(head: string): Omit<RawResponse, 'body'> {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { statusLine, status: Number(statusLine.split(' ')[1]), headers };
}

/** A TCP connection to 127.0.0.1:port, destroyed after the test. */
export async function rawConnect(t: TestContext, port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  defer(t, () => socket.destroy());
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    'TCP connect',
  );
  return socket;
}

/**
 * Writes `request` on a new connection and reads the whole answer, until the server ends the
 * connection. For refusals, which close the connection after the response.
 */
export async function httpExchange(
  t: TestContext,
  port: number,
  request: string,
): Promise<RawResponse & { ended: boolean }> {
  const socket = await rawConnect(t, port);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.write(request);
  const ended = await within(
    new Promise<boolean>((resolve) => {
      socket.once('end', () => resolve(true));
      socket.once('close', () => resolve(false));
    }),
    'the server to end the connection',
  );
  const text = Buffer.concat(chunks).toString();
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) throw new Error(`no HTTP response head in ${JSON.stringify(text)}`);
  return { ...parseHead(text.slice(0, split)), body: text.slice(split + 4), ended };
}

/** An upgrade request's text with the usual headers, which `headers` may replace or drop. */
export function upgradeRequest(
  options: {
    path?: string;
    method?: string;
    version?: string;
    headers?: Record<string, string | undefined>;
  } = {},
): { text: string; key: string } {
  const key = randomBytes(16).toString('base64');
  const headers: Record<string, string | undefined> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
    ...options.headers,
  };
  const lines = [
    `${options.method ?? 'GET'} ${options.path ?? '/'} HTTP/${options.version ?? '1.1'}`,
  ];
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) lines.push(`${name}: ${value}`);
  }
  return { text: `${lines.join('\r\n')}\r\n\r\n`, key };
}

/**
 * Reads frames from a socket: `nextFrame()` waits for the next one, and `end`/`closed`
 * resolve when the peer ends its side or the socket closes.
 */
export class FrameReader {
  private rest: Buffer;
  private chunks: Buffer[] = [];
  private readonly queue: DecodedFrame[] = [];
  private waiter: (() => void) | undefined;
  /** Bytes received, in total. */
  received = 0;
  readonly end: Promise<void>;
  readonly closed: Promise<void>;
  gotEnd = false;

  constructor(
    readonly socket: net.Socket,
    initial: Buffer = Buffer.alloc(0),
  ) {
    this.rest = initial;
    this.received = initial.length;
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.chunks.push(chunk);
      // Decoding waits until someone asks for a frame, so that big transfers cost one copy.
      if (this.waiter !== undefined) this.parse();
    });
    socket.on('error', () => {});
    socket.resume();
    this.end = new Promise((resolve) =>
      socket.once('end', () => {
        this.gotEnd = true;
        resolve();
      }),
    );
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  private parse(): void {
    if (this.chunks.length > 0) {
      this.rest = Buffer.concat([this.rest, ...this.chunks]);
      this.chunks = [];
    }
    const { frames, rest } = decodeFrames(this.rest);
    this.rest = rest;
    this.queue.push(...frames);
    if (frames.length > 0) this.waiter?.();
  }

  /** The next frame, or an error if none comes within `ms`. */
  async nextFrame(ms = WAIT): Promise<DecodedFrame> {
    this.parse();
    if (this.queue.length === 0) {
      try {
        await within(
          new Promise<void>((resolve) => {
            this.waiter = resolve;
          }),
          'a frame from the peer',
          ms,
        );
      } finally {
        this.waiter = undefined;
      }
    }
    return this.queue.shift()!;
  }

  /** Frames already received and not yet taken. */
  get pending(): number {
    this.parse();
    return this.queue.length;
  }

  /** Writes a frame; masked unless `frame.mask` says otherwise (a client's frames are). */
  send(frame: RawFrame): void {
    this.socket.write(encodeFrame(frame));
  }
}

/**
 * Does the opening handshake by hand as a client over TCP and returns a reader for the
 * server's frames. Fails unless the server answers 101.
 */
export async function rawUpgrade(
  t: TestContext,
  port: number,
  options: Parameters<typeof upgradeRequest>[0] = {},
): Promise<FrameReader & { response: RawHead }> {
  const socket = await rawConnect(t, port);
  const { text } = upgradeRequest(options);
  socket.write(text);
  const { head, rest } = await readHead(socket);
  const response = { ...parseHead(head), headLength: Buffer.byteLength(head) + 4 };
  if (response.status !== 101) throw new Error(`expected 101, got ${response.statusLine}`);
  const reader = new FrameReader(socket, rest) as FrameReader & { response: RawHead };
  reader.response = response;
  return reader;
}

/** Reads up to the end of an HTTP head; `rest` is what followed it in the same reads. */
export function readHead(socket: net.Socket): Promise<{ head: string; rest: Buffer }> {
  return within(
    new Promise((resolve, reject) => {
      let buffer = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.pause();
        resolve({ head: buffer.subarray(0, end).toString(), rest: buffer.subarray(end + 4) });
      };
      const onClose = () => reject(new Error('connection closed before an HTTP head'));
      socket.on('data', onData);
      socket.once('close', onClose);
    }),
    'an HTTP head',
  );
}

/**
 * A raw TCP server on 127.0.0.1 that hands each connection to `onConnection`; it and its
 * sockets are destroyed after the test.
 */
export async function rawServer(
  t: TestContext,
  onConnection: (socket: net.Socket) => void,
): Promise<{ server: net.Server; port: number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  defer(
    t,
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: portOf(server) };
}

/** The value of a request header in a raw request head (names compared in lower case). */
export function requestHeader(head: string, name: string): string | undefined {
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name.toLowerCase()) {
      return line.slice(colon + 1).trim();
    }
  }
  return undefined;
}

/**
 * A tsws server's connection whose peer is a hand-driven TCP client: the test writes frames
 * (masked, as a client's must be, unless it says otherwise) and reads what tsws wrote.
 */
export async function rawPair(
  t: TestContext,
  options: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {},
  request: Parameters<typeof upgradeRequest>[0] = {},
): Promise<{ wss: WebSocketServer; server: WebSocket; peer: FrameReader & { response: RawHead } }> {
  const { wss, port } = await startServer(t, options);
  const connection = next<[WebSocket]>(wss, 'connection');
  const peer = await rawUpgrade(t, port, request);
  const [server] = await connection;
  defer(t, () => quietly(() => server.terminate()));
  return { wss, server, peer };
}
