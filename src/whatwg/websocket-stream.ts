import { types } from 'node:util';
import { WebSocket as NodeWebSocket } from '../node/index.js';
import { parseUrl, protocolList } from './url.js';
import {
  clampTruncateUnsignedShort,
  defineInterface,
  toDictionary,
  toUSVStringValue,
} from './webidl.js';
import type { WebSocketOptions } from './websocket.js';
import {
  networkError,
  validateCloseCodeAndReason,
  type WebSocketCloseInfo,
  WebSocketError,
} from './websocket-error.js';

/** `WebSocketStreamOptions`, plus the Node-only options of the WebSocket constructor. */
export interface WebSocketStreamOptions extends WebSocketOptions {
  protocols?: Iterable<string>;
  signal?: AbortSignal;
}

export interface WebSocketOpenInfo {
  readable: ReadableStream<string | ArrayBuffer>;
  writable: WritableStream<string | ArrayBuffer | ArrayBufferView>;
  extensions: string;
  protocol: string;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * The streams-based WebSocket that Chromium ships (since Chrome 124), on top of tsws's client.
 * It is not in the published WebSockets standard: the proposal is whatwg/websockets#48 ("The
 * WebSocketStream interface", open) and web-platform-tests keep its tests as tentative. So
 * where the proposal and Chromium differ, tsws does what Chromium does: binary messages are
 * read as ArrayBuffers, a closeCode is clamped then validated, an abort rejects with an
 * AbortError. Steps cited are the proposal's.
 *
 * Messages are read from `readable` (strings and ArrayBuffers) and written to `writable`; when
 * the reader stops pulling, tsws stops reading from TCP.
 */
export class WebSocketStream {
  readonly #url: URL;
  readonly #opened = deferred<WebSocketOpenInfo>();
  readonly #closed = deferred<{ closeCode: number; reason: string }>();
  readonly #protocols: string[];
  #inner: NodeWebSocket | undefined;
  #readyState = CONNECTING;
  #wasEverConnected = false;
  #handshakeAborted = false;
  #readableController: ReadableStreamDefaultController<string | ArrayBuffer> | undefined;
  #writableController: WritableStreamDefaultController | undefined;

  constructor(url: string | URL, options?: WebSocketStreamOptions | null) {
    // biome-ignore lint/complexity/noArguments: WebIDL checks the number of arguments given.
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to construct 'WebSocketStream': 1 argument required, but only 0 present.",
      );
    }
    // An unobserved rejection must not take the process down: browsers only log them.
    this.#opened.promise.catch(() => {});
    this.#closed.promise.catch(() => {});
    // WebIDL first: the USVString url, then the WebSocketStreamOptions dictionary (its members
    // in order: protocols, a sequence<USVString>; signal, an AbortSignal).
    const href = toUSVStringValue(url, CONSTRUCT);
    const dictionary = toDictionary(options, CONSTRUCT) as WebSocketStreamOptions;
    const { protocols: protocolOption, signal, ...extra } = dictionary;
    let offered: string[] | undefined;
    if (protocolOption !== undefined) {
      if (
        typeof protocolOption !== 'object' ||
        protocolOption === null ||
        !(Symbol.iterator in protocolOption)
      ) {
        throw new TypeError(`${CONSTRUCT}: The provided value cannot be converted to a sequence.`);
      }
      offered = Array.from(protocolOption as Iterable<unknown>, (p) =>
        toUSVStringValue(p, CONSTRUCT),
      );
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`${CONSTRUCT}: member signal is not of type AbortSignal.`);
    }
    // Constructor steps 1-2: get a URL record (ws, wss, http and https; no fragment).
    this.#url = parseUrl(href, 'WebSocketStream');
    // Step 3: the protocols, distinct tokens, else a SyntaxError.
    const protocols = protocolList(offered ?? [], 'WebSocketStream');
    this.#protocols = protocols;
    // Step 4: the signal. Aborted already: nothing is dialled, opened and closed reject. Aborted
    // while connecting: the handshake is abandoned and both reject. Later aborts do nothing.
    // Both reject with an AbortError whatever the signal's reason, as Chromium does (the
    // proposal would use the reason).
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#readyState = CLOSED;
        const error = abortError();
        this.#opened.reject(error);
        this.#closed.reject(error);
        return;
      }
      signal.addEventListener(
        'abort',
        () => {
          if (this.#readyState !== CONNECTING) return;
          this.#readyState = CLOSING;
          this.#handshakeAborted = true;
          const error = abortError();
          this.#opened.reject(error);
          this.#closed.reject(error);
          this.#inner?.terminate();
        },
        { once: true },
      );
    }
    // Step 5: establish a WebSocket connection, in parallel.
    const inner = new NodeWebSocket(this.#url.href, protocols, { heartbeat: false, ...extra });
    this.#inner = inner;
    inner.on('open', () => this.#onOpen());
    inner.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    inner.on('error', () => {});
    inner.on('close', (code, reason) => this.#onClose(code, reason));
  }

  get url(): string {
    return this.#url.href;
  }
  get opened(): Promise<WebSocketOpenInfo> {
    return this.#opened.promise;
  }
  get closed(): Promise<{ closeCode: number; reason: string }> {
    return this.#closed.promise;
  }

  /** "close(closeInfo)" method steps: close the WebSocket with closeInfo's code and reason. */
  close(closeInfo?: WebSocketCloseInfo | null): void {
    // The WebSocketCloseInfo dictionary: closeCode (an unsigned short Chromium clamps), reason
    // (a USVString, "" by default).
    const context = "Failed to execute 'close' on 'WebSocketStream'";
    const info = toDictionary(closeInfo, context);
    const code = info.closeCode === undefined ? null : clampTruncateUnsignedShort(info.closeCode);
    const reason = info.reason === undefined ? '' : toUSVStringValue(info.reason, context);
    this.#closeWith(code, reason);
  }

  /** "Close the WebSocket" given this stream, a code (or null) and a reason. */
  #closeWith(code: number | null, reason: string): void {
    // Step 1: validate close code and reason (1000 or 3000-4999, else an InvalidAccessError;
    // then at most 123 bytes of UTF-8, else a SyntaxError).
    validateCloseCodeAndReason(code, reason);
    const inner = this.#inner;
    // Step 2, the first that matches: closing or closed already: nothing to do.
    if (inner === undefined || this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    // Not established yet: fail the WebSocket connection, CLOSING.
    if (this.#readyState === CONNECTING) {
      this.#readyState = CLOSING;
      inner.terminate();
      return;
    }
    // Otherwise start the closing handshake, CLOSING: without a body when there is neither code
    // nor reason; a non-empty reason without a code goes with 1000.
    this.#readyState = CLOSING;
    if (code === null && reason !== '') code = 1000;
    inner.close(code ?? undefined, code === null ? undefined : reason);
  }

  #onOpen(): void {
    if (this.#readyState !== CONNECTING) return;
    const inner = this.#inner!;
    // "Establish a WebSocket connection", processResponse step 2: protocols were offered and
    // the server chose none: fail the connection (the Node client accepts that; a browser
    // does not).
    if (this.#protocols.length > 0 && inner.protocol === '') {
      this.#readyState = CLOSING;
      inner.terminate();
      return;
    }
    // "When the WebSocket connection is established": OPEN; the readable and writable are
    // created and opened resolves with them, the extensions and the protocol in use.
    this.#readyState = OPEN;
    this.#wasEverConnected = true;
    const readable = new ReadableStream<string | ArrayBuffer>(
      {
        start: (controller) => {
          this.#readableController = controller;
        },
        // The pull algorithm: pulling releases the backpressure applied when the queue was full
        // (tsws reads from TCP again).
        pull: () => {
          if (inner.isPaused) inner.resume();
        },
        // The cancel algorithm: close using the reason.
        cancel: (reason) => this.#closeUsingReason(reason),
      },
      READABLE_STRATEGY,
    );
    const writable = new WritableStream<string | ArrayBuffer | ArrayBufferView>({
      start: (controller) => {
        this.#writableController = controller;
      },
      // The write algorithm: send the chunk; the promise settles once it is handed over.
      write: (chunk) => this.#write(chunk),
      // Closing the writable closes the WebSocket; it is done when the closing handshake is.
      close: () => {
        this.#closeWith(null, '');
        return this.#closed.promise.then(() => undefined);
      },
      // The abort algorithm: close using the reason.
      abort: (reason) => this.#closeUsingReason(reason),
    });
    this.#opened.resolve({
      readable,
      writable,
      extensions: inner.extensions,
      protocol: inner.protocol,
    });
  }

  #write(chunk: string | ArrayBuffer | ArrayBufferView): Promise<void> {
    // An ArrayBuffer or a view is sent as binary, a copy of its bytes taken now (the caller
    // may change its buffer once write() returns); anything else is converted to a string and
    // sent as text.
    let data: string | Uint8Array;
    if (ArrayBuffer.isView(chunk)) {
      data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice();
    } else if (types.isAnyArrayBuffer(chunk)) {
      data = new Uint8Array(chunk).slice();
    } else {
      data = toUSVStringValue(chunk, "Failed to execute 'write' on 'WritableStream'");
    }
    const inner = this.#inner!;
    return new Promise((resolve) => {
      // Sent only while the closing handshake has not started; resolved either way.
      if (this.#readyState !== OPEN || inner.readyState !== NodeWebSocket.OPEN) {
        setImmediate(resolve);
        return;
      }
      inner.send(data, { binary: typeof data !== 'string' }, () => setImmediate(resolve));
    });
  }

  /** "When a WebSocket message has been received": enqueued in the readable. */
  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#readyState !== OPEN) return;
    const controller = this.#readableController!;
    // Text as a string; binary as an ArrayBuffer, as Chromium gives (the proposal now says
    // Uint8Array, after ricea/websocketstream-explainer#20; Chromium has not followed).
    const chunk = isBinary ? toArrayBuffer(data) : data.toString();
    controller.enqueue(chunk);
    // Backpressure: a full queue stops reading from the network until the reader pulls.
    if ((controller.desiredSize ?? 0) <= 0) this.#inner!.pause();
  }

  /** "When the WebSocket connection is closed". */
  #onClose(code: number, reason: Buffer): void {
    const inner = this.#inner!;
    const wasClean = inner._wasClean;
    this.#readyState = CLOSED;
    if (this.#handshakeAborted) return;
    if (!this.#wasEverConnected) {
      this.#opened.reject(
        networkError('The WebSocket connection could not be established', null, ''),
      );
    }
    // RFC 6455 §7.1.5: no close frame received means 1006.
    const received = inner._closeFrameReceived;
    const closeCode = received ? code : 1006;
    const closeReason = received ? reason.toString() : '';
    // Closed cleanly: the readable closes, the writable errors, closed resolves with the code
    // and reason. Otherwise all three fail with a WebSocketError carrying them.
    if (wasClean) {
      try {
        this.#readableController?.close();
      } catch {}
      this.#writableController?.error(
        new DOMException('A closed WebSocketStream cannot be written to', 'InvalidStateError'),
      );
      this.#closed.resolve({ closeCode, reason: closeReason });
      return;
    }
    const error = networkError('The WebSocket closed uncleanly', closeCode, closeReason);
    this.#readableController?.error(error);
    this.#writableController?.error(error);
    this.#closed.reject(error);
  }

  /**
   * "Close using reason": cancelling the readable or aborting the writable closes with the
   * reason's code and reason when it is a WebSocketError, else without a code; a code the
   * close() checks refuse falls back to none.
   */
  #closeUsingReason(reason: unknown): void {
    let code: number | null = null;
    let text = '';
    if (reason instanceof WebSocketError) {
      code = reason.closeCode;
      text = reason.reason;
    }
    try {
      this.#closeWith(code, text);
    } catch {
      this.#closeWith(null, '');
    }
  }
}

const CONSTRUCT = "Failed to construct 'WebSocketStream'";

/**
 * How much the readable holds before tsws stops reading from TCP: 64 KiB of messages (at least
 * one), as a browser gives its network process a receive quota. Counting bytes, not messages,
 * lets small messages and what follows them (a close frame, a protocol error) be taken in while
 * the reader is busy; a large message still stops the reading at once.
 */
const READABLE_STRATEGY: QueuingStrategy<string | ArrayBuffer> = {
  highWaterMark: 64 * 1024,
  size: (chunk) => (typeof chunk === 'string' ? chunk.length : chunk.byteLength),
};

defineInterface(WebSocketStream, {
  name: 'WebSocketStream',
  length: 1,
  members: { url: null, opened: null, closed: null, close: 0 },
});

/** What Chromium rejects opened and closed with when the signal aborts the handshake. */
function abortError(): DOMException {
  return new DOMException('WebSocket handshake was aborted', 'AbortError');
}

/** The bytes of a message as an ArrayBuffer of their own. */
function toArrayBuffer(data: Buffer): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** Promise.withResolvers, which Node 20 lacks. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
