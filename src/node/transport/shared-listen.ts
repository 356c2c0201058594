import type { Server } from 'node:net';
import { type TcpHandle, uvError } from './libuv.js';

/**
 * Listening in a worker of a WorkerPool (node/workers/): the primary binds each address once
 * and hands the same listening socket to every worker that asks (over the IPC channel, as a
 * raw TCP handle), so that N processes accept on one port, each with its own fast path.
 */

/** A worker asks its primary for the socket bound to `host`:`port`. */
export interface ListenRequest {
  readonly tsws: 'listen';
  readonly id: number;
  readonly host: string | undefined;
  readonly port: number;
}

/** A worker listens on the socket of its request `id` (connections are accepted now). */
export interface ListeningNote {
  readonly tsws: 'listening';
  readonly id: number;
  readonly port: number;
}

/** The primary's answer; the handle comes with it (the second argument of `message`). */
export interface ListenReply {
  readonly tsws: 'listen';
  readonly id: number;
  readonly error?: { message: string; code?: string; errno?: number; syscall?: string };
}

/** The environment variable that names a worker of a WorkerPool (its number from 1). */
export const WORKER_ENV = 'TSWS_WORKER_ID';

/** This process's number in its WorkerPool, or undefined when it is not a worker of one. */
export function workerId(): number | undefined {
  const id = process.env[WORKER_ENV];
  return id === undefined || typeof process.send !== 'function' ? undefined : Number(id);
}

let nextId = 0;

/**
 * Asks the primary for its listening socket for `host`:`port` (port 0: the one every worker
 * asking for port 0 shares). The channel is listened to only until the answer.
 */
export function sharedListenHandle(
  host: string | undefined,
  port: number,
  callback: (error: Error | undefined, handle?: TcpHandle) => void,
): void {
  const id = ++nextId;
  const done = (handle: TcpHandle) => {
    // Listening here first tells a failure (libuv defers EADDRINUSE from bind to listen); the
    // caller listens again in this same turn, with its callback set, so nothing is accepted
    // in between.
    const status = handle.listen(511);
    if (status !== 0) {
      handle.close();
      callback(uvError(status, 'listen', host, port));
      return;
    }
    callback(undefined, handle);
    // From now on the listening socket keeps the worker alive, not the channel: a worker that
    // closes its servers ends, even with a `message` or `disconnect` listener left.
    (process as { channel?: { unref(): void } }).channel?.unref();
    if (process.connected) {
      const note: ListeningNote = { tsws: 'listening', id, port };
      process.send!(note);
    }
  };
  const onMessage = (message: unknown, handle: unknown) => {
    const reply = message as ListenReply | null;
    if (reply?.tsws !== 'listen' || reply.id !== id) return;
    process.off('message', onMessage);
    process.off('disconnect', onGone);
    if (reply.error !== undefined || handle === undefined) {
      const error = Object.assign(new Error(reply.error?.message ?? 'no listening handle'), {
        ...reply.error,
      });
      callback(error);
    } else {
      done(handle as TcpHandle);
    }
  };
  const onGone = () => {
    process.off('message', onMessage);
    callback(new Error('the primary is gone'));
  };
  process.on('message', onMessage);
  process.once('disconnect', onGone);
  const request: ListenRequest = { tsws: 'listen', id, host, port };
  process.send!(request);
}

/**
 * `server.listen(port, host, backlog, callback)` for a `net`/`http` server, through the
 * primary's socket in a worker of a WorkerPool (a failure is the server's `error` event).
 */
export function listenServer(
  server: Server,
  port: number,
  host: string | undefined,
  backlog: number | undefined,
  callback?: () => void,
): void {
  if (workerId() === undefined) {
    server.listen(port, host, backlog, callback);
    return;
  }
  sharedListenHandle(host, port, (error, handle) => {
    if (error !== undefined) server.emit('error', error);
    else server.listen(handle, backlog, callback);
  });
}
