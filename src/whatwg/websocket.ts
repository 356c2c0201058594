import { toUSVString } from 'node:util';
import { type ClientOptions, WebSocket as NodeWebSocket } from '../node/index.js';
import { CloseEvent } from './close-event.js';
import { parseUrl, protocolList } from './url.js';
import { clampUnsignedShort, defineInterface } from './webidl.js';

/** Node-only options, which browsers don't have (the third constructor argument). */
export interface WebSocketOptions
  extends Pick<
    ClientOptions,
    | 'headers'
    | 'maxPayload'
    | 'handshakeTimeout'
    | 'heartbeat'
    | 'origin'
    | 'ca'
    | 'cert'
    | 'key'
    | 'rejectUnauthorized'
    | 'servername'
    | 'agent'
  > {
  /** Also accepted here, as undici does: `new WebSocket(url, { protocols })`. */
  protocols?: string | string[];
}

type BinaryType = 'blob' | 'arraybuffer';
type Handler =
  | ((this: WebSocket, event: Event) => unknown)
  | { handleEvent(event: Event): unknown };
type HandlerType = 'open' | 'message' | 'error' | 'close';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * The browser's WebSocket, in Node.js, following the WHATWG WebSockets standard step by step
 * (https://websockets.spec.whatwg.org/, cited as "§n step m"), on top of tsws's client.
 * Events are dispatched as tasks, one per turn of the event loop, in order.
 *
 * Node-only extras, out of the standard surface's way: a third `options` argument (headers,
 * maxPayload, handshakeTimeout, heartbeat, TLS options) and `ping()`.
 */
export class WebSocket extends EventTarget {
  // The constants are defined below (defineInterface) as WebIDL says.
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  readonly #url: URL;
  readonly #inner: NodeWebSocket;
  #readyState = CONNECTING;
  #protocol = '';
  #extensions = '';
  #binaryType: BinaryType = 'blob';
  #bufferedAmount = 0;
  /** The user agent had to fail the connection: `error` fires before `close`. */
  #failed = false;
  /** The subprotocols offered (§2 "establish a WebSocket connection": one must be chosen). */
  #protocols: string[] = [];
  readonly #handlers: Partial<Record<HandlerType, Handler>> = {};
  readonly #attached: Partial<Record<HandlerType, (event: Event) => void>> = {};

  constructor(
    url: string | URL,
    protocols?: string | string[] | WebSocketOptions,
    options?: WebSocketOptions,
  ) {
    super();
    // biome-ignore lint/complexity/noArguments: WebIDL checks the number of arguments given.
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to construct 'WebSocket': 1 argument required, but only 0 present.",
      );
    }
    // Node extra: an options object in the place of protocols (undici's form).
    if (isOptionsObject(protocols)) {
      options = protocols;
      protocols = options.protocols;
    }
    // §3.1 steps 1-2: parse the URL; http(s) becomes ws(s); other schemes and fragments fail.
    this.#url = parseUrl(toUSVString(String(url)));
    // Steps 3-4: a string is a list of one; repeated or invalid tokens fail.
    const list = protocolList(protocols);
    this.#protocols = list;
    // Step 7: establish the connection, in parallel.
    const { protocols: _ignored, ...extra } = options ?? {};
    this.#inner = new NodeWebSocket(this.#url.href, list, {
      heartbeat: false, // browsers do not ping
      ...extra,
    });
    this.#inner.binaryType = 'nodebuffer';
    this.#wire();
  }

  get url(): string {
    return this.#url.href;
  }
  get readyState(): number {
    return this.#readyState;
  }
  get bufferedAmount(): number {
    return this.#bufferedAmount;
  }
  get extensions(): string {
    return this.#extensions;
  }
  get protocol(): string {
    return this.#protocol;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    // WebIDL enumeration attribute: a value outside the enumeration is ignored.
    const value = String(type);
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  get onopen(): Handler | null {
    return this.#handlers.open ?? null;
  }
  set onopen(handler: Handler | null) {
    this.#setHandler('open', handler);
  }
  get onmessage(): Handler | null {
    return this.#handlers.message ?? null;
  }
  set onmessage(handler: Handler | null) {
    this.#setHandler('message', handler);
  }
  get onerror(): Handler | null {
    return this.#handlers.error ?? null;
  }
  set onerror(handler: Handler | null) {
    this.#setHandler('error', handler);
  }
  get onclose(): Handler | null {
    return this.#handlers.close ?? null;
  }
  set onclose(handler: Handler | null) {
    this.#setHandler('close', handler);
  }

  /** §3.2 close(code, reason). */
  close(code?: number, reason?: string): void {
    // Step 1: the code, if present, is 1000 or 3000-4999 ([Clamp] unsigned short).
    let clamped: number | undefined;
    if (code !== undefined) {
      clamped = clampUnsignedShort(code);
      if (clamped !== 1000 && (clamped < 3000 || clamped > 4999)) {
        throw new DOMException(
          `Failed to execute 'close' on 'WebSocket': The close code must be either 1000, or between 3000 and 4999. ${clamped} is neither.`,
          'InvalidAccessError',
        );
      }
    }
    // Step 2: the reason, if present, is at most 123 bytes of UTF-8.
    let reasonText: string | undefined;
    if (reason !== undefined) {
      reasonText = toUSVString(String(reason));
      if (Buffer.byteLength(reasonText) > 123) {
        throw new DOMException(
          "Failed to execute 'close' on 'WebSocket': The close reason must not be greater than 123 UTF-8 bytes.",
          'SyntaxError',
        );
      }
    }
    // Step 3: closing or closed already: nothing to do.
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    // Step 4: not established yet: fail the connection.
    if (this.#readyState === CONNECTING) {
      this.#failed = true;
      this.#readyState = CLOSING;
      this.#inner.terminate();
      return;
    }
    // Step 5: start the closing handshake. Without a code, no body; but a non-empty reason
    // goes with code 1000 ("if reason is non-empty but code is null, set code to 1000").
    this.#readyState = CLOSING;
    if (clamped === undefined && reasonText !== undefined && reasonText !== '') clamped = 1000;
    this.#inner.close(clamped, clamped === undefined ? undefined : reasonText);
  }

  /** §3.3 send(data). */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    // biome-ignore lint/complexity/noArguments: WebIDL checks the number of arguments given.
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to execute 'send' on 'WebSocket': 1 argument required, but only 0 present.",
      );
    }
    // Step 1: not while connecting.
    if (this.#readyState === CONNECTING) {
      throw new DOMException(
        "Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.",
        'InvalidStateError',
      );
    }
    let payload: string | Uint8Array | Blob;
    let length: number;
    if (typeof data === 'string') {
      payload = data;
      length = Buffer.byteLength(data);
    } else if (data instanceof Blob) {
      payload = data;
      length = data.size;
    } else if (ArrayBuffer.isView(data)) {
      payload = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      length = data.byteLength;
    } else if (isArrayBuffer(data)) {
      payload = new Uint8Array(data);
      length = data.byteLength;
    } else {
      // WebIDL: anything else becomes a USVString.
      payload = toUSVString(String(data));
      length = Buffer.byteLength(payload);
    }
    // Every send counts in bufferedAmount; after the closing handshake started the data is
    // discarded, and the count stays.
    this.#bufferedAmount += length;
    if (this.#readyState !== OPEN) return;
    this.#inner.send(payload, { binary: typeof payload !== 'string' }, (error) => {
      if (!error) this.#bufferedAmount -= length;
    });
  }

  /** Node extra: sends a ping (browsers have no such method). */
  ping(data?: string | ArrayBufferView | ArrayBuffer): void {
    if (this.#readyState !== OPEN) {
      throw new DOMException('The WebSocket is not open.', 'InvalidStateError');
    }
    this.#inner.ping(data as Buffer | string | undefined);
  }

  #wire(): void {
    const inner = this.#inner;
    inner.on('open', () => {
      // §4 "When the WebSocket connection is established": a task.
      // §2 "establish a WebSocket connection": protocols were offered and the server chose
      // none: fail the WebSocket connection (the Node client accepts that; a browser does not).
      if (this.#protocols.length > 0 && inner.protocol === '') {
        this.#failed = true;
        inner.terminate();
        return;
      }
      queueTask(() => {
        if (this.#readyState !== CONNECTING) return;
        this.#readyState = OPEN;
        this.#extensions = inner.extensions;
        this.#protocol = inner.protocol;
        this.dispatchEvent(new Event('open'));
      });
    });
    inner.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      queueTask(() => {
        // §4 "When a WebSocket message has been received": only while OPEN.
        if (this.#readyState !== OPEN) return;
        let value: string | Blob | ArrayBuffer;
        if (!isBinary) value = bytes.toString();
        else if (this.#binaryType === 'blob') value = new Blob([bytes as Uint8Array<ArrayBuffer>]);
        else
          value = bytes.buffer.slice(
            bytes.byteOffset,
            bytes.byteOffset + bytes.byteLength,
          ) as ArrayBuffer;
        this.dispatchEvent(new MessageEvent('message', { data: value, origin: this.#url.origin }));
      });
    });
    // Peer faults and handshake failures: the user agent fails the connection (error, then close).
    inner.on('error', () => {
      this.#failed = true;
    });
    inner.on('close', (code, reason) => {
      const wasClean = inner._wasClean;
      // RFC 6455 §7.1.5: without a close frame received, the close code is 1006.
      const received = inner._closeFrameReceived;
      const closeCode = received ? code : 1006;
      const closeReason = received ? reason.toString() : '';
      queueTask(() => {
        // §4 "When the WebSocket connection is closed".
        this.#readyState = CLOSED;
        if (this.#failed) this.dispatchEvent(new Event('error'));
        this.dispatchEvent(
          new CloseEvent('close', { wasClean, code: closeCode, reason: closeReason }),
        );
      });
    });
  }

  /** HTML §8.1.8.1 event handler attributes: one listener, added when first set, in place. */
  #setHandler(type: HandlerType, value: Handler | null): void {
    const handler =
      typeof value === 'function' || (typeof value === 'object' && value !== null) ? value : null;
    if (handler === null) {
      const attached = this.#attached[type];
      if (attached !== undefined) this.removeEventListener(type, attached);
      delete this.#attached[type];
      delete this.#handlers[type];
      return;
    }
    this.#handlers[type] = handler;
    if (this.#attached[type] === undefined) {
      const listener = (event: Event) => {
        const current = this.#handlers[type];
        if (typeof current === 'function') current.call(this, event);
      };
      this.#attached[type] = listener;
      this.addEventListener(type, listener);
    }
  }
}

defineInterface(WebSocket, {
  name: 'WebSocket',
  length: 1,
  members: {
    url: null,
    readyState: null,
    bufferedAmount: null,
    onopen: null,
    onerror: null,
    onclose: null,
    extensions: null,
    protocol: null,
    close: 0,
    onmessage: null,
    binaryType: null,
    send: 1,
  },
  constants: { CONNECTING, OPEN, CLOSING, CLOSED },
});

/** One event per task: Node drains microtasks between immediates, as browsers do between tasks. */
function queueTask(task: () => void): void {
  setImmediate(task);
}

function isArrayBuffer(value: unknown): value is ArrayBuffer {
  return (
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)
  );
}

function isOptionsObject(value: unknown): value is WebSocketOptions {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(Symbol.iterator in value)
  );
}
