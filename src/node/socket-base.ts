import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { PerMessageDeflate } from '../extensions/permessage-deflate/codec.js';
import {
  CloseCode,
  Connection,
  ConnectionState,
  ErrorCode,
  isUtf8,
  Opcode,
  PeerError,
} from '../protocol/index.js';
import { ConnectionEvents } from './connection-events.js';
import { closedError, toArrayBuffer } from './data.js';
import { type HeartbeatMember, joinHeartbeat, leaveHeartbeat } from './heartbeat.js';
import { ListenerStore_ } from './listener-store.js';
import type { BackpressurePolicy, BinaryType, BindingSettings } from './options.js';
import { type Callback, type DroppedMessage, HOLD_AT, Outbox, type OutboxHost } from './outbox.js';
import type { PreparedMessage } from './prepared-message.js';
import { RateBudget } from './rate-budget.js';
import { ReceiveMemory } from './receive-memory.js';
import type { ServerPubSub } from './server-pubsub.js';
import {
  ALIVE,
  BACKLOG,
  CLIENT_CLOSE_WAIT,
  CLOSE_QUEUED,
  CLOSE_WAIT,
  CLOSED,
  CLOSING,
  CONNECTING,
  EMPTY,
  FLUSH_SCHEDULED,
  IN_RECEIVE,
  INFLATING,
  OPEN,
  PAUSED,
} from './socket-state.js';
import { StreamTransport } from './stream-transport.js';
import type { Transport, TransportSink } from './transport.js';
import type { WebSocket } from './websocket.js';
import type { WebSocketEvents } from './websocket-events.js';

/**
 * The internals of a WebSocket connection: its transport, its protocol core, flushing, the
 * outbox, inflation and budgets. The public API is the WebSocket class (websocket.ts).
 */
export abstract class SocketBase extends EventEmitter<WebSocketEvents> {
  abstract get readyState(): number;
  abstract terminate(): void;

  constructor() {
    super();
    // EventEmitter keeps listeners in a null-prototype literal, which V8 makes a dictionary
    // (~300 bytes). A fast-mode object whose prototype chain ends at null holds the same names.
    (this as unknown as { _events: object })._events = new ListenerStore_();
  }

  /**
   * Milliseconds from the last ping sent (heartbeat or `ping()`) to the next pong received;
   * undefined until a ping is answered.
   */
  rtt: number | undefined;

  protected _readyState = CONNECTING;
  protected _binaryType: BinaryType = 'nodebuffer';
  /** @internal */ _url = '';
  /** @internal */ _protocol = '';
  /** @internal */ _extensions = '';
  protected _transport: Transport | undefined;
  protected _conn: Connection | undefined;
  protected _settings: BindingSettings | undefined;
  protected _closeTimer: NodeJS.Timeout | undefined;
  /** State bits: ALIVE, FLUSH_SCHEDULED, IN_RECEIVE, PAUSED, INFLATING, CLOSE_QUEUED, BACKLOG. */
  protected _bits = ALIVE;
  /** Heartbeat sweeps missed in a row. */
  protected _missed = 0;
  protected _pingSentAt = 0;
  /** Callbacks of sends waiting for the next write. */
  protected _callbacks: Callback[] | undefined;
  /** Created when a send has to wait (compression, a Blob, a stream, a peer not reading). */
  protected _outbox: Outbox | undefined;
  /** permessage-deflate, when agreed (RFC 7692). @internal */
  _deflate: PerMessageDeflate | undefined;
  /** Rate budgets, when configured: tokens left and when they were counted. */
  protected _budget: RateBudget | undefined;
  /** This connection's bytes in the memory budget, once it holds any. */
  protected _memory: ReceiveMemory | undefined;
  protected _afterCloseBytes = 0;
  protected _localReason: Buffer | undefined;
  /** @internal The server tracking this connection in its `clients` (and its topics). */
  _owner: { _untrack(ws: WebSocket): void; _pubsub(): ServerPubSub } | undefined;
  /** @internal the client's pending handshake, to abort it. */
  _abortHandshake: ((message: string) => void) | undefined;

  /** @internal Both close frames went out: what a browser calls a clean close. */
  get _wasClean(): boolean {
    return this._conn?.closeSent === true && this._conn.closeReceived;
  }

  /** @internal The peer's close frame arrived (else the close code is 1006, RFC 6455 §7.1.5). */
  get _closeFrameReceived(): boolean {
    return this._conn?.closeReceived === true;
  }

  /**
   * Whether a message may go straight to the transport: what waits there is under the hold
   * mark. The message may take the backlog past `maxBackpressure` (by itself, at most): a
   * producer that waits for `drain` after a false `send()` never meets the policy.
   */
  protected _fits(): boolean {
    return this._pendingBytes() < this._holdAt;
  }

  /** Sends now if nothing waits, else queues (in order, under the backpressure limit). */
  protected _queueOrSend(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    cb: Callback | undefined,
    compress: boolean | undefined,
  ): boolean {
    const box = this._box();
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (box.droppingMessage) return box.send(payload, binary, fin, cb, false, bytes);
    const compressed = box.compresses(bytes, compress, fin);
    if (!compressed && !box.active && this._fits()) {
      if (!this._sendsData()) {
        this._sendAfterClose(bytes, cb);
        return false;
      }
      this._deliverFrame(payload, binary, fin, undefined, cb);
      return true;
    }
    return box.send(payload, binary, fin, cb, compressed, bytes);
  }

  /** Lets held input flow again (after a user pause, or once a message is inflated). */
  protected _release(): void {
    const conn = this._conn!;
    this._bits |= IN_RECEIVE;
    try {
      conn.resume();
    } finally {
      this._bits &= ~IN_RECEIVE;
    }
    this._syncMemory();
    this._flush();
    if (!conn.isPaused && (this._bits & BACKLOG) === 0 && this._memory?.readingHeld !== true) {
      this._transport!.resume();
    }
  }

  /** Counts what the receiver holds in the memory budget (reading may stop, or fail: 1009). */
  protected _syncMemory(): void {
    const budget = this._settings!.memoryBudget;
    if (budget === undefined) return;
    const held = this._conn!.receiveBufferedAmount;
    if (held === 0 && this._memory === undefined) return;
    this._memoryAccount(budget).sync(held);
  }

  private _memoryAccount(budget: NonNullable<BindingSettings['memoryBudget']>): ReceiveMemory {
    this._memory ??= new ReceiveMemory(budget, this._settings!.memoryPolicy, this);
    return this._memory;
  }

  /** @internal The memory budget is spent: stop reading. */
  _memoryPause(): void {
    this._transport!.pause();
  }

  /** @internal The memory budget has room: read again unless something else holds reading. */
  _memoryResume(): void {
    if (this._readyState === CLOSED || this._conn!.isPaused) return;
    if ((this._bits & (PAUSED | INFLATING | BACKLOG)) === 0) this._transport!.resume();
  }

  /** Whether new messages may be sent: open, and `close()` not called. */
  protected _acceptsSends(): boolean {
    return this._conn?.state === ConnectionState.Open && (this._bits & CLOSE_QUEUED) === 0;
  }

  /**
   * Destroys TCP if the closing handshake is not over within `closeTimeout` from now. Once it
   * is over, a client waits for the server's TCP close at most CLIENT_CLOSE_WAIT.
   */
  protected _armCloseTimer(): void {
    if (this._readyState !== OPEN) return;
    const conn = this._conn!;
    let ms = this._settings!.closeTimeout;
    const over = conn.closeReceived && conn.closeSent;
    if (over && (this._bits & CLOSE_WAIT) === 0 && conn.role === 'client') {
      this._bits |= CLOSE_WAIT;
      if (this._closeTimer !== undefined) clearTimeout(this._closeTimer);
      this._closeTimer = undefined;
      ms = Math.min(ms, CLIENT_CLOSE_WAIT);
    }
    if (this._closeTimer !== undefined) return;
    const transport = this._transport!;
    this._closeTimer = setTimeout(() => transport.destroy(), ms);
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
    if (settings.rateLimit !== undefined) this._budget = new RateBudget(settings.rateLimit);
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

  /**
   * @internal Heartbeat sweep; returns false to leave the group. While the application (or
   * the memory budget) holds reading paused, the peer's frames cannot be seen: no beat counts
   * as missed.
   */
  _heartbeatTick(maxMissed: number): boolean {
    if (this._readyState !== OPEN || this._conn!.state !== ConnectionState.Open) return false;
    // Reading held by the memory budget is our choice too: the peer's pongs wait unread.
    if ((this._bits & (ALIVE | PAUSED)) !== 0 || this._memory?.readingHeld === true) {
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

  /**
   * @internal The peer's close frame arrived (RFC 6455 §7.1.3, the closing handshake is
   * started); the echo is queued. A hook for subclasses (the WHATWG facade).
   */
  _onCloseFrame(): void {}

  /**
   * @internal A ping arrived and the core queued its pong. If what waits to be written is over
   * `maxBackpressure` already, the peer keeps us writing without reading: reading stops until
   * the transport drains, so a ping flood cannot grow our buffers without bound.
   */
  _onPingReceived(): void {
    if ((this._bits & BACKLOG) !== 0 || !this._settings!.connection.autoPong) return;
    if (this._pendingBytes() <= this._settings!.maxBackpressure) return;
    this._bits |= BACKLOG;
    this._transport!.pause();
    this._transport!.requestDrain();
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
    const budget = this._settings!.memoryBudget;
    const memory = budget === undefined ? undefined : this._memoryAccount(budget);
    memory?.inflateStart(data.length);
    const done = (error: Error | null, result?: Buffer) => {
      this._bits &= ~INFLATING;
      memory?.inflateEnd();
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
    };
    this._deflate!.decompress(data, done, memory);
  }

  /** A peer fault found outside the protocol core (inflation, budgets): fail with its code. */
  _failLocally(error: Error): void {
    const code = error instanceof PeerError ? error.closeCode : CloseCode.InternalError;
    this._conn!.failConnection(code, error.message);
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this._flush();
    // Reading may have stopped (inflation, the memory budget): the receiver discards from now
    // on, but the peer's close and end of TCP must be seen, or the close waits for its timer.
    if (this._readyState !== CLOSED && (this._bits & PAUSED) === 0) this._transport?.resume();
  }

  /**
   * @internal Charges a message or control frame to the rate budgets; false (and the
   * connection failed with 1008) when over.
   */
  _charge(bytes: number): boolean {
    if (this._budget === undefined || this._budget.charge(bytes)) return true;
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
    if (this._settings!.memoryBudget !== undefined) this._syncMemory();
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
    this._memory?.close();
    if (this._settings!.heartbeat !== undefined) leaveHeartbeat(this, this._settings!.heartbeat);
    const callbacks = this._callbacks;
    this._callbacks = undefined;
    if (callbacks !== undefined) runCallbacks(callbacks, closedError());
    this._outbox?.abort();
    this._readyState = CLOSED;
    this._owner?._untrack(this as unknown as WebSocket);
    const reason = conn.closeReceived ? conn.closeReason : (this._localReason ?? conn.closeReason);
    this.emit('close', conn.closeCode, reason);
  }

  /** @internal */
  _onTransportDrain(): void {
    if ((this._bits & BACKLOG) !== 0) {
      if (this._pendingBytes() > this._settings!.maxBackpressure) {
        this._transport!.requestDrain();
      } else {
        this._bits &= ~BACKLOG;
        if ((this._bits & (PAUSED | INFLATING)) === 0 && this._memory?.readingHeld !== true) {
          this._transport!.resume();
        }
      }
    }
    this._outbox?.onTransportDrain();
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
  get _holdAt(): number {
    return Math.min(HOLD_AT, this._settings!.maxBackpressure);
  }

  /** @internal */
  _awaitTransport(): void {
    this._transport!.requestDrain();
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
    // Publishes that waited for the end of a message sent in fragments go next.
    if (fin && this._outbox !== undefined && !this._outbox.idle) this._outbox.messageEnded();
  }

  /** @internal */
  _deliverRaw(frame: Buffer): void {
    this._conn!.sendPreparedFrame(frame);
    this._scheduleFlush();
  }

  /**
   * @internal A published message, framed once for all its subscribers, in order with this
   * connection's sends and under its backpressure policy. Compressed when permessage-deflate
   * was agreed: with the bytes compressed once for every connection of the same compression
   * group (no server context takeover), else by this connection's own compressor. False when
   * it was not sent (closing, or dropped by the policy).
   */
  _deliverPrepared(message: PreparedMessage, sequenced: boolean): boolean {
    if (!this._sendsData()) return false;
    const deflate = this._deflate;
    if (deflate !== undefined && message.compress) {
      const payload = message.payload(sequenced);
      if (payload.length >= deflate.threshold) {
        const binary = message.isBinary(sequenced);
        const group = deflate.shared;
        if (group === undefined) return this._box().publishOwn(payload, binary);
        const frame = message.compressedFrame(sequenced, group);
        return this._box().publish(frame, payload.length, binary);
      }
    }
    const frame = message.frame(sequenced);
    const box = this._outbox;
    if ((box === undefined || box.idle) && !this._conn!.sendingFragmented && this._fits()) {
      this._deliverRaw(frame);
      return true;
    }
    return this._box().publish(
      frame,
      message.payload(sequenced).length,
      message.isBinary(sequenced),
    );
  }

  /**
   * @internal Resolves once a message would go straight to the transport (nothing waits in
   * the outbox, the transport is under the hold mark), or the connection sends no more: for
   * senders that pace themselves by drain (a replay) instead of meeting the policy.
   */
  _whenWritable(): Promise<void> {
    if (!this._sendsData()) return Promise.resolve();
    const box = this._outbox;
    if ((box === undefined || box.idle) && !this._conn!.sendingFragmented && this._fits()) {
      return Promise.resolve();
    }
    return this._box().whenIdle();
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

  /** @internal */
  _deliverControl(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void {
    // Queued before close() was called: it goes unless the close frame went already.
    if (this._sendsData()) this._writeControl(ping, payload, cb);
    else this._sendAfterClose(payload.length, cb);
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

  /** @internal Never synchronously from `send`: a caller must have time to listen. */
  _emitDrain(): void {
    process.nextTick(emitDrain, this);
  }

  /** @internal An asynchronous send failed: its callback, or `error` if listened to. */
  _emitAsyncError(error: Error, cb: Callback | undefined): void {
    if (cb !== undefined) cb(error);
    else if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  protected _box(): Outbox {
    if (this._outbox === undefined) this._outbox = new Outbox(this);
    return this._outbox;
  }

  protected _sendAfterClose(length: number, cb: Callback | undefined): void {
    // As ws does: the data is counted (a browser's bufferedAmount grows too) and the callback errs.
    this._afterCloseBytes += length;
    if (cb !== undefined) process.nextTick(cb, closedError());
  }

  protected _controlNow(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void {
    if (this._conn === undefined || !this._acceptsSends()) {
      this._sendAfterClose(payload.length, cb);
      return;
    }
    this._writeControl(ping, payload, cb);
  }

  private _writeControl(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void {
    const conn = this._conn!;
    if (ping) {
      conn.sendPing(payload);
      this._pingSentAt = performance.now();
    } else {
      conn.sendPong(payload);
    }
    if (cb !== undefined) this._addCallback(cb);
    this._scheduleFlush();
  }

  /** Resolves once the transport is not over its high-water mark (or the connection is gone). */
  protected _drained(): Promise<void> {
    const transport = this._transport;
    if (transport === undefined || this._readyState !== OPEN) return Promise.resolve();
    this._flush();
    return this._box().drained(() => transport.needDrain && this._readyState === OPEN);
  }

  protected _addCallback(cb: Callback): void {
    if (this._callbacks === undefined) this._callbacks = [cb];
    else this._callbacks.push(cb);
  }

  protected _scheduleFlush(): void {
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
    if (conn.closeExpected()) this._armCloseTimer();
  }
}

function flushTick(ws: SocketBase): void {
  ws._flush();
}

function emitDrain(ws: SocketBase): void {
  if (ws.readyState === OPEN) ws.emit('drain');
}

function runCallbacks(callbacks: Callback[], error?: Error | null): void {
  for (const cb of callbacks) cb(error ?? null);
}

// SocketBase is a HeartbeatMember, TransportSink and OutboxHost through @internal members. It
// is checked here rather than with `implements`, which the published .d.ts (stripInternal
// leaves those members out) could not honour.
type Serves<T extends HeartbeatMember & TransportSink & OutboxHost> = T;
/** @internal */
export type SocketBaseRoles = Serves<SocketBase>;
