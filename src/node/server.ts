import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ResolvedDeflateOptions, resolveDeflateOptions } from '../extensions/index.js';
import {
  buildRejectResponse,
  HandshakeError,
  hasToken,
  type OutgoingHeaders,
  type ValidUpgrade,
  validateUpgradeRequest,
} from '../handshake/index.js';
import { CloseCode } from '../protocol/index.js';
import { Admission } from './admission.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_HEADER_SIZE,
  httpServerLimits,
} from './http-limits.js';
import { loadLibuv } from './libuv.js';
import { Lifetimes } from './lifetimes.js';
import { type BindingSettings, bindingSettings } from './options.js';
import type { ServerOptions, VerifyClientInfo, WebSocketServerEvents } from './server-options.js';
import {
  type PublishData,
  type PublishOptions,
  type ReplayResult,
  ServerPubSub,
  type SubscribeOptions,
} from './server-pubsub.js';
import { TcpListener } from './tcp-server.js';
import { acceptHead, chooseProtocol, runVerifyClient } from './upgrade-accept.js';
import { originCheck } from './upgrade-origins.js';
import { rejectionResponse, UpgradeRejection } from './upgrade-rejection.js';
import { DuplexUpgradeSocket, type UpgradeSocket } from './upgrade-socket.js';
import { WebSocket } from './websocket.js';

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
  private readonly _ownsServer: boolean;
  private readonly _detach: (() => void) | undefined;
  private readonly _settings: BindingSettings;
  private readonly _deflateOptions: ResolvedDeflateOptions | undefined;
  private readonly _admission: Admission | undefined;
  /**
   * Client IP counted by `_admission`: per socket from its TCP accept when the server is ours
   * (or from its upgrade request when attached), then per open WebSocket.
   */
  private readonly _admitted = new Map<Duplex | WebSocket, string>();
  /** Connections under `maxLifetime`. */
  private readonly _lifetimes: Lifetimes | undefined;
  /** The `origins` / `allowMissingOrigin` check, when set. */
  private readonly _originAllowed: ((origin: string | undefined) => boolean) | undefined;
  private _state = RUNNING;
  private _topics: ServerPubSub | undefined;
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
    const { maxConnections, maxConnectionsPerIp, maxLifetime } = options;
    if (maxConnections !== undefined || maxConnectionsPerIp !== undefined) {
      this._admission = new Admission(
        positive('maxConnections', maxConnections ?? Number.POSITIVE_INFINITY),
        positive('maxConnectionsPerIp', maxConnectionsPerIp ?? Number.POSITIVE_INFINITY),
      );
    }
    if (maxLifetime !== undefined) {
      this._lifetimes = new Lifetimes(
        positive('maxLifetime', maxLifetime),
        options.maxLifetimeJitter ?? 0.1,
      );
    }
    this._originAllowed = originCheck(options.origins, options.allowMissingOrigin);
    if (options.perMessageDeflate) {
      this._deflateOptions = resolveDeflateOptions(options.perMessageDeflate);
    }
    this.options = { clientTracking: true, ...options };
    // An adapter given is started now (a broker connection is made before the first subscriber).
    if (options.pubsub?.adapter !== undefined) this._pubsub();
    this.clients = this.options.clientTracking ? new Set() : undefined;
    // Checked in every mode, so that a bad value fails the same way on both paths.
    const limits = httpServerLimits(options);
    if (options.port !== undefined && options.fastPath !== false && loadLibuv() !== undefined) {
      this._listener = this._listen(options, callback);
      this._ownsServer = true;
    } else if (options.port !== undefined) {
      this._server = http.createServer(limits, (_req, res) => {
        const body = http.STATUS_CODES[426]!;
        res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
        res.end(body);
      });
      this._ownsServer = true;
      this._server.listen(options.port, options.host, options.backlog, callback);
    } else {
      this._server = options.server;
      this._ownsServer = false;
    }
    if (this._server !== undefined) {
      const server = this._server;
      const onListening = () => this.emit('listening');
      const onError = (error: Error) => this.emit('error', error);
      const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
      };
      server.on('listening', onListening);
      server.on('error', onError);
      server.on('upgrade', onUpgrade);
      // Connection limits count from the TCP accept on a server of ours (a client that never
      // sends its request still holds a connection); an attached server also serves plain
      // HTTP, so there they count from the upgrade request.
      const onConnection = (socket: Duplex) => this._accepted(socket);
      if (this._ownsServer) server.on('connection', onConnection);
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
        onRequest: (socket, req, rest) => {
          // Plain HTTP requests get 426, as from ws's standalone server.
          if (req.headers.upgrade === undefined || !hasToken(req.headers.connection, 'upgrade')) {
            socket.refuse(
              buildRejectResponse(426, {
                headers: { Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' },
              }),
            );
            return;
          }
          this._upgrade(req, socket, rest, (ws) => this.emit('connection', ws, req));
        },
        onConnection: (socket) => this._accepted(socket.socket),
        onError: (error) => {
          if (this.listenerCount('error') > 0) this.emit('error', error);
        },
      },
      {
        handshakeTimeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
      },
    );
    listener.listen(options.port!, options.host, options.backlog, (error) => {
      if (error !== undefined) {
        this.emit('error', error);
        return;
      }
      this.emit('listening');
      callback?.();
    });
    return listener;
  }

  /** The bound address of the server (standalone or attached). */
  address(): AddressInfo | string | null {
    if (this._listener !== undefined) return this._listener.address();
    if (this._server === undefined) {
      throw new Error('The server is operating in "noServer" mode');
    }
    return this._server.address();
  }

  /** @internal A tracked connection closed (called before its `close` event, as ws does). */
  _untrack(ws: WebSocket): void {
    this._topics?.remove(ws);
    this.clients?.delete(ws);
    this._lifetimes?.delete(ws);
    this._release(ws);
  }

  /** @internal The server's topics, made at their first use. */
  _pubsub(): ServerPubSub {
    this._topics ??= ServerPubSub.create(this.options.pubsub, (report) =>
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

  /**
   * Counts a connection from `ip` under `maxConnections` / `maxConnectionsPerIp`, until
   * `socket` closes or becomes a WebSocket; false when a limit is reached.
   */
  private _admit(socket: Duplex, ip: string): boolean {
    if (!this._admission!.admit(ip)) return false;
    this._admitted.set(socket, ip);
    // The peer may leave, or a wsClientError listener take the socket, before an upgrade:
    // the admission ends with the socket (after an upgrade it belongs to the WebSocket).
    socket.once('close', () => this._release(socket));
    return true;
  }

  /** A connection accepted by a server of ours: counted at once, or refused with 503. */
  private _accepted(socket: Duplex): void {
    if (this._admission === undefined) return;
    if (this._admit(socket, clientAddress(socket))) return;
    socket.once('finish', () => socket.destroy());
    socket.end(buildRejectResponse(503, { headers: { 'Retry-After': '1' } }));
  }

  /** Ends an admission (the handshake failed, or the connection closed). */
  private _release(key: Duplex | WebSocket): void {
    const ip = this._admitted.get(key);
    if (ip === undefined) return;
    this._admitted.delete(key);
    this._admission!.release(ip);
  }

  /** Whether this server handles an upgrade request for `req.url` (the `path` option). */
  shouldHandle(req: http.IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return (q === -1 ? url : url.slice(0, q)) === path;
  }

  /**
   * Stops accepting connections, closes every open one with 1001 (Going Away), and calls back
   * (and emits `close`) once all are closed and the server it created has stopped listening.
   */
  close(callback?: (error?: Error) => void): void {
    if (callback !== undefined) {
      if (this._state === CLOSED) {
        process.nextTick(callback, new Error('The server is not running'));
        return;
      }
      this._closeCallbacks.push(callback);
    }
    if (this._state !== RUNNING) return;
    this._state = CLOSING;
    this._detach?.();
    let pending = 1;
    const done = () => {
      if (--pending > 0) return;
      this._state = CLOSED;
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
      throw new Error('handleUpgrade() was called more than once with the same socket');
    }
    this._upgrade(req, upgradeSocket, head, callback);
  }

  private _upgrade(
    req: http.IncomingMessage,
    socket: UpgradeSocket,
    head: Buffer,
    callback: (ws: WebSocket, req: http.IncomingMessage) => void,
  ): void {
    // Whatever throws on the way (an application hook, a header it gave, or a bug of ours)
    // ends this one request with 500, never the process.
    try {
      this._checkUpgrade(req, socket, head, callback);
    } catch (error) {
      this._refuseWith(socket, error, true);
    }
  }

  private _checkUpgrade(
    req: http.IncomingMessage,
    socket: UpgradeSocket,
    head: Buffer,
    callback: (ws: WebSocket, req: http.IncomingMessage) => void,
  ): void {
    // Admission first: a refused connection costs no more work (503, as for a busy server).
    // A server of ours counted the socket at its accept already.
    if (this._admission !== undefined && !this._ownsServer) {
      if (!this._admit(socket.socket, clientAddress(req.socket))) {
        this._refuse(socket, 503, 'Too many connections', { 'Retry-After': '1' });
        return;
      }
    }
    const valid = validateUpgradeRequest({
      method: req.method ?? '',
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
    });
    if (!valid.ok) {
      if (this.listenerCount('wsClientError') > 0) {
        const error = new HandshakeError(
          'WS_ERR_INVALID_UPGRADE_REQUEST',
          valid.reason,
          valid.status,
        );
        this.emit('wsClientError', error, socket.socket, req);
        return;
      }
      this._refuse(socket, valid.status, valid.reason, valid.headers);
      return;
    }
    if (!this.shouldHandle(req)) {
      this._refuse(socket, 400, 'Invalid path');
      return;
    }
    // Cross-site WebSocket hijacking: a page of another site may not connect (RFC 6455 §10.2).
    if (this._originAllowed !== undefined && !this._originAllowed(valid.origin)) {
      this._refuse(socket, 403, 'Origin not allowed');
      return;
    }
    const complete = (data: unknown) => {
      let ws: WebSocket | undefined;
      try {
        ws = this._completeUpgrade(req, socket, head, valid, data);
      } catch (error) {
        this._refuseWith(socket, error, true);
        return;
      }
      // The application's own listener runs outside the guard: its errors are its own.
      if (ws !== undefined) callback(ws, req);
    };
    const { verifyClient, authenticate } = this.options;
    const afterVerify = () => {
      if (authenticate === undefined) {
        complete(undefined);
        return;
      }
      let result: unknown;
      try {
        result = authenticate(req);
      } catch (error) {
        this._refuseWith(socket, error);
        return;
      }
      if (isPromiseLike(result)) {
        result.then(complete, (error: unknown) => this._refuseWith(socket, error));
      } else {
        complete(result);
      }
    };
    if (verifyClient === undefined) {
      afterVerify();
      return;
    }
    const info: VerifyClientInfo = {
      origin: req.headers.origin as string | undefined,
      secure: Boolean((req.socket as { encrypted?: boolean }).encrypted),
      req,
    };
    runVerifyClient(verifyClient, info, (verified, code, message, headers) => {
      // Maybe called later from the application: nothing may throw back into it.
      try {
        if (verified) afterVerify();
        else this._refuse(socket, code ?? 401, message, headers);
      } catch (error) {
        this._refuseWith(socket, error, true);
      }
    });
  }

  /** Writes the 101 and opens the connection; undefined when it was refused instead. */
  private _completeUpgrade(
    req: http.IncomingMessage,
    socket: UpgradeSocket,
    head: Buffer,
    upgrade: ValidUpgrade,
    data: unknown,
  ): WebSocket | undefined {
    // The peer may have gone while an asynchronous check ran.
    if (!socket.open) {
      this._release(socket.socket);
      socket.destroy();
      return undefined;
    }
    if (socket.upgraded) {
      throw new Error('handleUpgrade() was called more than once with the same socket');
    }
    if (this._state !== RUNNING) {
      this._refuse(socket, 503);
      return undefined;
    }
    let protocol: string | undefined;
    try {
      protocol = chooseProtocol(upgrade.protocols, this.options.handleProtocols, req);
    } catch (error) {
      this._refuseWith(socket, error);
      return undefined;
    }
    const { response, extensions, deflate } = acceptHead(
      upgrade,
      protocol,
      this._deflateOptions,
      this._settings.connection.maxPayload,
      this.listenerCount('headers') > 0 ? (lines) => this.emit('headers', lines, req) : undefined,
    );
    socket.upgraded = true;
    const accepted = socket.accept(response, head);
    const ws = new WebSocket(null);
    ws._protocol = protocol ?? '';
    ws._extensions = extensions;
    ws.data = data;
    ws._attach(accepted.transport, accepted.head, this._settings, deflate);
    ws._owner = this;
    this.clients?.add(ws);
    const ip = this._admitted.get(socket.socket);
    if (ip !== undefined) {
      this._admitted.delete(socket.socket);
      this._admitted.set(ws, ip);
    }
    this._lifetimes?.add(ws);
    return ws;
  }

  /**
   * Refuses after a hook threw or rejected: an `UpgradeRejection` with its status and headers,
   * anything else with 500 and an `error` event (when listened to). `ours`: the error did not
   * come from a hook meant to refuse (a bug, or a throwing listener), so it is always reported.
   */
  private _refuseWith(socket: UpgradeSocket, error: unknown, ours = false): void {
    if (!ours && error instanceof UpgradeRejection) {
      this._refuse(socket, error.status, error.message, error.headers);
      return;
    }
    this._report(error);
    if (socket.upgraded) return;
    this._refuse(socket, 500);
  }

  /** An error on the upgrade path the application should see, if it listens. */
  private _report(error: unknown): void {
    if (this.listenerCount('error') > 0) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Answers a refused upgrade with `status`, then closes the socket. A status or header the
   * application gave that cannot be written (a value with CR, LF or a byte >= 0x80, a status
   * outside 300-599) is reported and the answer is a 500 instead.
   */
  private _refuse(
    socket: UpgradeSocket,
    status: number,
    reason?: string,
    headers?: OutgoingHeaders,
  ): void {
    this._release(socket.socket);
    if (socket.upgraded) return;
    const { response, error } = rejectionResponse(status, reason, headers);
    if (error !== undefined) this._report(error);
    socket.refuse(response);
  }
}

/** The client's IP address, an IPv4 one without its IPv6 mapping (`::ffff:`). */
function clientAddress(socket: unknown): string {
  const address = (socket as { remoteAddress?: string } | undefined)?.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new TypeError(`${name} must be a positive number`);
  return value;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
