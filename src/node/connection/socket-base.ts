import type { Duplex } from 'node:stream';
import { PerMessageDeflate } from '../../extensions/permessage-deflate/codec.js';
import {
  CloseCode,
  Connection,
  ConnectionState,
  type DecodeBudget,
  ErrorCode,
  type Extension,
  PeerError,
} from '../../protocol/index.js';
import type { ServerPubSub } from '../../pubsub/server-pubsub.js';
import type { TopicMember } from '../../pubsub/topic-member.js';
import type { SendWriter } from '../send/send-writer.js';
import { StreamTransport } from '../transport/stream-transport.js';
import type { Transport, TransportSink } from '../transport/transport.js';
import { ConnectionEvents } from './connection-events.js';
import { closedError, toArrayBuffer } from './data.js';
import { type HeartbeatMember, joinHeartbeat, leaveHeartbeat } from './heartbeat.js';
import type { BindingSettings } from './options.js';
import { RateBudget } from './rate-budget.js';
import { ReceiveMemory } from './receive-memory.js';
import { runCallbacks, SocketSend } from './socket-send.js';
import {
  ALIVE,
  BACKLOG,
  CLOSED,
  CLOSING,
  EMPTY,
  IN_RECEIVE,
  OPEN,
  PAUSED,
} from './socket-state.js';

/**
 * The server tracking a connection, as the connection sees it: named here so that the
 * connection imports neither the server nor its own subclass (WebSocket).
 */
export interface SocketOwner<S extends TopicMember> {
  _untrack(ws: S): void;
  _pubsub(): ServerPubSub<S>;
}

/**
 * The internals of a WebSocket connection: its transport, its protocol core, the read path,
 * inflation and budgets; sending, flushing and the outbox are SocketSend's (socket-send.ts).
 * The public API is the WebSocket class (websocket.ts).
 */
export abstract class SocketBase extends SocketSend {
  abstract terminate(): void;

  /** @internal The server tracking this connection in its `clients` (and its topics). */
  _owner: SocketOwner<this> | undefined;
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

  /** Lets held input flow again after a user pause (the core still holds it while it decodes). */
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
    if ((this._bits & (PAUSED | BACKLOG)) === 0) this._transport!.resume();
  }

  // ---- internals shared with the server and the dialer ----

  /** @internal Takes over a socket after a successful handshake. */
  _setSocket(socket: Duplex, head: Buffer, settings: BindingSettings, extension?: Extension): void {
    this._attach(new StreamTransport(socket), head, settings, extension);
  }

  /** @internal Takes over a transport after a successful handshake. */
  _attach(
    transport: Transport,
    head: Buffer,
    settings: BindingSettings,
    extension?: Extension,
  ): void {
    this._transport = transport;
    this._settings = settings;
    this._conn = new Connection(settings.connection, new ConnectionEvents(this), extension);
    // The send path compresses with it (threshold, shared compression of publishes).
    if (extension instanceof PerMessageDeflate) this._deflate = extension;
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
   * @internal The core holds input while the extension decodes a message: stop reading, and
   * charge the message to the memory budget (its decoded output too, through the extension).
   */
  _holdInput(bytes: number): DecodeBudget | undefined {
    this._transport!.pause();
    const budget = this._settings!.memoryBudget;
    if (budget === undefined) return undefined;
    const memory = this._memoryAccount(budget);
    memory.inflateStart(bytes);
    return memory;
  }

  /** @internal The decode ended: read again unless something else holds reading. */
  _releaseInput(): void {
    if (this._readyState === CLOSED) return;
    this._syncMemory();
    this._flush();
    if ((this._bits & PAUSED) !== 0 || this._conn!.isPaused) return;
    // Once failed or closing, read on: the peer's close and end of TCP must be seen.
    if (
      this._conn!.closeExpected() ||
      ((this._bits & BACKLOG) === 0 && this._memory?.readingHeld !== true)
    ) {
      this._transport!.resume();
    }
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
    // The core decides whether to end our side too (eofToSend, obeyed by _flush).
    this._conn!.receiveEof();
    this._flush();
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
    this._owner?._untrack(this);
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
        if (
          (this._bits & PAUSED) === 0 &&
          !this._conn!.isPaused &&
          this._memory?.readingHeld !== true
        ) {
          this._transport!.resume();
        }
      }
    }
    this._outbox?.onTransportDrain();
  }
}

// SocketBase is a HeartbeatMember, TransportSink and SendWriter through @internal members. It
// is checked here rather than with `implements`, which the published .d.ts (stripInternal
// leaves those members out) could not honour.
type Serves<T extends HeartbeatMember & TransportSink & SendWriter> = T;
/** @internal */
export type SocketBaseRoles = Serves<SocketBase>;
