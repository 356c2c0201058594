import { EventEmitter } from 'node:events';
import type { PerMessageDeflate } from '../../extensions/permessage-deflate/codec.js';
import { type Connection, ConnectionState, Opcode } from '../../protocol/index.js';
import type { CoalesceWindow, WindowMember } from '../../pubsub/coalesce-window.js';
import type { PreparedMessage } from '../../pubsub/prepared-message.js';
import { type Callback, type DroppedMessage, HOLD_AT, Outbox } from '../send/outbox.js';
import type { Transport } from '../transport/transport.js';
import { closedError } from './data.js';
import { ListenerStore_ } from './listener-store.js';
import type { BinaryType, BindingSettings } from './options.js';
import type { RateBudget } from './rate-budget.js';
import type { ReceiveMemory } from './receive-memory.js';
import {
  ALIVE,
  CLIENT_CLOSE_WAIT,
  CLOSE_QUEUED,
  CLOSE_WAIT,
  CONNECTING,
  FLUSH_SCHEDULED,
  IN_RECEIVE,
  IN_WINDOW,
  OPEN,
} from './socket-state.js';
import type { WebSocketEvents } from './websocket-events.js';

/**
 * The sending half of a WebSocket connection, and the state both halves share: the entry
 * points of sending (straight to the wire when nothing waits, else through the send queue,
 * outbox.ts), the writer the queue calls (send-writer.ts: frames into the core, flushes to
 * the transport), and the close timer armed once a close is under way. SocketBase
 * (socket-base.ts) adds the receiving half.
 */
export abstract class SocketSend extends EventEmitter<WebSocketEvents> implements WindowMember {
  abstract get readyState(): number;

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
  /** State bits: ALIVE, FLUSH_SCHEDULED, IN_RECEIVE, PAUSED, CLOSE_QUEUED, BACKLOG, CLOSE_WAIT. */
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
  /** Published frames serialized into the core and not yet written (a coalescing window). */
  protected _heldFrames = 0;
  /** The turn of this connection's last published frame written at once (`publishTurn`). */
  private _publishTurn = -1;
  protected _localReason: Buffer | undefined;

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
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (!this._sendsData()) {
      this._sendAfterClose(bytes, cb);
      return false;
    }
    const box = this._outbox;
    if (box !== undefined) return box.send(payload, binary, fin, cb, compress, bytes);
    // Nothing ever waited, so a message in progress goes uncompressed (compression waits).
    const deflate = this._deflate;
    const compressed =
      deflate !== undefined &&
      compress !== false &&
      bytes >= deflate.threshold &&
      !this._conn!.sendingFragmented;
    if (!compressed && this._fits()) {
      this._deliverFrame(payload, binary, fin, undefined, cb);
      return true;
    }
    return this._box().send(payload, binary, fin, cb, compress, bytes);
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

  // ---- the writer (SendWriter): what the send queue calls ----

  /** @internal */
  _pendingBytes(): number {
    return this._conn!.bufferedAmount + this._transport!.bufferedAmount;
  }

  /** @internal */
  _sendsData(): boolean {
    return this._conn?.state === ConnectionState.Open;
  }

  /** Bytes waiting in the transport beyond which messages wait in the queue. */
  protected get _holdAt(): number {
    return Math.min(HOLD_AT, this._settings!.maxBackpressure);
  }

  /** @internal */
  _awaitTransport(): void {
    // Frames held for a coalescing window are not in the transport: they go first, or its
    // drain would be reported at once and the queue would ask again, forever.
    if (this._heldFrames > 0) this._scheduleFlush();
    this._transport!.requestDrain();
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
  _deliverRaw(frame: Buffer): void {
    this._conn!.sendPreparedFrame(frame);
    this._scheduleFlush();
  }

  /**
   * @internal A published message, framed once for all its subscribers, in order with this
   * connection's sends and under its backpressure policy. Compressed when permessage-deflate
   * was agreed: with the bytes compressed once for every connection of the same compression
   * group (no server context takeover), else by this connection's own compressor. False when
   * it was not sent (closing, or dropped by the policy). With a coalescing `window`, a frame
   * that would go straight out is serialized now (its place in order is taken) and written
   * when the window ends, with whatever else this connection sent meanwhile.
   */
  _deliverPrepared(message: PreparedMessage, sequenced: boolean, window?: CoalesceWindow): boolean {
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
      // A flush already due (or the end of a receive) takes the frame anyway: no need to hold.
      if (window === undefined || (this._bits & (FLUSH_SCHEDULED | IN_RECEIVE)) !== 0) {
        this._deliverPublished(frame);
      } else {
        this._hold(frame, window);
      }
      return true;
    }
    return this._box().publish(
      frame,
      message.payload(sequenced).length,
      message.isBinary(sequenced),
    );
  }

  /**
   * A published frame to a connection with nothing else to write: the first of a turn is
   * written at once (a broadcast then costs each subscriber one write and no tick of its own);
   * later ones in the same turn wait for the flush, so a burst still leaves in one more write.
   */
  private _deliverPublished(frame: Buffer): void {
    this._conn!.sendPreparedFrame(frame);
    if ((this._bits & (FLUSH_SCHEDULED | IN_RECEIVE)) === 0) {
      const turn = publishTurn();
      if (this._publishTurn !== turn) {
        this._publishTurn = turn;
        this._flush();
        return;
      }
    }
    this._scheduleFlush();
  }

  /** Serializes a published frame and leaves its write to the window (or to its count). */
  private _hold(frame: Buffer, window: CoalesceWindow): void {
    this._conn!.sendPreparedFrame(frame);
    if (++this._heldFrames >= window.messages) {
      this._scheduleFlush();
    } else if ((this._bits & IN_WINDOW) === 0) {
      // Once per window: frames held after a write by count go at this window's end (earlier).
      this._bits |= IN_WINDOW;
      window.hold(this);
    }
  }

  /** @internal The coalescing window ended: what it held is written (unless a flush is due). */
  _endWindow(): void {
    this._bits &= ~IN_WINDOW;
    if (this._heldFrames > 0 && (this._bits & (FLUSH_SCHEDULED | IN_RECEIVE)) === 0) {
      this._flush();
    }
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
    // The core decides: a close frame, or TCP's end once the closing handshake is over.
    this._conn!.sendClose(code, reason);
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
    if (this._outbox !== undefined) return this._outbox;
    // Without settings the connection never opened (a failed handshake): nothing will go.
    const settings = this._settings;
    this._outbox = new Outbox(
      this,
      settings?.maxBackpressure ?? HOLD_AT,
      settings?.backpressurePolicy ?? 'close',
      this._conn?.sendingFragmented === true,
    );
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
    this._heldFrames = 0;
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
    // Messages waiting for the transport may go now (writes often complete at once): the
    // queue's one entry point from the writer, after the write, never inside a delivery.
    if (this._outbox?.active) this._outbox.pump();
    if (conn.closeExpected()) this._armCloseTimer();
  }
}

/** Counts turns of the event loop in which something was published (one tick for all). */
let turn = 0;
let turnCounted = false;

function publishTurn(): number {
  if (!turnCounted) {
    turnCounted = true;
    process.nextTick(nextTurn);
  }
  return turn;
}

function nextTurn(): void {
  turn++;
  turnCounted = false;
}

function flushTick(ws: SocketSend): void {
  ws._flush();
}

function emitDrain(ws: SocketSend): void {
  if (ws.readyState === OPEN) ws.emit('drain');
}

/** Calls back every send waiting for a write (with its error, if it failed). */
export function runCallbacks(callbacks: Callback[], error?: Error | null): void {
  for (const cb of callbacks) cb(error ?? null);
}
