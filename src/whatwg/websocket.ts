import type { ClientOptions } from '../node/index.js';
import { CloseEvent } from './close-event.js';
import { InnerSocket } from './inner-socket.js';
import { MessageEvent } from './message-event.js';
import { parseUrl, protocolList, toProtocols } from './url.js';
import {
  clampUnsignedShort,
  copyBufferSource,
  defineInterface,
  toDOMString,
  toUSVStringValue,
} from './webidl.js';

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
  > {}

type BinaryType = 'blob' | 'arraybuffer';
/** The events of a WebSocket and their classes. */
export interface WebSocketEventMap {
  open: Event;
  message: MessageEvent;
  error: Event;
  close: CloseEvent;
}

type HandlerType = keyof WebSocketEventMap;
/** An event handler attribute's value (as lib.dom types them, `this` is the WebSocket). */
type Handler<E extends Event = Event> =
  | ((this: WebSocket, event: E) => unknown)
  | { handleEvent(event: E): unknown };

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * The browser's WebSocket, in Node.js, following the WHATWG WebSockets standard step by step
 * (https://websockets.spec.whatwg.org/, cited by algorithm name and step), on top of tsws's
 * client. Events are dispatched as tasks, one per turn of the event loop, in order.
 *
 * Node-only extras, out of the standard surface's way: a third `options` argument (headers,
 * maxPayload, handshakeTimeout, heartbeat, TLS options) and `ping()`.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below only adds typed overloads of inherited methods.
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
  readonly #inner: InnerSocket;
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

  constructor(url: string | URL, protocols?: string | string[], options?: WebSocketOptions) {
    super();
    // biome-ignore lint/complexity/noArguments: WebIDL checks the number of arguments given.
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to construct 'WebSocket': 1 argument required, but only 0 present.",
      );
    }
    // WebIDL converts the arguments first: url a USVString, protocols a DOMString or a
    // sequence of them.
    const href = toUSVStringValue(url, CONSTRUCT);
    const offered = toProtocols(protocols);
    // "new WebSocket(url, protocols)" steps 1-2: get a URL record (http(s) becomes ws(s); other
    // schemes and fragments throw a SyntaxError). Node has no API base URL: relative URLs fail.
    this.#url = parseUrl(href);
    // Steps 3-4: a string is a list of one; repeated or invalid tokens throw a SyntaxError.
    const list = protocolList(offered);
    this.#protocols = list;
    // Step 7: establish a WebSocket connection, in parallel (events come back as tasks).
    // Node extra: the third argument, which browsers ignore, so it is in no standard call's way.
    const extra = typeof options === 'object' && options !== null ? options : {};
    this.#inner = new InnerSocket(this.#url.href, list, {
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
    const value = toDOMString(type, "Failed to set the 'binaryType' property on 'WebSocket'");
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  get onopen(): Handler<Event> | null {
    return this.#handlers.open ?? null;
  }
  set onopen(handler: Handler<Event> | null) {
    this.#setHandler('open', handler as Handler | null);
  }
  get onmessage(): Handler<MessageEvent> | null {
    return this.#handlers.message ?? null;
  }
  set onmessage(handler: Handler<MessageEvent> | null) {
    this.#setHandler('message', handler as Handler | null);
  }
  get onerror(): Handler<Event> | null {
    return this.#handlers.error ?? null;
  }
  set onerror(handler: Handler<Event> | null) {
    this.#setHandler('error', handler as Handler | null);
  }
  get onclose(): Handler<CloseEvent> | null {
    return this.#handlers.close ?? null;
  }
  set onclose(handler: Handler<CloseEvent> | null) {
    this.#setHandler('close', handler as Handler | null);
  }

  /** "close(code, reason)" method steps. */
  close(code?: number, reason?: string): void {
    // WebIDL: code is an optional [Clamp] unsigned short, reason an optional USVString (an
    // explicit undefined is a missing argument).
    const clamped = code === undefined ? undefined : clampUnsignedShort(code);
    const reasonText =
      reason === undefined
        ? undefined
        : toUSVStringValue(reason, "Failed to execute 'close' on 'WebSocket'");
    // Step 1: a code, if present, is 1000 or 3000-4999, else an InvalidAccessError.
    if (clamped !== undefined && clamped !== 1000 && (clamped < 3000 || clamped > 4999)) {
      throw new DOMException(
        `Failed to execute 'close' on 'WebSocket': The close code must be either 1000, or between 3000 and 4999. ${clamped} is neither.`,
        'InvalidAccessError',
      );
    }
    // Step 2: a reason, if present, encodes to at most 123 bytes of UTF-8, else a SyntaxError.
    if (reasonText !== undefined && Buffer.byteLength(reasonText) > 123) {
      throw new DOMException(
        "Failed to execute 'close' on 'WebSocket': The close reason must not be greater than 123 UTF-8 bytes.",
        'SyntaxError',
      );
    }
    // Step 3, the first that matches:
    // - ready state CLOSING or CLOSED: do nothing.
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    // - the connection is not yet established: fail the WebSocket connection, CLOSING.
    if (this.#readyState === CONNECTING) {
      this.#failed = true;
      this.#readyState = CLOSING;
      this.#inner.terminate();
      return;
    }
    // - the closing handshake has not started: start it, CLOSING. No code and no reason: a
    //   close frame without a body; a non-empty reason alone goes with 1000 (as "close the
    //   WebSocket" does: "if code is null and reason is not empty, set code to 1000").
    // - otherwise (the server started it): CLOSING; the binding answers the server's frame.
    this.#readyState = CLOSING;
    const sentCode = clamped ?? (reasonText !== undefined && reasonText !== '' ? 1000 : undefined);
    this.#inner.close(sentCode, sentCode === undefined ? undefined : reasonText);
  }

  /** "send(data)" method steps. */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    const context = "Failed to execute 'send' on 'WebSocket'";
    // biome-ignore lint/complexity/noArguments: WebIDL checks the number of arguments given.
    if (arguments.length === 0) {
      throw new TypeError(`${context}: 1 argument required, but only 0 present.`);
    }
    // WebIDL converts the (BufferSource or Blob or USVString) argument before the steps run: a
    // Blob stays a Blob; an ArrayBuffer or a view is "a copy of the bytes held by the buffer
    // source", taken now (shared or resizable buffers are a TypeError); anything else becomes
    // a USVString (a Symbol is a TypeError).
    let payload: string | Uint8Array | Blob;
    let length: number;
    if (data instanceof Blob) {
      payload = data;
      length = data.size;
    } else {
      const bytes = copyBufferSource(data, context);
      if (bytes !== undefined) {
        payload = bytes;
        length = bytes.byteLength;
      } else {
        payload = toUSVStringValue(data, context);
        length = Buffer.byteLength(payload);
      }
    }
    // Step 1: not while CONNECTING: an InvalidStateError.
    if (this.#readyState === CONNECTING) {
      throw new DOMException(`${context}: Still in CONNECTING state.`, 'InvalidStateError');
    }
    // Step 2: the data is sent if the connection is established and the closing handshake has
    // not started; either way bufferedAmount grows by its byte length (UTF-8 for strings), and
    // it falls back once the bytes are handed to the network.
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
      // WebSockets "establish a WebSocket connection", processResponse step 2: protocols were
      // offered and the server chose none: fail the WebSocket connection (the Node client
      // accepts that; a browser does not).
      if (this.#protocols.length > 0 && inner.protocol === '') {
        this.#failed = true;
        inner.terminate();
        return;
      }
      // "When the WebSocket connection is established", queue a task: ready state OPEN (step
      // 1), extensions and protocol in use (steps 2-3), fire open (step 4).
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
      // "When a WebSocket message has been received", queue a task:
      queueTask(() => {
        // Step 1: only while OPEN.
        if (this.#readyState !== OPEN) return;
        // Step 2: the data per its type and the binary type at the time the task runs.
        let value: string | Blob | ArrayBuffer;
        if (!isBinary) value = bytes.toString();
        else if (this.#binaryType === 'blob') value = new Blob([bytes as Uint8Array<ArrayBuffer>]);
        else
          value = bytes.buffer.slice(
            bytes.byteOffset,
            bytes.byteOffset + bytes.byteLength,
          ) as ArrayBuffer;
        // Step 3: a MessageEvent whose origin is the URL's origin.
        this.dispatchEvent(new MessageEvent('message', { data: value, origin: this.#url.origin }));
      });
    });
    // "When the WebSocket closing handshake is started" (by the server: a close frame came),
    // queue a task to set the ready state to CLOSING (close() has set it already otherwise).
    inner.onClosingHandshake = () => {
      queueTask(() => {
        if (this.#readyState === OPEN) this.#readyState = CLOSING;
      });
    };
    // Peer faults and handshake failures: the user agent had to fail the connection, so
    // error fires before close.
    inner.on('error', () => {
      this.#failed = true;
    });
    inner.on('close', (code, reason) => {
      const wasClean = inner._wasClean;
      // RFC 6455 §7.1.5: without a close frame received, the close code is 1006.
      const received = inner._closeFrameReceived;
      const closeCode = received ? code : 1006;
      const closeReason = received ? reason.toString() : '';
      // "When the WebSocket connection is closed", queue a task:
      queueTask(() => {
        // Step 1: ready state CLOSED.
        this.#readyState = CLOSED;
        // Step 2: error, if the connection had to be failed.
        if (this.#failed) this.dispatchEvent(new Event('error'));
        // Step 3: close, with wasClean, the close code and the UTF-8 decoded reason.
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

// Typed listeners, as lib.dom declares them for the browser's WebSocket. Types only: the
// methods stay EventTarget.prototype's, as WebIDL has them (no own addEventListener).
export interface WebSocket {
  addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, event: WebSocketEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListener | EventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, event: WebSocketEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListener | EventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

const CONSTRUCT = "Failed to construct 'WebSocket'";

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
