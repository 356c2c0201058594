import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolveDeflateOptions } from '../../extensions/index.js';
import {
  asksForUpgrade,
  negotiateExtensions,
  originCheck,
  serializeUpgradeResponse,
  upgradeRequired,
} from '../../handshake/index.js';
import { CloseCode, ErrorCode, UsageError } from '../../protocol/index.js';
import {
  type PublishData,
  type ReplayResult,
  ServerPubSub,
  type SubscribeOptions,
} from '../../pubsub/server-pubsub.js';
import { type BindingSettings, bindingSettings } from '../connection/options.js';
import { loadLibuv } from '../transport/libuv.js';
import { listenServer } from '../transport/shared-listen.js';
import { TcpListener } from '../transport/tcp-server.js';
import { DuplexUpgradeSocket } from '../transport/upgrade-socket.js';
import type { PublishOptions, WebSocket } from '../websocket.js';
import { Admission } from './admission.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_HEADER_SIZE,
  httpServerLimits,
} from './http-limits.js';
import { Lifetimes } from './lifetimes.js';
import { guarded, PlainRequests, requestServerOptions } from './plain-requests.js';
import { ServerAdmission } from './server-admission.js';
import type { ServerOptions, WebSocketServerEvents } from './server-options.js';
import { UpgradeHandler } from './server-upgrade.js';
import { serverExtensions } from './upgrade-accept.js';
import { incomingMessage, parsedHead, requestHead } from './upgrade-request.js';

export type {
  ServerOptions,
  VerifyClient,
  VerifyClientCallback,
  VerifyClientInfo,
  WebSocketServerEvents,
} from './server-options.js';

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

/**
 * A WebSocket server with the API ws users know: standalone (`{ port }`), attached to an
 * HTTP(S) server (`{ server }`), or driven by the application (`{ noServer: true }` and
 * `handleUpgrade`). Events: `connection (ws, req)`, `listening`, `error`, `close`,
 * `headers (lines, req)`, `wsClientError (error, socket, req)`.
 */
export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  readonly options: ServerOptions;
  /** Open connections (when `clientTracking` is on). */
  readonly clients: Set<WebSocket> | undefined;
  private readonly _server: http.Server | https.Server | undefined;
  private readonly _listener: TcpListener | undefined;
  /** With `handleRequest` on the fast path: where plain HTTP connections go. */
  private readonly _requests: PlainRequests | undefined;
  private readonly _ownsServer: boolean;
  private readonly _detach: (() => void) | undefined;
  private readonly _settings: BindingSettings;
  /** `maxConnections` / `maxConnectionsPerIp`, when set. */
  private readonly _admission: ServerAdmission | undefined;
  /** Connections under `maxLifetime`. */
  private readonly _lifetimes: Lifetimes | undefined;
  /** Admission, checks, 101 and a new WebSocket (server-upgrade.ts). */
  private readonly _upgrader: UpgradeHandler;
  private _state = RUNNING;
  private _topics: ServerPubSub<WebSocket> | undefined;
  private _closeCallbacks: ((error?: Error) => void)[] = [];

  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const modes = [
      options.port !== undefined,
      options.server !== undefined,
      options.noServer === true,
    ];
    if (modes.filter(Boolean).length !== 1) {
      throw new TypeError(
        'exactly one of the "port", "server" or "noServer" options must be given',
      );
    }
    this._settings = bindingSettings('server', options);
    const fast =
      options.port !== undefined && options.fastPath !== false && loadLibuv() !== undefined;
    const { maxConnections, maxConnectionsPerIp, maxLifetime } = options;
    if (maxConnections !== undefined || maxConnectionsPerIp !== undefined) {
      this._admission = new ServerAdmission(
        new Admission(
          positive('maxConnections', maxConnections ?? Number.POSITIVE_INFINITY),
          positive('maxConnectionsPerIp', maxConnectionsPerIp ?? Number.POSITIVE_INFINITY),
        ),
      );
    }
    if (maxLifetime !== undefined) {
      this._lifetimes = new Lifetimes(
        positive('maxLifetime', maxLifetime),
        options.maxLifetimeJitter ?? 0.1,
      );
    }
    const originAllowed = originCheck(options.origins, options.allowMissingOrigin);
    const deflateOptions = options.perMessageDeflate
      ? resolveDeflateOptions(options.perMessageDeflate)
      : undefined;
    this.options = { clientTracking: true, ...options };
    this._upgrader = new UpgradeHandler(this, {
      settings: this._settings,
      // The one place extensions are negotiated (permessage-deflate today).
      negotiate: negotiateExtensions(
        serverExtensions(deflateOptions, this._settings.connection.maxPayload),
      ),
      originAllowed,
      admission: this._admission,
      // A server of ours counts its sockets from their TCP accept.
      countedAtAccept: options.port !== undefined && (fast || options.handleRequest === undefined),
      running: () => this._state === RUNNING,
      opened: (ws, socket) => this._opened(ws, socket),
    });
    // An adapter given is started now (a broker connection is made before the first subscriber).
    // A bad coalescing window is told at once, too.
    if (options.pubsub?.adapter !== undefined || options.pubsub?.coalesce !== undefined) {
      this._pubsub();
    }
    this.clients = this.options.clientTracking ? new Set() : undefined;
    // Checked in every mode, so that a bad value fails the same way on both paths.
    const limits = httpServerLimits(options);
    const handler = options.handleRequest;
    if (handler !== undefined && options.port === undefined) {
      throw new TypeError('the "handleRequest" option goes with "port"');
    }
    if (
      handler !== undefined &&
      typeof handler !== 'function' &&
      !(handler instanceof http.Server)
    ) {
      throw new TypeError('handleRequest must be a request listener or an http.Server');
    }
    if (fast) {
      if (handler !== undefined) {
        this._requests = new PlainRequests(handler, options, {
          upgrade: (req, socket, head) =>
            this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req)),
          shouldHandle: (req) => this.shouldHandle(req),
          report: (error) => this._upgrader.report(error),
        });
      }
      this._listener = this._listen(options, callback);
      this._ownsServer = true;
    } else if (options.port !== undefined && handler !== undefined) {
      // Without the fast path: the same, from `http`.
      this._server =
        typeof handler === 'function'
          ? http.createServer(
              requestServerOptions(options),
              guarded(handler, (error) => this._upgrader.report(error)),
            )
          : handler;
      this._ownsServer = true;
      listenServer(this._server, options.port, options.host, options.backlog, callback);
    } else if (options.port !== undefined) {
      this._server = http.createServer(limits, (_req, res) => {
        const answer = PLAIN_REQUEST_ANSWER;
        res.writeHead(answer.status, {
          ...Object.fromEntries(answer.headers),
          'Content-Length': Buffer.byteLength(answer.body),
        });
        res.end(answer.body);
      });
      this._ownsServer = true;
      listenServer(this._server, options.port, options.host, options.backlog, callback);
    } else {
      this._server = options.server;
      this._ownsServer = false;
    }
    if (this._server !== undefined) {
      const server = this._server;
      const onListening = () => this.emit('listening');
      const onError = (error: Error) => this.emit('error', error);
      // An application's server given as `handleRequest` may route other paths elsewhere.
      const routes = handler !== undefined && typeof handler !== 'function';
      const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        if (routes && !this.shouldHandle(req) && server.listenerCount('upgrade') > 1) return;
        this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
      };
      server.on('listening', onListening);
      server.on('error', onError);
      server.on('upgrade', onUpgrade);
      // Connection limits count from the TCP accept on a server of ours (a client that never
      // sends its request still holds a connection); an attached server also serves plain
      // HTTP, so there they count from the upgrade request.
      const onConnection = (socket: Duplex) => this._admission?.accepted(socket);
      // With `handleRequest` the server also serves plain HTTP: counted from the upgrade, then.
      if (this._ownsServer && handler === undefined) server.on('connection', onConnection);
      this._detach = () => {
        server.off('connection', onConnection);
        server.off('listening', onListening);
        server.off('error', onError);
        server.off('upgrade', onUpgrade);
      };
    }
  }

  /** The fast path: a raw TCP listener that parses request heads itself. */
  private _listen(options: ServerOptions, callback: (() => void) | undefined): TcpListener {
    const listener = new TcpListener(
      {
        onRequest: (socket, parsed, rest) => {
          const head = parsedHead(parsed);
          const requests = this._requests;
          if (!asksForUpgrade(head)) {
            if (requests !== undefined) requests.take(socket);
            else socket.refuse(serializeUpgradeResponse(PLAIN_REQUEST_ANSWER));
            return;
          }
          // Another path's upgrade goes to the application's server, which may route it.
          if (requests?.routesUpgrades && !pathMatches(this.options.path, head.target)) {
            requests.take(socket);
            return;
          }
          let req: http.IncomingMessage | undefined;
          const request = () => {
            req ??= incomingMessage(socket, parsed);
            return req;
          };
          this._upgrader.upgrade(head, request, socket, rest, (ws, r) =>
            this.emit('connection', ws, r),
          );
        },
        onConnection: (socket) => this._admission?.accepted(socket.socket),
        onError: (error) => {
          if (this.listenerCount('error') > 0) this.emit('error', error);
        },
      },
      {
        handshakeTimeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
        handOff: this._requests !== undefined,
      },
    );
    listener.listen(options.port!, options.host, options.backlog, (error) => {
      if (error !== undefined) {
        this.emit('error', error);
        return;
      }
      this._requests?.listening();
      this.emit('listening');
      callback?.();
    });
    return listener;
  }

  /** The bound address of the server (standalone or attached). */
  address(): AddressInfo | string | null {
    if (this._listener !== undefined) return this._listener.address();
    if (this._server === undefined) {
      throw new UsageError(ErrorCode.InvalidState, 'The server is operating in "noServer" mode');
    }
    return this._server.address();
  }

  /** @internal A tracked connection closed (called before its `close` event, as ws does). */
  _untrack(ws: WebSocket): void {
    this._topics?.remove(ws);
    this.clients?.delete(ws);
    this._lifetimes?.delete(ws);
    this._admission?.release(ws);
  }

  /** A connection the upgrade path opened on `socket`: tracked until it closes. */
  private _opened(ws: WebSocket, socket: Duplex): void {
    ws._owner = this;
    this.clients?.add(ws);
    this._admission?.handOver(socket, ws);
    this._lifetimes?.add(ws);
  }

  /** @internal The server's topics, made at their first use. */
  _pubsub(): ServerPubSub<WebSocket> {
    this._topics ??= ServerPubSub.create<WebSocket>(this.options.pubsub, (report) =>
      this.emit('undelivered', report),
    );
    return this._topics;
  }

  /**
   * Publishes a message to every connection subscribed to `topic`, on this process and, with
   * an adapter such as Redis, on every process. The message is framed (and compressed) once
   * for all subscribers, and queued to each in order with its other sends. Returns whether it
   * went anywhere: with the in-process broker, whether the topic had a subscriber; with an
   * adapter, whether the adapter took it (a failure is also reported by `undelivered`).
   */
  publish(topic: string, data: PublishData, options?: PublishOptions): boolean {
    return this._pubsub().publish(topic, data, options);
  }

  /** Connections of this process subscribed to `topic`. */
  numSubscribers(topic: string): number {
    return this._topics?.count(topic) ?? 0;
  }

  /**
   * Sends `ws` the messages of `topic` it missed after the sequence id `since` (those still in
   * the retained history), then its live messages, with no gap or repeat in between; `ws` is
   * subscribed first if it is not. Resolves with how many were replayed and whether the
   * history reached back to `since`.
   */
  replay(
    ws: WebSocket,
    topic: string,
    since: string,
    options?: SubscribeOptions,
  ): Promise<ReplayResult> {
    return this._pubsub().replay(ws, topic, since, options);
  }

  /** Whether this server handles an upgrade request for `req.url` (the `path` option). */
  shouldHandle(req: http.IncomingMessage): boolean {
    return pathMatches(this.options.path, req.url ?? '/');
  }

  /**
   * Stops accepting connections, closes every open one with 1001 (Going Away), and calls back
   * (and emits `close`) once all are closed and the server it created has stopped listening.
   */
  close(callback?: (error?: Error) => void): void {
    if (callback !== undefined) {
      if (this._state === CLOSED) {
        process.nextTick(
          callback,
          new UsageError(ErrorCode.InvalidState, 'The server is not running'),
        );
        return;
      }
      this._closeCallbacks.push(callback);
    }
    if (this._state !== RUNNING) return;
    this._state = CLOSING;
    this._detach?.();
    let pending = 1;
    this._requests?.close();
    const done = () => {
      if (--pending > 0) return;
      this._state = CLOSED;
      this._requests?.closeAll();
      const callbacks = this._closeCallbacks;
      this._closeCallbacks = [];
      for (const cb of callbacks) cb();
      this.emit('close');
    };
    if (this._topics !== undefined) {
      pending++;
      this._topics.close().then(done, done);
    }
    if (this._listener !== undefined) {
      pending++;
      this._listener.close(() => done());
    } else if (this._ownsServer) {
      pending++;
      this._server!.close(() => done());
      // Connections still sending their request head are dropped, as on the fast path.
      this._server!.closeAllConnections();
    }
    if (this.clients !== undefined) {
      for (const ws of this.clients) {
        pending++;
        ws.once('close', done);
        ws.close(CloseCode.GoingAway);
      }
    }
    process.nextTick(done);
  }

  /**
   * Completes (or refuses) the upgrade of `req` on `socket`; calls `callback(ws, req)` once the
   * connection is open. `head` is what was read past the request's headers.
   */
  handleUpgrade(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (ws: WebSocket, req: http.IncomingMessage) => void,
  ): void {
    const upgradeSocket = new DuplexUpgradeSocket(socket);
    // A programming error, told at once as ws does (the socket is not touched).
    if (upgradeSocket.upgraded) {
      throw new UsageError(
        ErrorCode.InvalidState,
        'handleUpgrade() was called more than once with the same socket',
      );
    }
    this._upgrader.upgrade(
      () => requestHead(req),
      () => req,
      upgradeSocket,
      head,
      callback,
    );
  }
}

/** Plain HTTP requests at a server of ours get 426, as from ws's standalone server. */
const PLAIN_REQUEST_ANSWER = upgradeRequired();

/** Whether a request target is for `path` (any path when undefined; the query is ignored). */
function pathMatches(path: string | undefined, target: string): boolean {
  if (path === undefined) return true;
  const q = target.indexOf('?');
  return (q === -1 ? target : target.slice(0, q)) === path;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new TypeError(`${name} must be a positive number`);
  return value;
}
