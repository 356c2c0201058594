import type { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import {
  type ClientOptions,
  type ServerOptions,
  WebSocket,
  WebSocketServer,
} from '../../src/index.js';

/** How long a test waits for something that should happen at once before failing. */
export const WAIT = 5000;

/** Rejects with a message naming `what` if `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The arguments of the next `event` of `emitter`. Unlike `events.once`, it adds no `error`
 * listener: tsws emits `error` only when someone listens, so listening would change behaviour.
 */
export function next<A extends unknown[] = unknown[]>(
  emitter: EventEmitter | { once(event: string, listener: (...args: never[]) => void): unknown },
  event: string,
  ms = WAIT,
): Promise<A> {
  return within(
    new Promise<A>((resolve) => {
      (emitter as EventEmitter).once(event, (...args: unknown[]) => resolve(args as A));
    }),
    `event "${event}"`,
    ms,
  );
}

/** Resolves once `condition()` holds, checking after each turn of the event loop. */
export async function until(condition: () => boolean, what: string, ms = WAIT): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const stacks = new WeakMap<TestContext, (() => unknown)[]>();

/**
 * Runs `fn` after the test, in reverse order of registration (the last resource acquired is
 * released first), whatever the test's outcome.
 */
export function defer(t: TestContext, fn: () => unknown): void {
  let stack = stacks.get(t);
  if (stack === undefined) {
    const fns: (() => unknown)[] = [];
    stack = fns;
    stacks.set(t, fns);
    t.after(async () => {
      while (fns.length > 0) await fns.pop()!();
    });
  }
  stack.push(fn);
}

/**
 * Runs a clean-up step, ignoring what it throws: tests check the clean-up calls themselves
 * (terminate() twice must not throw); here a failure there must not hide the test's result.
 */
export function quietly(fn: () => unknown): void {
  try {
    fn();
  } catch {}
}

/** Lets pending I/O callbacks and timers of 0 ms run `turns` times. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Records the events of a WebSocket (or anything) in order, with their arguments. */
export function record(
  emitter: EventEmitter,
  events: string[],
): { name: string; args: unknown[] }[] {
  const log: { name: string; args: unknown[] }[] = [];
  for (const name of events) emitter.on(name, (...args: unknown[]) => log.push({ name, args }));
  return log;
}

export function portOf(server: { address(): AddressInfo | string | null }): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return address.port;
}

/** Closes a server quickly at the end of a test: terminates its clients first. */
export async function shutdown(wss: WebSocketServer): Promise<void> {
  for (const ws of wss.clients ?? []) ws.terminate();
  await within(
    new Promise<void>((resolve) => wss.close(() => resolve())),
    'WebSocketServer.close()',
  );
}

/** A standalone server on 127.0.0.1 and a free port, closed after the test. */
export async function startServer(
  t: TestContext,
  options: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {},
): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  defer(t, () => shutdown(wss));
  await next(wss, 'listening');
  const port = portOf(wss);
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** A client terminated after the test. */
export function client(
  t: TestContext,
  url: string,
  protocols?: string | string[] | ClientOptions,
  options?: ClientOptions,
): WebSocket {
  const ws =
    protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)
      ? new WebSocket(url, protocols)
      : new WebSocket(url, protocols, options);
  defer(t, () => quietly(() => ws.terminate()));
  return ws;
}

/**
 * A connected pair: a tsws server's connection and a tsws client, both open. Both are
 * terminated and the server closed after the test.
 */
export async function connectPair(
  t: TestContext,
  serverOptions: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {},
  clientOptions: ClientOptions = {},
  path = '/',
): Promise<{ wss: WebSocketServer; server: WebSocket; client: WebSocket; url: string }> {
  const { wss, url } = await startServer(t, serverOptions);
  const connection = next<[WebSocket]>(wss, 'connection');
  const ws = client(t, url + path, clientOptions);
  const [[server]] = await Promise.all([connection, next(ws, 'open')]);
  defer(t, () => quietly(() => server.terminate()));
  return { wss, server, client: ws, url };
}

/** The next message of `ws`, as its data and binary flag. */
export async function nextMessage(
  ws: WebSocket,
  ms = WAIT,
): Promise<{ data: Buffer | ArrayBuffer | Buffer[]; isBinary: boolean }> {
  const [data, isBinary] = await next<[Buffer | ArrayBuffer | Buffer[], boolean]>(
    ws,
    'message',
    ms,
  );
  return { data, isBinary };
}

/** The next `n` messages of `ws`, in order. */
export function messages(
  ws: WebSocket,
  n: number,
  ms = WAIT,
): Promise<{ data: Buffer; isBinary: boolean }[]> {
  const got: { data: Buffer; isBinary: boolean }[] = [];
  return within(
    new Promise((resolve) => {
      const onMessage = (data: Buffer, isBinary: boolean) => {
        got.push({ data, isBinary });
        if (got.length === n) {
          ws.off('message', onMessage as never);
          resolve(got);
        }
      };
      ws.on('message', onMessage as never);
    }),
    `${n} messages (got ${got.length})`,
    ms,
  );
}

/** The `close` event of `ws` as code and reason text. */
export async function nextClose(
  ws: WebSocket,
  ms = WAIT,
): Promise<{ code: number; reason: string; raw: Buffer }> {
  const [code, reason] = await next<[number, Buffer]>(ws, 'close', ms);
  return { code, reason: reason.toString(), raw: reason };
}
