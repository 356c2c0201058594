import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type * as net from 'node:net';
import type { TestContext } from 'node:test';
import { inspect } from 'node:util';
import type { WebSocket as NodeWebSocket, ServerOptions } from '../../src/index.js';
import {
  CloseEvent,
  WebSocket,
  type WebSocketOptions,
  WebSocketStream,
  type WebSocketStreamOptions,
} from '../../src/whatwg/index.js';
import { acceptKey, FrameReader, rawServer, readHead, requestHeader } from './node-raw.js';
import { defer, next, quietly, startServer, WAIT, within } from './node-util.js';

export { CloseEvent, WebSocket, WebSocketStream };

/** A recorded event of a WHATWG WebSocket. */
export interface Logged {
  type: string;
  event: Event;
}

/**
 * A WHATWG WebSocket whose open/message/error/close events are recorded in `log` (with
 * addEventListener, before any test listener). After the test it is closed and its `close`
 * event awaited (bounded), so no connection outlives the test.
 */
export function whatwgClient(
  t: TestContext,
  url: string | URL,
  protocols?: string | string[],
  options?: WebSocketOptions,
): { ws: WebSocket; log: Logged[]; closed: (ms?: number) => Promise<CloseEvent> } {
  const ws =
    options === undefined
      ? protocols === undefined
        ? new WebSocket(url)
        : new WebSocket(url, protocols)
      : new WebSocket(url, protocols, options);
  const log: Logged[] = [];
  for (const type of ['open', 'message', 'error', 'close']) {
    ws.addEventListener(type, (event) => log.push({ type, event }));
  }
  const closeEvent = new Promise<CloseEvent>((resolve) => {
    ws.addEventListener('close', (event) => resolve(event as CloseEvent), { once: true });
  });
  defer(t, async () => {
    if (ws.readyState !== WebSocket.CLOSED) quietly(() => ws.close());
    await within(closeEvent, 'the WHATWG WebSocket to close after the test').catch(() => {});
  });
  /** The close event, or an error if it has not come within `ms`. */
  const closed = (ms = WAIT) => within(closeEvent, 'the close event', ms);
  return { ws, log, closed };
}

/** The types of the recorded events, in order. */
export function types(log: Logged[]): string[] {
  return log.map((entry) => entry.type);
}

/** The next event `type` dispatched at `target`, or an error after `ms`. */
export function nextEvent<E extends Event = Event>(
  target: EventTarget,
  type: string,
  ms = WAIT,
): Promise<E> {
  return within(
    new Promise<E>((resolve) => {
      target.addEventListener(type, (event) => resolve(event as E), { once: true });
    }),
    `event "${type}"`,
    ms,
  );
}

/** The first of the events `types` dispatched at `target`, or an error after `ms`. */
export function firstEvent<E extends Event = Event>(
  target: EventTarget,
  types: string[],
  ms = WAIT,
): Promise<E> {
  const controller = new AbortController();
  return within(
    new Promise<E>((resolve) => {
      for (const type of types) {
        target.addEventListener(type, (event) => resolve(event as E), {
          once: true,
          signal: controller.signal,
        });
      }
    }),
    `one of the events ${types.join(', ')}`,
    ms,
  ).finally(() => controller.abort());
}

/**
 * A tsws server and a WHATWG client, both open: `server` is the server's side of the
 * connection, `req` the upgrade request it saw.
 */
export async function openPair(
  t: TestContext,
  serverOptions: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {},
  protocols?: string | string[],
  options?: WebSocketOptions,
  path = '/',
): Promise<{
  ws: WebSocket;
  log: Logged[];
  closed: (ms?: number) => Promise<CloseEvent>;
  server: NodeWebSocket;
  req: IncomingMessage;
  url: string;
  port: number;
}> {
  const { wss, url, port } = await startServer(t, serverOptions);
  const connection = next<[NodeWebSocket, IncomingMessage]>(wss, 'connection');
  const { ws, log, closed } = whatwgClient(t, url + path, protocols, options);
  const [[server, req]] = await Promise.all([connection, nextEvent(ws, 'open')]);
  defer(t, () => quietly(() => server.terminate()));
  return { ws, log, closed, server, req, url, port };
}

/** A tsws server that echoes every message (text as text, binary as binary). */
export async function echoServer(
  t: TestContext,
  serverOptions: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {},
): Promise<{ url: string; port: number; connection: Promise<[NodeWebSocket, IncomingMessage]> }> {
  const { wss, url, port } = await startServer(t, serverOptions);
  const connection = next<[NodeWebSocket, IncomingMessage]>(wss, 'connection');
  wss.on('connection', (ws: NodeWebSocket) => {
    ws.on('message', (data, isBinary) => {
      if (ws.readyState === ws.OPEN) ws.send(data as Buffer, { binary: isBinary });
    });
  });
  return { url, port, connection };
}

/** A WebSocketStream whose connection is closed (or aborted) after the test. */
export function streamClient(
  t: TestContext,
  url: string | URL,
  options?: WebSocketStreamOptions,
): WebSocketStream {
  const wss = new WebSocketStream(url, options);
  defer(t, async () => {
    quietly(() => wss.close());
    await within(
      wss.closed.then(
        () => {},
        () => {},
      ),
      'the WebSocketStream to close after the test',
    ).catch(() => {});
  });
  return wss;
}

/** Asserts that `fn` throws a DOMException named `name` (and not some other error). */
export function throwsDOMException(fn: () => unknown, name: string, what?: string): DOMException {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `${what ?? 'the call'} should throw a ${name} DOMException`);
  assert.ok(
    caught instanceof DOMException,
    `${what ?? 'the call'}: expected a DOMException, got ${inspect(caught)}`,
  );
  assert.equal(caught.name, name, `${what ?? 'the call'}: ${caught.message}`);
  return caught;
}

/** Asserts that `promise` rejects (within WAIT) with a DOMException named `name`. */
export async function rejectsDOMException(
  promise: Promise<unknown>,
  name: string,
  what = 'the promise',
): Promise<DOMException> {
  const result = await within(
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    what,
  );
  assert.ok(!result.ok, `${what} should reject, but fulfilled with ${inspect(result)}`);
  assert.ok(
    result.error instanceof DOMException,
    `${what}: expected a DOMException, got ${inspect(result.error)}`,
  );
  assert.equal(result.error.name, name, `${what}: ${result.error.message}`);
  return result.error;
}

/** The settled state of a promise, read without attaching a handler to it. */
export function promiseState(promise: Promise<unknown>): 'pending' | 'fulfilled' | 'rejected' {
  const text = inspect(promise, { depth: 0 });
  if (text.includes('<pending>')) return 'pending';
  if (text.includes('<rejected>')) return 'rejected';
  return 'fulfilled';
}

/** Bytes of a binary value (ArrayBuffer, a view, a Blob) as a Buffer. */
export async function bytesOf(value: unknown): Promise<Buffer> {
  if (value instanceof Blob) return Buffer.from(await value.arrayBuffer());
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`not binary: ${inspect(value)}`);
}

/** A pause of `ms` milliseconds (to let traffic settle; never asserted on). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A hand-written WebSocket server on a raw TCP socket: it reads the upgrade request, answers
 * 101 (with `protocol` and `extraHeaders` if given), and hands a FrameReader over the socket
 * (frames it sends are unmasked unless told otherwise) and the request head to `onOpen`.
 * `silent: true` reads the request and never answers.
 */
export async function rawWebSocketServer(
  t: TestContext,
  onOpen: (peer: FrameReader, head: string, socket: net.Socket) => void,
  options: { protocol?: string; extraHeaders?: string[]; silent?: boolean } = {},
): Promise<{ port: number; url: string; requests: Promise<string>; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  let gotRequest!: (head: string) => void;
  const requests = new Promise<string>((resolve) => {
    gotRequest = resolve;
  });
  const { port } = await rawServer(t, async (socket) => {
    // Registered after the client's clean-up, so it runs before it: a client waiting for this
    // hand-driven server to finish a closing handshake sees TCP close instead.
    defer(t, () => socket.destroy());
    sockets.push(socket);
    let head: string;
    let rest: Buffer;
    try {
      ({ head, rest } = await readHead(socket));
    } catch {
      return;
    }
    gotRequest(head);
    if (options.silent) {
      socket.resume();
      return;
    }
    const key = requestHeader(head, 'sec-websocket-key') ?? '';
    const lines = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${acceptKey(key)}`,
    ];
    if (options.protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${options.protocol}`);
    lines.push(...(options.extraHeaders ?? []));
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    onOpen(new FrameReader(socket, rest), head, socket);
  });
  return { port, url: `ws://127.0.0.1:${port}`, requests, sockets };
}

/** Listens for `unhandledRejection` during the test; returns the reasons seen. */
export function watchUnhandledRejections(t: TestContext): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  defer(t, () => process.off('unhandledRejection', listener));
  return seen;
}
