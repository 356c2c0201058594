import {
  ConnectionState,
  checkClose,
  checkControlPayload,
  ErrorCode,
  UsageError,
} from '../protocol/index.js';
import type {
  PublishData,
  ServerPubSub,
  SubscribeOptions,
  PublishOptions as TopicPublishOptions,
} from '../pubsub/server-pubsub.js';
import type { ClientOptions } from './client/client-options.js';
import { dial } from './client/dial.js';
import { closedError, toPayload } from './connection/data.js';
import type { BinaryType, SendData, SendOptions } from './connection/options.js';
import { SocketBase } from './connection/socket-base.js';
import {
  CLOSE_QUEUED,
  CLOSED,
  CLOSING,
  CONNECTING,
  EMPTY,
  OPEN,
  PAUSED,
} from './connection/socket-state.js';
import type { RawData } from './connection/websocket-events.js';
import { type EventHandler, type EventTargetMethods, installEventTarget } from './event-target.js';
import { MessageIterator } from './message-iterator.js';
import type { Callback } from './send/outbox.js';

export type { RawData, WebSocketEvents } from './connection/websocket-events.js';

/** Options of `server.publish` and `ws.publish`. */
export type PublishOptions = TopicPublishOptions<WebSocket>;

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
export class WebSocket extends SocketBase {
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

  constructor(address: null);
  constructor(address: string | URL, protocols?: string | string[], options?: ClientOptions);
  constructor(address: string | URL, options?: ClientOptions);
  constructor(
    address: string | URL | null,
    protocols?: string | string[] | ClientOptions,
    options?: ClientOptions,
  ) {
    super();
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
    if (
      this._readyState === OPEN &&
      (this._conn!.state !== ConnectionState.Open || (this._bits & CLOSE_QUEUED) !== 0)
    ) {
      return CLOSING;
    }
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

  /**
   * Bytes of messages not yet handed to the operating system: frames (headers included) in the
   * socket's queue, and the payloads of messages waiting in tsws. After `close()`, sends add
   * their size and it stays (as in browsers and ws).
   */
  get bufferedAmount(): number {
    const conn = this._conn;
    const transport = this._transport;
    if (conn === undefined || transport === undefined) return this._afterCloseBytes;
    const queued = this._outbox?.heldBytes ?? 0;
    return conn.bufferedAmount + transport.bufferedAmount + queued + this._afterCloseBytes;
  }

  /** Messages dropped by the backpressure policy, and their bytes. */
  get droppedMessages(): number {
    return this._outbox?.droppedMessages ?? 0;
  }
  get droppedBytes(): number {
    return this._outbox?.droppedBytes ?? 0;
  }

  get isPaused(): boolean {
    return (this._bits & PAUSED) !== 0;
  }

  /**
   * Sends a message. Strings go as text, everything else as binary unless `options.binary`
   * says otherwise; `fin: false` sends a fragment of a message that later calls continue.
   * `cb` is called once the data is written out (or with the error that prevented it).
   *
   * Returns true when the message went to the socket at once; false when it waits in tsws
   * (behind compression, a Blob, a stream, or a socket holding `min(1 MiB, maxBackpressure)`),
   * was dropped by the backpressure policy, or the connection is closing. After false, wait
   * for `drain` before sending more: a sender that does never meets the policy.
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
      if (!this._acceptsSends()) {
        this._sendAfterClose(blob.size, cb);
        return false;
      }
      const read = async () => new Uint8Array(await blob.arrayBuffer());
      this._box().send(EMPTY, binary, fin, cb, options?.compress, blob.size, read);
      return false;
    }
    const payload = toPayload(data as Exclude<SendData, Blob | number>);
    if (!this._acceptsSends()) {
      // Counted in bytes, as a browser's bufferedAmount (UTF-8 for text).
      const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      this._sendAfterClose(bytes, cb);
      return false;
    }
    // The fast path: nothing waits, no compression, the peer keeps up.
    if (this._outbox === undefined && this._deflate === undefined && this._fits()) {
      this._deliverFrame(payload, binary, fin, undefined, cb);
      return true;
    }
    return this._queueOrSend(payload, binary, fin, cb, options?.compress);
  }

  // ---- topics (pub/sub), on connections accepted by a WebSocketServer ----

  /**
   * Subscribes this connection to `topic`: it gets every message published to it (with
   * `server.publish` or `ws.publish`, on any process the adapter reaches) until it
   * unsubscribes or closes. Returns false when it already was subscribed (its options are
   * updated) or the connection is not open.
   */
  subscribe(topic: string, options?: SubscribeOptions): boolean {
    return this._topics().subscribe(this, topic, options);
  }

  /** Leaves `topic`; false when the connection was not subscribed. */
  unsubscribe(topic: string): boolean {
    return this._owner?._pubsub().unsubscribe(this, topic) ?? false;
  }

  isSubscribed(topic: string): boolean {
    return this._owner?._pubsub().isSubscribed(this, topic) ?? false;
  }

  /** The topics this connection is subscribed to, in the order it subscribed. */
  get topics(): string[] {
    return this._owner?._pubsub().topicsOf(this) ?? [];
  }

  /**
   * Publishes to every other subscriber of `topic` (this connection does not get it, even if
   * subscribed), as `server.publish` with `except` this connection.
   */
  publish(topic: string, data: PublishData, options?: Omit<PublishOptions, 'except'>): boolean {
    return this._topics().publish(topic, data, options, this);
  }

  private _topics(): ServerPubSub<WebSocket> {
    if (this._owner === undefined) {
      throw new UsageError(
        ErrorCode.InvalidState,
        'topics are for connections accepted by a WebSocketServer',
      );
    }
    return this._owner._pubsub();
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
    // Not open yet (or never): the stream's first piece would fail; the queue keeps no limits.
    if (this._conn === undefined) return Promise.reject(closedError());
    return new Promise<void>((resolve, reject) => {
      this._box().task(async () => {
        // A close() called after this stream started waits for it (hence not readyState).
        for await (const piece of source) {
          if (!this._sendsData()) throw closedError();
          this._deliverFrame(toPayload(piece), binary, false, undefined, undefined);
          await this._drained();
        }
        if (!this._sendsData()) throw closedError();
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
   * 1007-1014, 3000-4999) and reason (at most 123 UTF-8 bytes). Messages sent before go out
   * first; `readyState` is CLOSING at once and later sends fail. The TCP connection is
   * destroyed if the handshake is not over within `closeTimeout` from this call.
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
    checkClose(code, sentReason);
    if ((this._bits & CLOSE_QUEUED) !== 0) return;
    // Messages queued before the close go first; the close timer runs from now, so a peer that
    // neither reads nor closes is cut off after `closeTimeout` all the same.
    // (Publishes held for the end of a message that will now never end are dropped.)
    if (this._outbox !== undefined && !this._outbox.idle) {
      this._bits |= CLOSE_QUEUED;
      this._outbox.close(code, sentReason);
      this._armCloseTimer();
    } else {
      this._deliverClose(code, sentReason);
    }
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
    this._release();
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
      checkControlPayload(data.size);
      const blob = data;
      const read = async () => new Uint8Array(await blob.arrayBuffer());
      this._box().control(ping, undefined, read, cb);
      return;
    }
    const view = data === undefined ? EMPTY : toPayload(data as Exclude<SendData, Blob | number>);
    const payload = typeof view === 'string' ? Buffer.from(view) : view;
    checkControlPayload(payload.length);
    // Behind messages still being compressed or read, ahead of those held for the peer (outbox.ts).
    if (this._outbox?.active) this._outbox.control(ping, payload, undefined, cb);
    else this._controlNow(ping, payload, cb);
  }
}

installEventTarget(WebSocket.prototype);

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}

function notOpenError(): UsageError {
  return new UsageError(ErrorCode.InvalidState, 'WebSocket is not open: readyState 0 (CONNECTING)');
}
