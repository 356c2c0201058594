import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { TcpUpgradeSocket } from '../transport/tcp-server.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_HEADER_SIZE } from './http-limits.js';

/** Where plain HTTP requests at a WebSocket server's port go: the `handleRequest` option. */
export type RequestHandler = http.RequestListener | http.Server;

/** Node's own default for a whole request (a body may take long: an upload). */
const REQUEST_TIMEOUT = 300_000;

export interface PlainRequestsHost {
  /** An upgrade request that reached the HTTP server (a kept-alive connection, or another path). */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Whether the WebSocket server handles `req`'s path. */
  shouldHandle(req: http.IncomingMessage): boolean;
  /** An application's request listener threw or rejected. */
  report(error: unknown): void;
}

/**
 * The HTTP side of a server that serves plain requests and WebSocket upgrades on one port. The
 * fast path parses every request head itself, keeps the upgrades (no `http`, no net.Socket),
 * and hands every other connection, with the bytes already read, to an `http.Server`: one the
 * application gave (it does not listen itself), or one made around its request listener. That
 * server's parser reads the request again and keeps the connection from then on; an upgrade
 * request it meets later (on a kept-alive connection) comes back through `host.upgrade`.
 */
export class PlainRequests {
  readonly server: http.Server;
  /** Whether the server is ours (made around a listener): closed with the WebSocket server. */
  private readonly owned: boolean;
  private readonly onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

  constructor(handler: RequestHandler, limits: HttpRequestLimits, host: PlainRequestsHost) {
    if (typeof handler === 'function') {
      this.server = http.createServer(
        requestServerOptions(limits),
        guarded(handler, (error) => host.report(error)),
      );
      this.owned = true;
    } else if (handler instanceof http.Server) {
      this.server = handler;
      this.owned = false;
    } else {
      throw new TypeError('handleRequest must be a request listener or an http.Server');
    }
    const server = this.server;
    // An upgrade for our path, or any upgrade when nobody else listens for them.
    this.onUpgrade = (req, socket, head) => {
      if (host.shouldHandle(req) || server.listenerCount('upgrade') === 1) {
        host.upgrade(req, socket, head);
      }
    };
    server.on('upgrade', this.onUpgrade);
  }

  /** An upgrade request for another path goes to an application's server, which may route it. */
  get routesUpgrades(): boolean {
    return !this.owned;
  }

  /**
   * The port is bound: the server starts tracking its connections (Node starts its timeout
   * checks and `closeAllConnections` bookkeeping on `listening`).
   */
  listening(): void {
    if (!this.server.listening) this.server.emit('listening');
  }

  /** A connection whose request is for the HTTP server: handed over with what was read. */
  take(socket: TcpUpgradeSocket): void {
    this.server.emit('connection', socket.handOff());
  }

  /**
   * The WebSocket server stops: a server of ours drops its idle keep-alive connections now
   * and the rest with `closeAll`; an application's server is left to the application.
   */
  close(): void {
    this.server.off('upgrade', this.onUpgrade);
    if (this.owned) this.server.closeIdleConnections();
  }

  /** Every WebSocket closed: what is left on a server of ours is dropped. */
  closeAll(): void {
    if (!this.owned) return;
    this.server.closeAllConnections();
    // It never listened (the listener is ours): 'close' stops its connection checks.
    this.server.close(() => {});
  }
}

export interface HttpRequestLimits {
  handshakeTimeout?: number;
  maxHeaderSize?: number;
}

/**
 * Options for an HTTP server that serves plain requests as well as upgrades: the request head
 * within `handshakeTimeout` (as for an upgrade), the whole request within Node's default.
 */
export function requestServerOptions(limits: HttpRequestLimits): http.ServerOptions {
  const timeout = limits.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  return {
    maxHeaderSize: limits.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
    headersTimeout: timeout,
    requestTimeout: Math.max(timeout, REQUEST_TIMEOUT),
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeout / 4))),
  };
}

/**
 * The application's listener, under the rule for hooks: what it throws (or an async listener
 * rejects with) ends that request with 500 (or cuts it, when the answer had begun) and is
 * reported; the process goes on.
 */
export function guarded(
  listener: http.RequestListener,
  report: (error: unknown) => void,
): http.RequestListener {
  return (req, res) => {
    const failed = (error: unknown) => {
      report(error);
      if (res.headersSent || res.writableEnded) {
        res.destroy();
        return;
      }
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end('Internal Server Error\n');
    };
    try {
      const result = listener(req, res) as unknown;
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  };
}
