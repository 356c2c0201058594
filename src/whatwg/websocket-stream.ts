import { toUSVString } from 'node:util';
import { WebSocket as NodeWebSocket } from '../node/index.js';
import { parseUrl, protocolList } from './url.js';
import { defineInterface, enforceUnsignedShort, toDictionary } from './webidl.js';
import type { WebSocketOptions } from './websocket.js';
import {
  networkError,
  validateCloseCodeAndReason,
  type WebSocketCloseInfo,
  WebSocketError,
} from './websocket-error.js';

/** `WebSocketStreamOptions`, plus the Node-only options of the WebSocket constructor. */
export interface WebSocketStreamOptions extends Omit<WebSocketOptions, 'protocols'> {
  protocols?: Iterable<string>;
  signal?: AbortSignal;
}

export interface WebSocketOpenInfo {
  readable: ReadableStream<string | Uint8Array>;
  writable: WritableStream<string | ArrayBuffer | ArrayBufferView>;
  extensions: string;
  protocol: string;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * The streams-based WebSocket that Chromium ships (WebSockets standard, "The WebSocketStream
 * interface", whatwg/websockets#48), on top of tsws's client. Messages are read from
 * `readable` (strings and Uint8Arrays) and written to `writable`; when the reader stops
 * pulling, tsws stops reading from TCP.
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
  #readableController: ReadableStreamDefaultController<string | Uint8Array> | undefined;
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
    const href = toUSVString(String(url));
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
      offered = Array.from(protocolOption as Iterable<unknown>, (p) => toUSVString(String(p)));
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`${CONSTRUCT}: member signal is not of type AbortSignal.`);
    }
    // Steps 1-2: the URL record (ws, wss, http and https; no fragment).
    this.#url = parseUrl(href, 'WebSocketStream');
    // Steps 3-4: the protocols, distinct tokens.
    const protocols = protocolList(offered, 'WebSocketStream');
    this.#protocols = protocols;
    // The abort signal: aborted already, nothing is dialled; aborted while connecting, the
    // connection fails and both promises reject with the signal's reason.
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#readyState = CLOSED;
        this.#opened.reject(signal.reason);
        this.#closed.reject(signal.reason);
        return;
      }
      signal.addEventListener(
        'abort',
        () => {
          if (this.#readyState !== CONNECTING) return;
          this.#readyState = CLOSING;
          this.#handshakeAborted = true;
          this.#opened.reject(signal.reason);
          this.#closed.reject(signal.reason);
          this.#inner?.terminate();
        },
        { once: true },
      );
    }
    // Establish the connection.
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

  /** close(closeInfo): starts the closing handshake, with a code and reason if given. */
  close(closeInfo?: WebSocketCloseInfo | null): void {
    // The WebSocketCloseInfo dictionary: closeCode ([EnforceRange] unsigned short), reason ("").
    const context = "Failed to execute 'close' on 'WebSocketStream'";
    const info = toDictionary(closeInfo, context);
    const code =
      info.closeCode === undefined ? null : enforceUnsignedShort(info.closeCode, context);
    const reason = info.reason === undefined ? '' : toUSVString(String(info.reason));
    this.#closeWith(code, reason);
  }

  /** "Close the WebSocket" with this stream, a code and a reason. */
  #closeWith(code: number | null, reason: string): void {
    // Steps 1-2: the code (1000 or 3000-4999), then the reason (123 bytes at most).
    validateCloseCodeAndReason(code, reason);
    const inner = this.#inner;
    if (inner === undefined || this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      // Not established: fail the WebSocket connection.
      this.#readyState = CLOSING;
      inner.terminate();
      return;
    }
    this.#readyState = CLOSING;
    // A close frame without a body when there is neither code nor reason; a non-empty reason
    // without a code goes with 1000.
    if (code === null && reason !== '') code = 1000;
    inner.close(code ?? undefined, code === null ? undefined : reason);
  }

  #onOpen(): void {
    if (this.#readyState !== CONNECTING) return;
    const inner = this.#inner!;
    // "Establish a WebSocket connection": protocols were offered and the server chose none:
    // fail the connection (the Node client accepts that; a browser does not).
    if (this.#protocols.length > 0 && inner.protocol === '') {
      this.#readyState = CLOSING;
      inner.terminate();
      return;
    }
    this.#readyState = OPEN;
    this.#wasEverConnected = true;
    const readable = new ReadableStream<string | Uint8Array>(
      {
        start: (controller) => {
          this.#readableController = controller;
        },
        // Pulling releases the backpressure applied when the queue was full.
        pull: () => {
          if (inner.isPaused) inner.resume();
        },
        cancel: (reason) => this.#closeUsingReason(reason),
      },
      READABLE_STRATEGY,
    );
    const writable = new WritableStream<string | ArrayBuffer | ArrayBufferView>({
      start: (controller) => {
        this.#writableController = controller;
      },
      write: (chunk) => this.#write(chunk),
      // Closing the writable closes the WebSocket; it is done when the closing handshake is.
      close: () => {
        this.#closeWith(null, '');
        return this.#closed.promise.then(() => undefined);
      },
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
    let data: string | Uint8Array;
    if (ArrayBuffer.isView(chunk)) {
      // A copy: the caller may change its buffer once write() returns.
      data = new Uint8Array(
        chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength),
      );
    } else if (chunk instanceof ArrayBuffer || isSharedArrayBuffer(chunk)) {
      data = new Uint8Array((chunk as ArrayBuffer).slice(0));
    } else {
      data = toUSVString(String(chunk));
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

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#readyState !== OPEN) return;
    const controller = this.#readableController!;
    const chunk = isBinary ? new Uint8Array(data) : data.toString();
    controller.enqueue(chunk);
    // Backpressure: a full queue stops reading from the network until the reader pulls.
    if ((controller.desiredSize ?? 0) <= 0) this.#inner!.pause();
  }

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

  /** Cancelling the readable or aborting the writable closes with the reason's code, if any. */
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
const READABLE_STRATEGY: QueuingStrategy<string | Uint8Array> = {
  highWaterMark: 64 * 1024,
  size: (chunk) => (typeof chunk === 'string' ? chunk.length : chunk.byteLength),
};

defineInterface(WebSocketStream, {
  name: 'WebSocketStream',
  length: 1,
  members: { url: null, opened: null, closed: null, close: 0 },
});

function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer;
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
