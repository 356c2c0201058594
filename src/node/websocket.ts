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
import { MessageIterator } from './message-iterator.js';
import type {
  BackpressurePolicy,
  BinaryType,
  BindingSettings,
  SendData,
  SendOptions,
} from './options.js';
import { type Callback, type DroppedMessage, HOLD_AT, Outbox, type OutboxHost } from './outbox.js';
import { StreamTransport } from './stream-transport.js';
import type { Transport, TransportSink } from './transport.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const EMPTY = Buffer.alloc(0);
const MAX_CONTROL_PAYLOAD = 125;

// WebSocket state bits (one field: an idle connection should cost little).
/** A frame arrived since the last heartbeat sweep. */
const ALIVE = 1;
const FLUSH_SCHEDULED = 2;
/** Inside `receiveData`: sends are flushed once at its end. */
const IN_RECEIVE = 4;
/** The application paused reading. */
const PAUSED = 8;
/** Input is held while a compressed message inflates. */
const INFLATING = 16;

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
  /** Messages that waited for the peer (see `send`'s return value) have all gone out. */
  drain: [];
  /** A backpressure policy dropped a message. */
  dropped: [info: DroppedMessage];
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
  implements HeartbeatMember, TransportSink, OutboxHost
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
  /** State bits: ALIVE, FLUSH_SCHEDULED, IN_RECEIVE, PAUSED, INFLATING. */
  private _bits = ALIVE;
  /** Heartbeat sweeps missed in a row. */
  private _missed = 0;
  private _pingSentAt = 0;
  /** Callbacks of sends waiting for the next write. */
  private _callbacks: Callback[] | undefined;
  /** Created when a send has to wait (compression, a Blob, a stream, a peer not reading). */
  private _outbox: Outbox | undefined;
  /** permessage-deflate, when agreed (RFC 7692). @internal */
  _deflate: PerMessageDeflate | undefined;
  /** Rate budgets, when configured: tokens left and when they were counted. */
  private _budget: { messages: number; bytes: number; at: number } | undefined;
  private _afterCloseBytes = 0;
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
    const queued = this._outbox?.queuedBytes ?? 0;
    return conn.bufferedAmount + transport.bufferedAmount + queued + this._afterCloseBytes;
  }

  /** Messages dropped by the backpressure policy, and their bytes. */
  get droppedMessages(): number {
    return this._outbox?.droppedMessages ?? 0;
  }
  get droppedBytes(): number {
    return this._outbox?.droppedBytes ?? 0;
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
    return (this._bits & PAUSED) !== 0;
  }

  /**
   * Sends a message. Strings go as text, everything else as binary unless `options.binary`
   * says otherwise; `fin: false` sends a fragment of a message that later calls continue.
   * `cb` is called once the data is written out (or with the error that prevented it).
   */
  send(data: SendData, options?: SendOptions | Callback, cb?: Callback): boolean {
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
      if (!this._sendsData()) {
        this._sendAfterClose(blob.size, cb);
        return false;
      }
      const read = async () => new Uint8Array(await blob.arrayBuffer());
      this._box().sendLater(read, blob.size, binary, fin, cb, options?.compress);
      return false;
    }
    const payload = toPayload(data as Exclude<SendData, Blob | number>);
    const conn = this._conn;
    if (conn === undefined || conn.state !== ConnectionState.Open) {
      this._sendAfterClose(payload.length, cb);
      return false;
    }
    // The fast path: nothing waits, no compression, the peer keeps up.
    if (this._outbox === undefined && this._deflate === undefined) {
      if (this._pendingBytes() < HOLD_AT) {
        this._deliverFrame(payload, binary, fin, undefined, cb);
        return true;
      }
    }
    return this._queueOrSend(payload, binary, fin, cb, options?.compress);
  }

  /** Sends now if nothing waits, else queues (in order, under the backpressure limit). */
  private _queueOrSend(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    cb: Callback | undefined,
    compress: boolean | undefined,
  ): boolean {
    const box = this._box();
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const compressed = box.compresses(bytes, compress, fin);
    if (
      !compressed &&
      !box.active &&
      this._pendingBytes() < Math.min(HOLD_AT, this._maxBackpressure)
    ) {
      if (!this._sendsData()) {
        this._sendAfterClose(bytes, cb);
        return false;
      }
      this._deliverFrame(payload, binary, fin, undefined, cb);
      return true;
    }
    return box.send(payload, binary, fin, cb, compressed);
  }

  /**
   * Sends a message whose bytes come from `source` piece by piece, as fragments (RFC 6455 §5.4),
   * without holding the whole message. Waits for the socket to drain between pieces. Other
   * sends made meanwhile leave after this message.
   */
  sendStream(
    source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
    options: { binary?: boolean } = {},
  ): Promise<void> {
    const binary = options.binary ?? true;
    return new Promise<void>((resolve, reject) => {
      this._box().task(async () => {
        for await (const piece of source) {
          if (this.readyState !== OPEN) throw closedError();
          this._deliverFrame(toPayload(piece), binary, false, undefined, undefined);
          await this._drained();
        }
        if (this.readyState !== OPEN) throw closedError();
        this._deliverFrame(EMPTY, binary, true, undefined, (error) =>
          error ? reject(error) : resolve(),
        );
      }, reject);
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
    // Messages queued before the close go first.
    if (this._outbox?.active) this._outbox.close(code, sentReason);
    else this._deliverClose(code, sentReason);
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
    this._bits |= PAUSED;
    this._conn.pause();
    this._transport!.pause();
  }

  resume(): void {
    if (this._conn === undefined) return;
    this._bits &= ~PAUSED;
    if ((this._bits & INFLATING) === 0) this._release();
  }

  /**
   * The messages as an async iterator that stops reading from the peer when the consumer falls
   * `highWaterMark` messages behind, and resumes when it catches up. Ends when the connection
   * closes.
   */
  messages(options: { highWaterMark?: number } = {}): AsyncIterableIterator<[RawData, boolean]> {
    return new MessageIterator(this, options.highWaterMark ?? 16);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<[RawData, boolean]> {
    return this.messages();
  }

  /** Lets held input flow again (after a user pause, or once a message is inflated). */
  private _release(): void {
    const conn = this._conn!;
    this._bits |= IN_RECEIVE;
    try {
      conn.resume();
    } finally {
      this._bits &= ~IN_RECEIVE;
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
    if (settings.rateLimit !== undefined) {
      const { messages, bytes } = settings.rateLimit;
      this._budget = { messages, bytes, at: performance.now() };
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
    if ((this._bits & ALIVE) !== 0) {
      this._bits &= ~ALIVE;
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
    this._bits |= INFLATING;
    this._deflate!.decompress(data, (error, result) => {
      this._bits &= ~INFLATING;
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
      if ((this._bits & PAUSED) === 0 && this._readyState !== CLOSED) this._release();
    });
  }

  /** A peer fault found outside the protocol core (inflation, budgets): fail with its code. */
  _failLocally(error: Error): void {
    const code = error instanceof PeerError ? error.closeCode : CloseCode.InternalError;
    this._conn!.failConnection(code, error.message);
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this._flush();
  }

  /**
   * @internal Charges a message or control frame to the rate budgets; false (and the
   * connection failed with 1008) when over.
   */
  _charge(bytes: number): boolean {
    const budget = this._budget;
    if (budget === undefined) return true;
    const limit = this._settings!.rateLimit!;
    const now = performance.now();
    const elapsed = (now - budget.at) / 1000;
    budget.at = now;
    // Token buckets holding at most one second's worth (the burst).
    budget.messages = Math.min(limit.messages, budget.messages + elapsed * limit.messages) - 1;
    budget.bytes = Math.min(limit.bytes, budget.bytes + elapsed * limit.bytes) - bytes;
    if (budget.messages >= 0 && budget.bytes >= 0) return true;
    this._budget = undefined;
    this._failLocally(
      new PeerError(
        ErrorCode.RateLimited,
        CloseCode.PolicyViolation,
        'the peer sends faster than its rate limit',
      ),
    );
    return false;
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
    this._bits |= ALIVE | IN_RECEIVE;
    try {
      this._conn!.receiveData(chunk, borrowed);
    } finally {
      this._bits &= ~IN_RECEIVE;
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
    this._outbox?.abort();
    this._readyState = CLOSED;
    this._owner?._untrack(this);
    const reason = conn.closeReceived ? conn.closeReason : (this._localReason ?? conn.closeReason);
    this.emit('close', conn.closeCode, reason);
  }

  /** @internal */
  _onTransportDrain(): void {
    this._outbox?.pump();
  }

  // ---- sending (OutboxHost) ----

  /** @internal */
  _pendingBytes(): number {
    return this._conn!.bufferedAmount + this._transport!.bufferedAmount;
  }

  /** @internal */
  _midMessage(): boolean {
    return this._conn!.sendingFragmented;
  }

  /** @internal */
  _sendsData(): boolean {
    return this._conn?.state === ConnectionState.Open;
  }

  /** @internal */
  get _maxBackpressure(): number {
    return this._settings!.maxBackpressure;
  }

  /** @internal */
  get _backpressurePolicy(): BackpressurePolicy {
    return this._settings!.backpressurePolicy;
  }

  /** @internal Serializes one data frame (RSV1 given: already compressed). */
  _deliverFrame(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    rsv1: boolean | undefined,
    cb: Callback | undefined,
  ): void {
    const conn = this._conn!;
    if (rsv1 !== undefined) {
      conn.sendDataFrame(binary ? Opcode.Binary : Opcode.Text, payload as Uint8Array, fin, rsv1);
    } else if (binary) {
      conn.sendBinary(typeof payload === 'string' ? Buffer.from(payload) : payload, fin);
    } else {
      conn.sendText(payload, fin);
    }
    if (cb !== undefined) this._addCallback(cb);
    this._scheduleFlush();
  }

  /** @internal */
  _deliverClose(code: number | undefined, reason: string | Buffer | undefined): void {
    const conn = this._conn!;
    if (conn.closeSent) {
      if (conn.closeReceived) this._transport!.end();
      return;
    }
    if (conn.state === ConnectionState.Closed) return;
    conn.sendClose(code, reason);
    this._scheduleFlush();
  }

  /** @internal The backpressure policy closes the connection. */
  _failPolicy(code: number, reason: string): void {
    this._conn!.failConnection(code, reason);
    this._scheduleFlush();
  }

  /** @internal */
  _emitDropped(info: DroppedMessage): void {
    this.emit('dropped', info);
  }

  /** @internal */
  _emitDrain(): void {
    this.emit('drain');
  }

  /** @internal An asynchronous send failed: its callback, or `error` if listened to. */
  _emitAsyncError(error: Error, cb: Callback | undefined): void {
    if (cb !== undefined) cb(error);
    else if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private _box(): Outbox {
    if (this._outbox === undefined) this._outbox = new Outbox(this);
    return this._outbox;
  }

  private _sendAfterClose(length: number, cb: Callback | undefined): void {
    // As ws does: the data is counted (a browser's bufferedAmount grows too) and the callback errs.
    this._afterCloseBytes += length;
    if (cb !== undefined) process.nextTick(cb, closedError());
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
      this._box().task(async () => {
        this._controlNow(ping, new Uint8Array(await blob.arrayBuffer()), cb);
      }, cb);
      return;
    }
    const view = data === undefined ? EMPTY : toPayload(data as Exclude<SendData, Blob | number>);
    const payload = typeof view === 'string' ? Buffer.from(view) : view;
    if (payload.length > MAX_CONTROL_PAYLOAD) throw controlTooLongError();
    // Control frames never wait behind queued messages (RFC 6455 §5.5 lets them interleave).
    this._controlNow(ping, payload, cb);
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

  /** Resolves once the transport is not over its high-water mark. */
  private _drained(): Promise<void> {
    const transport = this._transport;
    if (transport === undefined || this._readyState !== OPEN) return Promise.resolve();
    this._flush();
    if (!transport.needDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.off('drain', done);
        this.off('close', done);
        resolve();
      };
      // The transport drains: a `drain` from the outbox, or a write completing.
      const poll = () => {
        if (!transport.needDrain || this._readyState !== OPEN) done();
        else setImmediate(poll);
      };
      this.on('close', done);
      setImmediate(poll);
    });
  }

  private _addCallback(cb: Callback): void {
    if (this._callbacks === undefined) this._callbacks = [cb];
    else this._callbacks.push(cb);
  }

  private _scheduleFlush(): void {
    if ((this._bits & (FLUSH_SCHEDULED | IN_RECEIVE)) !== 0) return;
    this._bits |= FLUSH_SCHEDULED;
    process.nextTick(flushTick, this);
  }

  /** @internal Writes everything the connection produced, in one write where possible. */
  _flush(): void {
    this._bits &= ~FLUSH_SCHEDULED;
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
    // Messages waiting for the transport may go now (writes often complete at once).
    if (this._outbox?.active) this._outbox.pump();
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
    if (!this.ws._charge(data.length)) return;
    if (compressed) this.ws._inflate(data, isBinary);
    else this.ws._emitMessage(data, isBinary);
  }
  onPing(data: Buffer): void {
    if (this.ws._charge(data.length)) this.ws.emit('ping', data);
  }
  onPong(data: Buffer): void {
    if (this.ws._charge(data.length)) this.ws._onPong(data);
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
