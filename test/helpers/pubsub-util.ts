import type { TestContext } from 'node:test';
import type { ClientOptions, ServerOptions, WebSocket, WebSocketServer } from '../../src/index.js';
import { client, defer, messages, next, quietly, startServer } from './node-util.js';

export interface Pair {
  /** The server's connection. */
  server: WebSocket;
  client: WebSocket;
}

/** A server and `n` connected pairs (clients open, in connection order). */
export async function pairs(
  t: TestContext,
  n: number,
  serverOptions: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {},
  clientOptions: ClientOptions | ((i: number) => ClientOptions) = {},
): Promise<{ wss: WebSocketServer; url: string; pairs: Pair[] }> {
  const { wss, url } = await startServer(t, serverOptions);
  const out: Pair[] = [];
  for (let i = 0; i < n; i++) out.push(await connect(t, wss, url, clientOptions, i));
  return { wss, url, pairs: out };
}

export async function connect(
  t: TestContext,
  wss: WebSocketServer,
  url: string,
  clientOptions: ClientOptions | ((i: number) => ClientOptions) = {},
  i = 0,
): Promise<Pair> {
  const connection = next<[WebSocket]>(wss, 'connection');
  const options = typeof clientOptions === 'function' ? clientOptions(i) : clientOptions;
  const ws = client(t, url, options);
  const [[server]] = await Promise.all([connection, next(ws, 'open')]);
  defer(t, () => quietly(() => server.terminate()));
  return { server, client: ws };
}

/** The next `n` messages of `ws` as text (binary ones as `<hex>`). */
export async function texts(ws: WebSocket, n: number, ms?: number): Promise<string[]> {
  const got = await messages(ws, n, ms);
  return got.map(({ data, isBinary }) =>
    isBinary ? `<${data.toString('hex')}>` : data.toString(),
  );
}

/** Records the frames each server connection hands to its protocol core as prepared bytes. */
export function spyPrepared(ws: WebSocket): Buffer[] {
  const conn = (ws as unknown as { _conn: { sendPreparedFrame(frame: Buffer): void } })._conn;
  const frames: Buffer[] = [];
  const original = conn.sendPreparedFrame.bind(conn);
  conn.sendPreparedFrame = (frame: Buffer) => {
    frames.push(frame);
    original(frame);
  };
  return frames;
}

/** Counts the writes a server connection makes to its transport. */
export function countWrites(ws: WebSocket): { count: number } {
  const transport = (ws as unknown as { _transport: { write(c: Buffer[], cb: unknown): void } })
    ._transport;
  const counter = { count: 0 };
  const original = transport.write.bind(transport);
  transport.write = (chunks, cb) => {
    counter.count++;
    original(chunks, cb);
  };
  return counter;
}
