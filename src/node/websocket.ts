import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PerMessageDeflate } from '../extensions/permessage-deflate/codec.js';
import {
  CloseCode,
  Connection,
  type ConnectionHandler,
  ConnectionState,
  ErrorCode,
  encodeClosePayload,
  isUtf8,
  Opcode,
  PeerError,
  UsageError,
} from '../protocol/index.js';
import type { ClientOptions } from './client-options.js';
import { closedError, toArrayBuffer, toPayload } from './data.js';
import { dial } from './dial.js';
import { type EventHandler, type EventTargetMethods, installEventTarget } from './event-target.js';
import { type HeartbeatMember, joinHeartbeat, leaveHeartbeat } from './heartbeat.js';
import type { BinaryType, BindingSettings, SendData, SendOptions } from './options.js';
import { SendQueue } from './send-queue.js';
import { StreamTransport } from './stream-transport.js';
import type { Transport, TransportSink } from './transport.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const EMPTY = Buffer.alloc(0);
const MAX_CONTROL_PAYLOAD = 125;

type Callback = (error?: Error | null) => void;

/** A received binary message, per `binaryType`: a Buffer, an ArrayBuffer, or a list of Buffers. */
export type RawData = Buffer | ArrayBuffer | Buffer[];

/** The events of a WebSocket and their arguments. */
export interface WebSocketEvents {
  open: [];
  message: [data: RawData, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: Buffer];
  error: [error: Error];
  upgrade: [response: IncomingMessage];
  'unexpected-response': [request: ClientRequest, response: IncomingMessage];
  redirect: [url: string, request: ClientRequest];
}

/**
 * A WebSocket connection, with the API ws users know: the server hands one to its
 * `connection` listeners, and `new WebSocket(url)` dials one as a client.
 *
 * Events: `open`, `message (data, isBinary)`, `ping (data)`, `pong (data)`,
 * `close (code, reason)`, `error (err)`, and on clients `upgrade (res)`,
 * `unexpected-response (req, res)`, `redirect (url, req)`.
 *
 * Unlike ws, an `error` event without a listener does not crash the process: peer faults are
 * always reported through `close` with their close code, so `error` is for those who listen.
 */
export class WebSocket
  extends EventEmitter<WebSocketEvents>
  implements HeartbeatMember, TransportSink
{
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  // The browser-style API of ws (installed on the prototype by installEventTarget).
  declare addEventListener: EventTargetMethods['addEventListener'];
  declare removeEventListener: EventTargetMethods['removeEventListener'];
  declare onopen: EventHandler | null;
  declare onmessage: EventHandler | null;
  declare onclose: EventHandler | null;
  declare onerror: EventHandler | null;

  /** Data the server's `authenticate` hook returned for this connection. */
  data: unknown;
  /** Round-trip time of the last ping answered, in milliseconds. */
  rtt: number | undefined;

  private _readyState = CONNECTING;
  private _binaryType: BinaryType = 'nodebuffer';
  /** @internal */ _url = '';
  /** @internal */ _protocol = '';
  /** @internal */ _extensions = '';
  private _transport: Transport | undefined;
  private _conn: Connection | undefined;
  private _settings: BindingSettings | undefined;
  private _closeTimer: NodeJS.Timeout | undefined;
  /** Heartbeat: a frame arrived since the last sweep, and sweeps missed in a row. */
  private _alive = true;
  private _missed = 0;
  private _pingSentAt = 0;
  private _flushScheduled = false;
  private _inReceive = false;
  /** Callbacks of sends waiting for the next write. */
  private _callbacks: Callback[] | undefined;
  /** Created when an asynchronous send (a Blob, a stream) first needs to hold the line. */
  private _sendQueue: SendQueue | undefined;
  private _drainWaiters: (() => void)[] | undefined;
  private _afterCloseBytes = 0;
  /** permessage-deflate, when agreed (RFC 7692). */
  private _deflate: PerMessageDeflate | undefined;
  /** The application paused reading (distinct from holding input while a message inflates). */
  private _paused = false;
  private _inflating = false;
  /** A message sent in fragments: whether it is compressed (undefined: none in progress). */
  private _fragmentsCompressed: boolean | undefined;
  /** A compressed fragmented message has been started on the wire (its next frames have no RSV1). */
  private _compressing = false;
  private _localReason: Buffer | undefined;
  /** @internal The server tracking this connection in its `clients`. */
  _owner: { _untrack(ws: WebSocket): void } | undefined;
  /** @internal the client's pending handshake, to abort it. */
  _abortHandshake: ((message: string) => void) | undefined;

  constructor(address: null);
  constructor(address: string | URL, protocols?: string | string[], options?: ClientOptions);
  constructor(address: string | URL, options?: ClientOptions);
  constructor(
    address: string | URL | null,
    protocols?: string | string[] | ClientOptions,
    options?: ClientOptions,
  ) {
    super();
    // EventEmitter keeps listeners in a null-prototype literal, which V8 makes a dictionary
    // (~300 bytes). A fast-mode object whose prototype chain ends at null holds the same names.
    (this as unknown as { _events: object })._events = new ListenerStore_();
    if (address === null) return;
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols;
      protocols = undefined;
    }
    const list = protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols];
    this._url = dial(this, address, list, options ?? {});
  }

  get readyState(): number {
    // The protocol core may have started closing on its own (a close frame, a fault).
    if (this._readyState === OPEN && this._conn!.state !== ConnectionState.Open) return CLOSING;
    return this._readyState;
  }

  get url(): string {
    return this._url;
  }
  get protocol(): string {
    return this._protocol;
  }
  get extensions(): string {
    return this._extensions;
  }

  get binaryType(): BinaryType {
    return this._binaryType;
  }
  set binaryType(type: BinaryType) {
    if (type === 'nodebuffer' || type === 'arraybuffer' || type === 'fragments') {
      this._binaryType = type;
    }
  }

  /** Bytes of messages not yet handed to the operating system (queued here and in the transport). */
  get bufferedAmount(): number {
    const conn = this._conn;
    const transport = this._transport;
    if (conn === undefined || transport === undefined) return this._afterCloseBytes;
    return conn.bufferedAmount + transport.bufferedAmount + this._afterCloseBytes;
  }

  /** @internal Both close frames went out: what a browser calls a clean close. */
  get _wasClean(): boolean {
    return this._conn?.closeSent === true && this._conn.closeReceived;
  }

  /** @internal The peer's close frame arrived (else the close code is 1006, RFC 6455 §7.1.5). */
  get _closeFrameReceived(): boolean {
    return this._conn?.closeReceived === true;
  }

  get isPaused(): boolean {
    return this._paused;
  }

  /**
   * Sends a message. Strings go as text, everything else as binary unless `options.binary`
   * says otherwise; `fin: false` sends a fragment of a message that later calls continue.
   * `cb` is called once the data is written out (or with the error that prevented it).
   */
  send(data: SendData, options?: SendOptions | Callback, cb?: Callback): void {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (this._readyState === CONNECTING) throw notOpenError();
    if (typeof data === 'number') data = data.toString();
    const binary = options?.binary ?? typeof data !== 'string';
    const fin = options?.fin ?? true;
    if (typeof Blob !== 'undefined' && data instanceof Blob) {
      const blob = data;
      this._async(cb, async () => {
        this._sendNow(new Uint8Array(await blob.arrayBuffer()), binary, fin, cb);
      });
      return;
    }
    const payload = toPayload(data as Exclude<SendData, Blob | number>);
    if (this._deflate !== undefined && this._compresses(payload, options?.compress, fin)) {
      this._sendCompressed(payload, binary, fin, cb);
      return;
    }
    // No closure per message unless an asynchronous send holds the line.
    if (this._sendQueue?.busy) this._sendQueue.run(() => this._sendNow(payload, binary, fin, cb));
    else this._sendNow(payload, binary, fin, cb);
  }

  /**
   * Sends a message whose bytes come from `source` piece by piece, as fragments (RFC 6455 §5.4),
   * without holding the whole message. Waits for the socket to drain between pieces. Other
   * sends made meanwhile leave after this message.
   */
  async sendStream(
    source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
    options: { binary?: boolean } = {},
  ): Promise<void> {
    const binary = options.binary ?? true;
    this._sendQueue ??= new SendQueue();
    await this._sendQueue.exclusive(async () => {
      for await (const piece of source) {
        if (this.readyState !== OPEN) throw closedError();
        this._sendNow(toPayload(piece), binary, false, undefined);
        await this._drained();
      }
      this._sendNow(EMPTY, binary, true, undefined);
    });
    await new Promise<void>((resolve, reject) => {
      this._whenWritten((error) => (error ? reject(error) : resolve()));
    });
  }

  ping(data?: SendData, mask?: boolean | Callback, cb?: Callback): void {
    this._control(true, data, mask, cb);
  }

  pong(data?: SendData, mask?: boolean | Callback, cb?: Callback): void {
    this._control(false, data, mask, cb);
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2) with an optional code (1000-1003,
   * 1007-1014, 3000-4999) and reason (at most 123 UTF-8 bytes). The TCP connection is destroyed
   * if the peer has not finished the handshake within `closeTimeout`.
   */
  close(code?: number, reason?: string | Buffer): void {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      this._abortHandshake?.('WebSocket was closed before the connection was established');
      return;
    }
    if (this._conn === undefined) return; // a failed handshake, closing already
    // As in ws and browsers, a reason without a code is not sent.
    const sentReason = code === undefined ? undefined : reason;
    // Check the arguments now, even when the close frame has to wait behind a Blob being read.
    encodeClosePayload(code, sentReason);
    if (this._sendQueue?.busy) this._sendQueue.run(() => this._closeNow(code, sentReason));
    else this._closeNow(code, sentReason);
  }

  /** Destroys the connection at once, without a closing handshake. */
  terminate(): void {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      this._abortHandshake?.('WebSocket was closed before the connection was established');
      return;
    }
    if (this._conn === undefined) return; // a failed handshake, closing already
    this._conn.abort();
    this._transport!.destroy();
  }

  /** Stops reading from the peer; events already parsed from the current read are held too. */
  pause(): void {
    if (this._conn === undefined) return;
    this._paused = true;
    this._conn.pause();
    this._transport!.pause();
  }

  resume(): void {
    if (this._conn === undefined) return;
    this._paused = false;
    if (!this._inflating) this._release();
  }

  /** Lets held input flow again (after a user pause, or once a message is inflated). */
  private _release(): void {
    const conn = this._conn!;
    this._inReceive = true;
    try {
      conn.resume();
    } finally {
      this._inReceive = false;
    }
    this._flush();
    if (!conn.isPaused) this._transport!.resume();
  }

  // ---- internals shared with the server and the dialer ----

  /** @internal Takes over a socket after a successful handshake. */
  _setSocket(
    socket: Duplex,
    head: Buffer,
    settings: BindingSettings,
    deflate?: PerMessageDeflate,
  ): void {
    this._attach(new StreamTransport(socket), head, settings, deflate);
  }

  /** @internal Takes over a transport after a successful handshake. */
  _attach(
    transport: Transport,
    head: Buffer,
    settings: BindingSettings,
    deflate?: PerMessageDeflate,
  ): void {
    this._transport = transport;
    this._settings = settings;
    this._conn = new Connection(settings.connection, new ConnectionEvents(this));
    if (deflate !== undefined) {
      this._deflate = deflate;
      this._conn.allowRsv1 = true;
    }
    this._readyState = OPEN;
    if (settings.heartbeat !== undefined) joinHeartbeat(this, settings.heartbeat);
    transport.start(this, head);
  }

  /** @internal The client's handshake failed: report `error` (if listened to) then `close`. */
  _failHandshake(error: Error): void {
    if (this._readyState === CLOSED) return;
    this._readyState = CLOSING;
    process.nextTick(() => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
      this._readyState = CLOSED;
      this.emit('close', CloseCode.AbnormalClosure, EMPTY);
    });
  }

  /** @internal Heartbeat sweep; returns false to leave the group. */
  _heartbeatTick(maxMissed: number): boolean {
    if (this.readyState !== OPEN) return false;
    if (this._alive) {
      this._alive = false;
      this._missed = 0;
    } else if (++this._missed >= maxMissed) {
      this._localReason = Buffer.from('heartbeat timeout');
      this.terminate();
      return false;
    }
    this._conn!.sendPing();
    this._pingSentAt = performance.now();
    this._scheduleFlush();
    return true;
  }

  /** @internal */
  _onPong(data: Buffer): void {
    if (this._pingSentAt !== 0) {
      this.rtt = performance.now() - this._pingSentAt;
      this._pingSentAt = 0;
    }
    this.emit('pong', data);
  }

  /**
   * @internal A compressed message: input is held (no later event overtakes it) while it is
   * inflated, then it is checked and delivered.
   */
  _inflate(data: Buffer, isBinary: boolean): void {
    const conn = this._conn!;
    conn.pause();
    this._transport!.pause();
    this._inflating = true;
    this._deflate!.decompress(data, (error, result) => {
      this._inflating = false;
      if (conn.state === ConnectionState.Closed) return;
      if (error !== null) {
        this._failLocally(error);
        return;
      }
      const skipUtf8 = this._settings!.connection.skipUtf8Validation;
      if (!isBinary && !skipUtf8 && !isUtf8(result!)) {
        this._failLocally(
          new PeerError(
            ErrorCode.InvalidUtf8,
            CloseCode.InvalidFramePayloadData,
            'invalid UTF-8 in a text message',
          ),
        );
        return;
      }
      this._emitMessage(result!, isBinary);
      if (!this._paused && this._readyState !== CLOSED) this._release();
    });
  }

  /** A peer fault found outside the protocol core (inflation): fail the connection with its code. */
  private _failLocally(error: Error): void {
    const code = error instanceof PeerError ? error.closeCode : CloseCode.InternalError;
    this._conn!.failConnection(code, error.message);
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this._flush();
  }

  /** @internal */
  _emitMessage(data: Buffer, isBinary: boolean): void {
    const type = this._binaryType;
    if (type === 'nodebuffer' || !isBinary) this.emit('message', data, isBinary);
    else if (type === 'arraybuffer') this.emit('message', toArrayBuffer(data), isBinary);
    else this.emit('message', [data], isBinary);
  }

  // ---- TransportSink ----

  /** @internal */
  _onTransportData(chunk: Buffer, borrowed: boolean): void {
    this._alive = true;
    this._inReceive = true;
    try {
      this._conn!.receiveData(chunk, borrowed);
    } finally {
      this._inReceive = false;
    }
    this._flush();
  }

  /** @internal */
  _onTransportEnd(): void {
    this._conn!.receiveEof();
    this._flush();
    // The peer is done sending; finish our side too (ws and browsers do the same).
    this._transport!.end();
  }

  /** @internal */
  _onTransportClose(): void {
    const conn = this._conn!;
    conn.receiveEof();
    if (this._closeTimer !== undefined) clearTimeout(this._closeTimer);
    this._deflate?.close();
    if (this._settings!.heartbeat !== undefined) leaveHeartbeat(this, this._settings!.heartbeat);
    const callbacks = this._callbacks;
    this._callbacks = undefined;
    if (callbacks !== undefined) runCallbacks(callbacks, closedError());
    this._onTransportDrain();
    this._readyState = CLOSED;
    this._owner?._untrack(this);
    const reason = conn.closeReceived ? conn.closeReason : (this._localReason ?? conn.closeReason);
    this.emit('close', conn.closeCode, reason);
  }

  /** @internal */
  _onTransportDrain(): void {
    const waiters = this._drainWaiters;
    if (waiters === undefined) return;
    this._drainWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  // ---- sending ----

  private _sendNow(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    cb: Callback | undefined,
  ): void {
    const conn = this._conn;
    if (conn === undefined || conn.state !== ConnectionState.Open) {
      this._sendAfterClose(payload.length, cb);
      return;
    }
    if (binary) conn.sendBinary(typeof payload === 'string' ? Buffer.from(payload) : payload, fin);
    else conn.sendText(payload, fin);
    if (cb !== undefined) this._addCallback(cb);
    this._scheduleFlush();
  }

  /** Whether this message (or fragment) goes compressed (RFC 7692 §6: a choice per message). */
  private _compresses(
    payload: string | Uint8Array,
    compress: boolean | undefined,
    fin: boolean,
  ): boolean {
    let compressed = this._fragmentsCompressed;
    if (compressed === undefined) {
      const deflate = this._deflate!;
      const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      compressed = compress !== false && deflate.canCompress && length >= deflate.threshold;
    }
    this._fragmentsCompressed = fin ? undefined : compressed;
    return compressed;
  }

  /** Compresses, then sends, in order with every other send (zlib works asynchronously). */
  private _sendCompressed(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    cb: Callback | undefined,
  ): void {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this._async(
      cb,
      () =>
        new Promise<void>((resolve, reject) => {
          const first = !this._compressing;
          this._compressing = !fin;
          this._deflate!.compress(bytes, fin, (error, out) => {
            if (error !== null) {
              reject(error);
              return;
            }
            const conn = this._conn!;
            if (conn.state !== ConnectionState.Open) {
              this._sendAfterClose(bytes.length, cb);
            } else {
              // RFC 7692 §6.1: RSV1 on the first frame of the message only.
              conn.sendDataFrame(binary ? Opcode.Binary : Opcode.Text, out!, fin, first);
              if (cb !== undefined) this._addCallback(cb);
              this._scheduleFlush();
            }
            resolve();
          });
        }),
    );
  }

  private _sendAfterClose(length: number, cb: Callback | undefined): void {
    // As ws does: the data is counted (a browser's bufferedAmount grows too) and the callback errs.
    this._afterCloseBytes += length;
    if (cb !== undefined) process.nextTick(cb, closedError());
  }

  private _closeNow(code: number | undefined, reason: string | Buffer | undefined): void {
    const conn = this._conn!;
    if (conn.closeSent) {
      if (conn.closeReceived) this._transport!.end();
      return;
    }
    if (conn.state === ConnectionState.Closed) return;
    conn.sendClose(code, reason);
    this._scheduleFlush();
  }

  private _control(
    ping: boolean,
    data: SendData | undefined,
    mask: unknown,
    cb: Callback | undefined,
  ): void {
    if (typeof mask === 'function') cb = mask as Callback;
    if (this._readyState === CONNECTING) throw notOpenError();
    if (typeof data === 'number') data = data.toString();
    if (typeof Blob !== 'undefined' && data instanceof Blob) {
      if (data.size > MAX_CONTROL_PAYLOAD) throw controlTooLongError();
      const blob = data;
      this._async(cb, async () => {
        this._controlNow(ping, new Uint8Array(await blob.arrayBuffer()), cb);
      });
      return;
    }
    const view = data === undefined ? EMPTY : toPayload(data as Exclude<SendData, Blob | number>);
    const payload = typeof view === 'string' ? Buffer.from(view) : view;
    if (payload.length > MAX_CONTROL_PAYLOAD) throw controlTooLongError();
    if (this._sendQueue?.busy) this._sendQueue.run(() => this._controlNow(ping, payload, cb));
    else this._controlNow(ping, payload, cb);
  }

  private _controlNow(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void {
    const conn = this._conn;
    if (conn === undefined || conn.state !== ConnectionState.Open) {
      this._sendAfterClose(payload.length, cb);
      return;
    }
    if (ping) {
      conn.sendPing(payload);
      this._pingSentAt = performance.now();
    } else {
      conn.sendPong(payload);
    }
    if (cb !== undefined) this._addCallback(cb);
    this._scheduleFlush();
  }

  /** Runs an asynchronous send in order with the others; its failure goes to `cb` or `error`. */
  private _async(cb: Callback | undefined, task: () => Promise<void>): void {
    this._sendQueue ??= new SendQueue();
    this._sendQueue.exclusive(task).catch((error: Error) => {
      if (cb !== undefined) cb(error);
      else if (this.listenerCount('error') > 0) this.emit('error', error);
    });
  }

  private _drained(): Promise<void> {
    const transport = this._transport;
    if (transport === undefined || this._readyState !== OPEN) return Promise.resolve();
    this._flush();
    if (!transport.needDrain) return Promise.resolve();
    return new Promise((resolve) => {
      if (this._drainWaiters === undefined) this._drainWaiters = [resolve];
      else this._drainWaiters.push(resolve);
    });
  }

  private _whenWritten(cb: Callback): void {
    if (this._readyState !== OPEN) {
      process.nextTick(cb, this._readyState === CLOSED ? closedError() : null);
      return;
    }
    this._addCallback(cb);
    this._scheduleFlush();
  }

  private _addCallback(cb: Callback): void {
    if (this._callbacks === undefined) this._callbacks = [cb];
    else this._callbacks.push(cb);
  }

  private _scheduleFlush(): void {
    if (this._flushScheduled || this._inReceive) return;
    this._flushScheduled = true;
    process.nextTick(flushTick, this);
  }

  /** @internal Writes everything the connection produced, in one write where possible. */
  _flush(): void {
    this._flushScheduled = false;
    const conn = this._conn;
    const transport = this._transport;
    if (conn === undefined || transport === undefined) return;
    const chunks = conn.dataToSend();
    const callbacks = this._callbacks;
    this._callbacks = undefined;
    // Node calls back without an error for writes dropped by a destroy: report those as failed.
    const done =
      callbacks === undefined
        ? undefined
        : (error?: Error | null) =>
            runCallbacks(callbacks, error ?? (transport.destroyed ? closedError() : null));
    if (transport.writable) {
      if (chunks.length > 0) transport.write(chunks, done);
      else if (done !== undefined) process.nextTick(done, null);
    } else if (done !== undefined) {
      process.nextTick(done, closedError());
    }
    if (conn.eofToSend()) transport.end();
    if (conn.closeExpected() && this._closeTimer === undefined && this._readyState === OPEN) {
      this._closeTimer = setTimeout(() => transport.destroy(), this._settings!.closeTimeout);
    }
  }
}

installEventTarget(WebSocket.prototype);

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}

/** EventEmitter's listener table, in fast mode: no inherited names, shared hidden classes. */
function ListenerStore(this: object): void {}
ListenerStore.prototype = Object.create(null);
type ListenerStore = {};
const ListenerStore_ = ListenerStore as unknown as new () => ListenerStore;

/** The protocol core's events, forwarded to the WebSocket: one small object per connection. */
class ConnectionEvents implements ConnectionHandler {
  constructor(private readonly ws: WebSocket) {}
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void {
    if (compressed) this.ws._inflate(data, isBinary);
    else this.ws._emitMessage(data, isBinary);
  }
  onPing(data: Buffer): void {
    this.ws.emit('ping', data);
  }
  onPong(data: Buffer): void {
    this.ws._onPong(data);
  }
  onClose(): void {}
  onError(error: PeerError): void {
    if (this.ws.listenerCount('error') > 0) this.ws.emit('error', error);
  }
}

function flushTick(ws: WebSocket): void {
  ws._flush();
}

function runCallbacks(callbacks: Callback[], error?: Error | null): void {
  for (const cb of callbacks) cb(error ?? null);
}

function notOpenError(): UsageError {
  return new UsageError(ErrorCode.InvalidState, 'WebSocket is not open: readyState 0 (CONNECTING)');
}

function controlTooLongError(): UsageError {
  return new UsageError(
    ErrorCode.ControlPayloadTooLong,
    'a control frame payload is at most 125 bytes',
  );
}
