import { lookup } from 'node:dns';
import { EventEmitter } from 'node:events';
import { type AddressInfo, isIP, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  buildRejectResponse,
  type ParsedRequestHead,
  RequestHeadParser,
} from '../../handshake/index.js';
import { ErrorCode, UsageError } from '../../protocol/errors.js';
import { libuv, type SocketAddress, type TcpHandle, uvError, type WriteReq } from './libuv.js';
import { readBuffer } from './read-buffer.js';
import { sharedListenHandle, workerId } from './shared-listen.js';
import { TcpTransport } from './tcp-transport.js';
import type { Transport } from './transport.js';
import type { UpgradeSocket } from './upgrade-socket.js';

/** What the listener reports to the server. */
export interface TcpListenerEvents {
  /** A complete request head; `rest` is what arrived after it (owned). */
  onRequest(socket: TcpUpgradeSocket, head: ParsedRequestHead, rest: Buffer): void;
  /** A connection was accepted (before any byte of its request). */
  onConnection(socket: TcpUpgradeSocket): void;
  /** An accept failed (EMFILE...). */
  onError(error: Error): void;
}

export interface TcpListenerOptions {
  /** Milliseconds a connection has to send its request head. */
  handshakeTimeout: number;
  /** Largest request head accepted (431 beyond). */
  maxHeaderSize: number;
  /**
   * Keep the bytes of each request head, so that a connection can be handed to an HTTP server
   * (`handOff`). Heads are then read into buffers of their own rather than the shared one.
   */
  handOff?: boolean;
}

const EMPTY = Buffer.alloc(0);
/** Most bytes a client may send after its request head before the server answered it. */
const MAX_HELD = 64 * 1024;

/**
 * The standalone server's listening socket on a libuv TCP handle: accepts connections, reads
 * and parses their request head itself, and hands each parsed head to the server.
 */
export class TcpListener {
  private handle: TcpHandle | undefined;
  private readonly pending = new Set<TcpUpgradeSocket>();
  private closed = false;

  constructor(
    private readonly events: TcpListenerEvents,
    private readonly options: TcpListenerOptions,
  ) {}

  /** Binds and listens; `callback` gets the error, if any. */
  listen(
    port: number,
    host: string | undefined,
    backlog: number | undefined,
    callback: (error?: Error) => void,
  ): void {
    if (workerId() !== undefined) {
      // A worker of a WorkerPool: the primary's socket, shared by every worker.
      sharedListenHandle(host, port, (error, handle) => {
        if (error !== undefined) callback(error);
        else if (this.closed) handle!.close();
        else this.start(handle!, backlog ?? 511, host, port, callback);
      });
      return;
    }
    if (host === undefined || isIP(host) !== 0) {
      this.bind(host, port, backlog ?? 511, callback);
      return;
    }
    lookup(host, (error, address) => {
      if (error) callback(error);
      else if (this.closed)
        callback(new UsageError(ErrorCode.InvalidState, 'The server was closed'));
      else this.bind(address, port, backlog ?? 511, callback);
    });
  }

  private bind(
    host: string | undefined,
    port: number,
    backlog: number,
    callback: (error?: Error) => void,
  ): void {
    const uv = libuv!;
    const handle = uv.createServerHandle();
    let address = host;
    let error: number;
    if (host === undefined) {
      // Like net: every interface, IPv6 and IPv4, else IPv4 only.
      address = '::';
      error = handle.bind6('::', port, 0);
      if (error !== 0) {
        handle.close();
        this.bind('0.0.0.0', port, backlog, callback);
        return;
      }
    } else {
      error = isIP(host) === 6 ? handle.bind6(host, port, 0) : handle.bind(host, port);
    }
    if (error !== 0) {
      handle.close();
      process.nextTick(callback, uvError(error, 'listen', address, port));
      return;
    }
    this.start(handle, backlog, address, port, callback);
  }

  /** Listens on a bound handle (bound here, or by a WorkerPool's primary). */
  private start(
    handle: TcpHandle,
    backlog: number,
    address: string | undefined,
    port: number,
    callback: (error?: Error) => void,
  ): void {
    const error = handle.listen(backlog);
    if (error !== 0) {
      handle.close();
      process.nextTick(callback, uvError(error, 'listen', address, port));
      return;
    }
    handle.owner = this;
    handle.onconnection = onConnection;
    this.handle = handle;
    process.nextTick(callback);
  }

  address(): AddressInfo | null {
    if (this.handle === undefined) return null;
    const out: SocketAddress = {};
    if (this.handle.getsockname(out) !== 0) return null;
    return { address: out.address!, family: out.family!, port: out.port! };
  }

  /** Stops accepting, drops connections still in their handshake, then calls back. */
  close(callback: () => void): void {
    this.closed = true;
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) process.nextTick(callback);
    else handle.close(callback);
  }

  /** @internal */
  _accept(status: number, client: TcpHandle | undefined): void {
    if (status !== 0 || client === undefined) {
      this.events.onError(uvError(status, 'accept'));
      return;
    }
    if (this.closed) {
      client.close();
      return;
    }
    const socket = new TcpUpgradeSocket(this, client, this.options);
    if (socket.open) this.pending.add(socket);
    this.events.onConnection(socket);
  }

  /** @internal */
  _headDone(socket: TcpUpgradeSocket): void {
    this.pending.delete(socket);
  }

  /** @internal */
  _request(socket: TcpUpgradeSocket, head: ParsedRequestHead, rest: Buffer): void {
    this.events.onRequest(socket, head, rest);
  }
}

function onConnection(this: TcpHandle, status: number, client?: TcpHandle): void {
  (this.owner as TcpListener)._accept(status, client);
}

/**
 * A raw connection in its opening handshake: reads the request head, then waits for the
 * server's decision. It also stands in for `req.socket` until the upgrade: remote and local
 * address, `write`, `end`, `destroy`, and the events `end`, `close` and `error`.
 */
export class TcpUpgradeSocket extends EventEmitter implements UpgradeSocket {
  upgraded = false;
  private handedOver = false;
  private readonly listener: TcpListener;
  private readonly handle: TcpHandle;
  private parser: RequestHeadParser | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private ended = false;
  private peer: SocketAddress | undefined;
  /** Bytes that came after the request head, before the server's decision. */
  private held: Buffer[] | undefined;
  private heldLength = 0;
  /** With `handOff`: every byte read so far (the head, then what follows), copied. */
  private raw: Buffer[] | undefined;

  constructor(listener: TcpListener, handle: TcpHandle, options: TcpListenerOptions) {
    super();
    this.listener = listener;
    this.handle = handle;
    this.parser = new RequestHeadParser({ maxHeaderSize: options.maxHeaderSize });
    handle.owner = this;
    handle.onread = onHeadRead;
    handle.setNoDelay(true);
    handle.useUserBuffer(readBuffer());
    if (options.handOff === true) this.raw = [];
    this.timer = setTimeout(() => this.timedOut(), options.handshakeTimeout);
    this.timer.unref();
    if (handle.readStart() !== 0) this.destroy();
  }

  get socket(): Duplex {
    return this as unknown as Duplex;
  }

  get open(): boolean {
    return !this.closed && !this.ended;
  }

  get remoteAddress(): string | undefined {
    return this.peerAddress().address;
  }
  get remotePort(): number | undefined {
    return this.peerAddress().port;
  }
  get remoteFamily(): string | undefined {
    return this.peerAddress().family;
  }
  get localAddress(): string | undefined {
    const out: SocketAddress = {};
    return this.closed || this.handle.getsockname(out) !== 0 ? undefined : out.address;
  }
  get localPort(): number | undefined {
    const out: SocketAddress = {};
    return this.closed || this.handle.getsockname(out) !== 0 ? undefined : out.port;
  }
  /** Plain TCP: never TLS. */
  readonly encrypted = false;

  refuse(response: string): void {
    this.end(response);
  }

  accept(response: string, head: Buffer): { transport: Transport; head: Buffer } {
    this.write(response);
    this.peerAddress(); // remembered for req.socket
    this.handedOver = true;
    this.raw = undefined;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) head = Buffer.concat(head.length === 0 ? held : [...held, head]);
    return { transport: new TcpTransport(this.handle), head };
  }

  /** Writes bytes (for `wsClientError` listeners and the handshake's own answers). */
  write(data: string | Uint8Array): boolean {
    if (this.closed || this.ended || this.handedOver) return false;
    const req = libuv!.newWriteReq();
    req.handle = this.handle;
    req.oncomplete = onWriteDone;
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    if (this.handle.writeBuffer(req, bytes) !== 0) {
      this.destroy();
      return false;
    }
    if (libuv!.lastWriteWasAsync()) req.chunks = [bytes];
    return true;
  }

  /** Writes `data` if given, then closes once it is out. */
  end(data?: string | Uint8Array): void {
    if (this.closed || this.ended || this.handedOver) return;
    if (data !== undefined) this.write(data);
    this.ended = true;
    this.stopReading();
    const req = libuv!.newShutdownReq();
    req.handle = this.handle;
    req.owner = this;
    req.oncomplete = onShutdownDone;
    if (this.handle.shutdown(req) !== 0) this.destroy();
  }

  destroy(): void {
    if (this.closed || this.handedOver) return;
    this.closed = true;
    this.stopReading();
    this.listener._headDone(this);
    this.handle.onread = ignoreRead;
    this.handle.close(() => this.emit('close', false));
  }

  /**
   * Hands the connection, with every byte read from it so far, to `node:http` as a net.Socket
   * (for `server.emit('connection', socket)`): a plain HTTP request at a server that serves
   * HTTP on its WebSocket port. Emits `close` (this handshake is over). Only with `handOff`.
   */
  handOff(): Socket {
    if (this.raw === undefined || this.closed || this.handedOver) {
      throw new UsageError(ErrorCode.InvalidState, 'This connection cannot be handed off');
    }
    this.stopReading();
    this.handedOver = true;
    this.listener._headDone(this);
    const raw = this.raw;
    this.raw = undefined;
    this.held = undefined;
    const handle = this.handle;
    handle.owner = undefined;
    // The handle reads into the shared buffer (libuv's custom-buffer listener cannot be taken
    // off): net reads into it too, and each read is copied into the stream. http's parser
    // mostly reads the handle itself (it consumes it); this is for when it does not.
    const socket: Socket = new Socket({
      handle,
      readable: true,
      writable: true,
      onread: {
        buffer: readBuffer(),
        callback: (n: number, buffer: Uint8Array) =>
          socket.push(Buffer.from(buffer.subarray(0, n))),
      },
    } as never);
    // Read again by http's parser, before anything that arrives later.
    if (raw.length > 0) socket.unshift(raw.length === 1 ? raw[0]! : Buffer.concat(raw));
    process.nextTick(() => this.emit('close', false));
    return socket;
  }

  /** @internal */
  _onRead(): void {
    const uv = libuv!;
    const n = uv.readBytes();
    if (n <= 0) {
      // EOF or an error: a peer that leaves during the handshake gets no connection.
      if (n === uv.UV_EOF) this.emit('end');
      else if (n < 0 && this.listenerCount('error') > 0) this.emit('error', uvError(n, 'read'));
      if (n < 0) this.destroy();
      return;
    }
    const chunk = readBuffer().subarray(0, n);
    if (this.raw !== undefined) this.raw.push(Buffer.from(chunk));
    if (this.parser === undefined) {
      // The server is still deciding (an asynchronous check): keep what comes, within reason.
      this.hold(chunk);
      return;
    }
    const result = this.parser.feed(chunk);
    if (result.state === 'incomplete') return;
    this.parser = undefined;
    this.clearTimer();
    this.listener._headDone(this);
    if (result.state === 'error') {
      this.end(buildRejectResponse(result.status, { reason: result.reason }));
      return;
    }
    // Reading goes on, to see a peer that leaves while the server decides; the bytes after
    // the head (frames already) are kept, copied from the shared read buffer.
    this.hold(chunk.subarray(result.bodyOffset));
    this.listener._request(this, result.head, EMPTY);
  }

  private hold(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.heldLength += bytes.length;
    if (this.heldLength > MAX_HELD) {
      this.destroy();
      return;
    }
    const copy = Buffer.from(bytes);
    if (this.held === undefined) this.held = [copy];
    else this.held.push(copy);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private stopReading(): void {
    this.clearTimer();
    if (!this.closed) this.handle.readStop();
  }

  private timedOut(): void {
    this.timer = undefined;
    if (this.parser === undefined) return;
    this.listener._headDone(this);
    this.parser = undefined;
    this.end(buildRejectResponse(408, { reason: 'The opening handshake took too long' }));
  }

  private peerAddress(): SocketAddress {
    if (this.peer === undefined) {
      const out: SocketAddress = {};
      if (!this.closed && this.handle.getpeername(out) === 0) this.peer = out;
      else return out;
    }
    return this.peer;
  }

  /** @internal */
  _shutdownDone(): void {
    this.destroy();
  }
}

function onHeadRead(this: TcpHandle): void {
  (this.owner as TcpUpgradeSocket)._onRead();
}

function onWriteDone(this: WriteReq): void {
  this.chunks = undefined;
}

function onShutdownDone(this: { owner?: unknown }): void {
  (this.owner as TcpUpgradeSocket)._shutdownDone();
}

/** Native code requires onread to stay a function. */
function ignoreRead(): void {}
