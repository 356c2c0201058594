import { CloseCode, MAX_CLOSE_REASON_BYTES } from './close-code.js';
import { encodeClosePayload, parseClosePayload, truncateUtf8 } from './close-frame.js';
import { ErrorCode, PeerError, UsageError } from './errors.js';
import { type DecodeBudget, decodeFailure, type Extension } from './extension.js';
import { checkControlPayload } from './frame-header.js';
import { FrameWriter } from './frame-writer.js';
import { type MaskGenerator, randomMask } from './mask.js';
import { Opcode } from './opcode.js';
import { Receiver, type ReceiverSink } from './receiver.js';
import { isUtf8 } from './utf8.js';

export type Role = 'server' | 'client';

/** Same numbers as `WebSocket.readyState` (the core has no CONNECTING: it starts after the handshake). */
export const ConnectionState = { Open: 1, Closing: 2, Closed: 3 } as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** 100 MiB, as in ws. */
export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
/**
 * Frames one message may be made of. Fragments cost memory by their bytes (see
 * PayloadAccumulator), so this bounds CPU per message more than memory.
 */
export const DEFAULT_MAX_FRAGMENTS = 65536;

export interface ConnectionOptions {
  role: Role;
  /** Largest message accepted, in bytes; 0 for no limit. Default 100 MiB. */
  maxPayload?: number;
  /** Most frames in one message. Default 65,536. */
  maxFragments?: number;
  /** Answer pings with pongs automatically (RFC 6455 §5.5.2). Default true. */
  autoPong?: boolean;
  /** Do not check that text messages are UTF-8 (trusted peers only). Default false. */
  skipUtf8Validation?: boolean;
  /** Source of client masking keys. Default: batched `crypto.getRandomValues`. */
  generateMask?: MaskGenerator;
}

/**
 * Connection options checked and filled in once, to be shared by every connection with the same
 * settings (a server's connections): an idle connection then holds no copy of them.
 */
export interface ConnectionConfig {
  readonly role: Role;
  readonly expectMasked: boolean;
  readonly maxPayload: number;
  readonly maxFragments: number;
  readonly skipUtf8Validation: boolean;
  readonly autoPong: boolean;
  readonly mask: boolean;
  readonly generateMask: MaskGenerator;
  readonly [kConfig]: true;
}

const kConfig = Symbol('tsws.connectionConfig');

/** Checks and fills in `options` once; the result can be given to many connections. */
export function connectionConfig(options: ConnectionOptions | ConnectionConfig): ConnectionConfig {
  if ((options as ConnectionConfig)[kConfig] === true) return options as ConnectionConfig;
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
  if (!(maxPayload >= 0))
    throw new UsageError(ErrorCode.InvalidArgument, 'maxPayload must be >= 0');
  if (!(maxFragments >= 1))
    throw new UsageError(ErrorCode.InvalidArgument, 'maxFragments must be >= 1');
  return Object.freeze({
    role: options.role,
    expectMasked: options.role === 'server',
    maxPayload: maxPayload > 0 ? maxPayload : Number.POSITIVE_INFINITY,
    maxFragments,
    skipUtf8Validation: options.skipUtf8Validation ?? false,
    autoPong: options.autoPong ?? true,
    mask: options.role === 'client',
    generateMask: options.generateMask ?? randomMask,
    [kConfig]: true as const,
  });
}

/**
 * What the connection reports. Called synchronously from `receiveData`/`receiveEof`, or, for
 * a message an extension decodes, when its decode ends.
 */
export interface ConnectionHandler {
  /** A whole message, decoded by the agreed extension if it used one. */
  onMessage(data: Buffer, isBinary: boolean): void;
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** The peer's close frame arrived; the echo is already queued (RFC 6455 §5.5.1). */
  onClose(code: number, reason: Buffer): void;
  /** The peer broke the protocol; a close frame with `error.closeCode` is queued. */
  onError(error: PeerError): void;
  /**
   * A message of `bytes` encoded bytes goes to the extension: input is held (no later event
   * overtakes it) until `onRelease`, so the binding may stop reading. Returns the memory budget
   * its decoded output is charged to, if any.
   */
  onHold?(bytes: number): DecodeBudget | undefined;
  /** The decode ended (its message delivered, or the connection failed): input flows again unless paused. */
  onRelease?(): void;
}

const EMPTY = Buffer.alloc(0);

// Connection flags (one field: an idle connection should cost little).
const CLOSE_SENT = 1;
const CLOSE_RECEIVED = 2;
const FAILED = 4;
/** The server should half-close TCP, */
const EOF_WANTED = 8;
/** ...and the binding was told so. */
const EOF_TAKEN = 16;
/** An outgoing message was started with fin=false and not finished. */
const FRAGMENTING = 32;
/** The extension decodes a message; input is held meanwhile. */
const DECODING = 64;

// Kept aside rather than in fields every connection would carry (most have neither): the
// agreed extension (looked up once per decoded message), and a decoded message waiting for
// `resume()` because the binding paused while it was decoded.
const extensions = new WeakMap<Connection, Extension>();
const heldMessages = new WeakMap<Connection, { data: Buffer; isBinary: boolean }>();
/** The binding paused input (`pause()`). */
const PAUSED = 128;

/**
 * The WebSocket protocol after the opening handshake, without I/O: bytes and calls in, bytes
 * to write and events out. Modelled on python-websockets' sans-I/O `Protocol`.
 *
 * Input: `receiveData(chunk)` (any split of the stream; the chunk is unmasked in place) and
 * `receiveEof()`. Output: `dataToSend()` returns chunks for one write; `eofToSend()` says when
 * to half-close TCP; `closeExpected()` says when to arm a close timer.
 */
export class Connection implements ReceiverSink {
  private readonly config: ConnectionConfig;
  private readonly handler: ConnectionHandler;
  private readonly receiver: Receiver;
  private readonly writer: FrameWriter;

  private _state: ConnectionState = ConnectionState.Open;
  /** Bits: CLOSE_SENT, CLOSE_RECEIVED, FAILED, EOF_WANTED, EOF_TAKEN, FRAGMENTING. */
  private flags = 0;
  private _closeCode: number = CloseCode.AbnormalClosure;
  private _closeReason: Buffer = EMPTY;
  private _error: PeerError | undefined;

  /**
   * `options` may be a shared `connectionConfig(...)`, checked once for many connections.
   * `extension`: the one agreed in the opening handshake, if any (RFC 6455 §9).
   */
  constructor(
    options: ConnectionOptions | ConnectionConfig,
    handler: ConnectionHandler,
    extension?: Extension,
  ) {
    const config = connectionConfig(options);
    this.config = config;
    this.handler = handler;
    this.receiver = new Receiver(this, config);
    this.writer = new FrameWriter(config);
    if (extension !== undefined) extensions.set(this, extension);
    // RFC 6455 §5.2: RSV1 is allowed only when an agreed extension gives it a meaning.
    if (extension?.rsv1 === true) this.receiver.allowRsv1 = true;
  }

  get role(): Role {
    return this.config.role;
  }

  /** The extension agreed in the opening handshake, if any. */
  get extension(): Extension | undefined {
    return extensions.get(this);
  }

  get state(): ConnectionState {
    return this._state;
  }
  get closeSent(): boolean {
    return (this.flags & CLOSE_SENT) !== 0;
  }
  get closeReceived(): boolean {
    return (this.flags & CLOSE_RECEIVED) !== 0;
  }
  /**
   * The code to report when the connection is over: the peer's (1005 if its close frame had
   * none), else the code we failed the connection with, else 1006 (no close frame).
   */
  get closeCode(): number {
    return this._closeCode;
  }
  get closeReason(): Buffer {
    return this._closeReason;
  }
  /** The peer fault that failed the connection, if any. */
  get error(): PeerError | undefined {
    return this._error;
  }
  /** A message sent in fragments is in progress (its next data frame is a continuation). */
  get sendingFragmented(): boolean {
    return (this.flags & FRAGMENTING) !== 0;
  }

  /** Bytes serialized and not yet taken by `dataToSend`. */
  get bufferedAmount(): number {
    return this.writer.bufferedBytes;
  }
  /** Bytes held on the receive side (an incomplete message, input held while paused). */
  get receiveBufferedAmount(): number {
    return this.receiver.bufferedBytes;
  }

  // ---- input ----

  /**
   * Feeds the next bytes of the stream (unmasked in place). `borrowed`: the caller reuses the
   * chunk's memory after the call (a shared read buffer), so whatever outlives it is copied.
   */
  receiveData(chunk: Buffer, borrowed = false): void {
    this.receiver.receive(chunk, borrowed);
  }

  /** TCP ended (the peer sent FIN, or the transport is gone). */
  receiveEof(): void {
    if (this._state === ConnectionState.Closed) return;
    this.receiver.stop();
    this._state = ConnectionState.Closed;
    // The peer is done sending: finish our side too (RFC 6455 §7.1.1 has the server close TCP;
    // a client answering the server's EOF does what ws and browsers do).
    this.flags |= EOF_WANTED;
  }

  /** Stops delivering events after the current one; later input is held. */
  pause(): void {
    this.flags |= PAUSED;
    this.receiver.pause();
  }
  /** Lets held input flow again, unless a message is still being decoded. */
  resume(): void {
    this.flags &= ~PAUSED;
    const held = heldMessages.get(this);
    if (held !== undefined) {
      heldMessages.delete(this);
      this.delivered(held.data, held.isBinary);
      return;
    }
    if ((this.flags & DECODING) === 0) this.receiver.resume();
  }
  /** Input is held: paused, or behind a message being decoded. */
  get isPaused(): boolean {
    return this.receiver.isPaused;
  }

  // ---- output ----

  /** Sends a text message, or a fragment of one when `fin` is false (RFC 6455 §5.4). */
  sendText(data: string | Uint8Array, fin = true): void {
    const opcode = this.dataOpcode(Opcode.Text, fin);
    if (typeof data === 'string') this.writer.writeTextFrame(opcode, fin, false, data);
    else this.writer.writeFrame(opcode, fin, false, data);
  }

  sendBinary(data: Uint8Array, fin = true): void {
    this.writer.writeFrame(this.dataOpcode(Opcode.Binary, fin), fin, false, data);
  }

  /**
   * Sends one data frame as given: for extensions, which choose RSV1 and produce the payload.
   * `opcode` is Text or Binary; it becomes Continuation inside a fragmented message, where
   * RSV1 may not be set (RFC 7692 §6.1).
   */
  sendDataFrame(opcode: number, data: Uint8Array, fin: boolean, rsv1: boolean): void {
    if (opcode !== Opcode.Text && opcode !== Opcode.Binary) {
      throw new UsageError(ErrorCode.InvalidArgument, 'a data frame is Text or Binary');
    }
    if (rsv1 && (this.flags & FRAGMENTING) !== 0) {
      throw new UsageError(
        ErrorCode.InvalidArgument,
        'RSV1 is set on the first frame of a message only',
      );
    }
    this.writer.writeFrame(this.dataOpcode(opcode, fin), fin, rsv1, data);
  }

  /**
   * Queues bytes that already are complete frames (prepared once for many connections). They
   * may be written by reference (when nothing is queued before them, or when large): do not
   * modify them afterwards.
   */
  sendPreparedFrame(frame: Buffer): void {
    this.checkCanSend();
    if ((this.flags & FRAGMENTING) !== 0) {
      throw new UsageError(ErrorCode.InvalidState, 'a fragmented message is being sent');
    }
    this.writer.writeRaw(frame);
  }

  sendPing(data: string | Uint8Array = EMPTY): void {
    this.sendControl(Opcode.Ping, data);
  }

  sendPong(data: string | Uint8Array = EMPTY): void {
    this.sendControl(Opcode.Pong, data);
  }

  /**
   * Starts the closing handshake (RFC 6455 §5.5.1, §7.1.2). Throws a UsageError for a code the
   * API may not send or a reason over 123 bytes; sends nothing once a close frame was sent.
   * Asked again once the handshake is over (both close frames), TCP may end (`eofToSend`).
   */
  sendClose(code?: number, reason?: string | Uint8Array): void {
    const payload = encodeClosePayload(code, reason);
    if (this._state === ConnectionState.Closed) return;
    if ((this.flags & CLOSE_SENT) === 0) this.writeClose(payload);
    else if ((this.flags & CLOSE_RECEIVED) !== 0) this.flags |= EOF_WANTED;
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7) for a local reason, e.g. a policy: sends a close
   * frame with `code` (if none was sent), stops reading, and reports `code` as the close code.
   * Only the first failure counts. Throws a UsageError for a code that may not be sent.
   */
  failConnection(code: number, reason = ''): void {
    const payload = encodeClosePayload(code, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
    if (this._state === ConnectionState.Closed || (this.flags & FAILED) !== 0) return;
    this.flags |= FAILED;
    this.receiver.stop();
    if ((this.flags & CLOSE_RECEIVED) === 0) this._closeCode = code;
    if ((this.flags & CLOSE_SENT) === 0) this.writeClose(payload);
    if (this.config.role === 'server') this.flags |= EOF_WANTED;
  }

  /** Drops the connection without a closing handshake (the binding destroys the transport). */
  abort(): void {
    if (this._state === ConnectionState.Closed) return;
    this.receiver.stop();
    this._state = ConnectionState.Closed;
  }

  /** The chunks to write, in order, for one `writev`/corked write. */
  dataToSend(): Buffer[] {
    return this.writer.take();
  }

  /** True once, when the transport should be half-closed after writing `dataToSend()`. */
  eofToSend(): boolean {
    if ((this.flags & (EOF_WANTED | EOF_TAKEN)) === EOF_WANTED) {
      this.flags |= EOF_TAKEN;
      return true;
    }
    return false;
  }

  /**
   * Whether TCP should close soon: a close frame was sent or received, or the connection was
   * failed. The binding then arms a timer and destroys the transport if the peer lingers.
   */
  closeExpected(): boolean {
    return this._state !== ConnectionState.Open;
  }

  // ---- ReceiverSink ----

  onMessage(data: Buffer, isBinary: boolean, encoded: boolean): void {
    if (encoded) this.decode(data, isBinary);
    else this.handler.onMessage(data, isBinary);
  }

  onControlFrame(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.Ping) {
      // RFC 6455 §5.5.2: answer with a pong carrying the same payload, unless closing.
      if (this.config.autoPong && (this.flags & CLOSE_SENT) === 0)
        this.writer.writeFrame(Opcode.Pong, true, false, payload);
      this.handler.onPing(payload);
    } else if (opcode === Opcode.Pong) {
      this.handler.onPong(payload);
    } else {
      this.receiveClose(payload);
    }
  }

  onReceiveError(error: PeerError): void {
    this._error = error;
    this.failConnection(error.closeCode, error.message);
    this.handler.onError(error);
  }

  // ---- internals ----

  /**
   * A message whose first frame has RSV1 goes through the extension (RFC 7692 §6.2). Input is
   * held until it is delivered: no later message or control frame may overtake it.
   */
  private decode(data: Buffer, isBinary: boolean): void {
    this.flags |= DECODING;
    this.receiver.pause();
    const budget = this.handler.onHold?.(data.length);
    let called = false;
    extensions.get(this)!.decode(
      data,
      (error, decoded) => {
        if (called) return;
        called = true;
        budget?.end();
        this.decoded(error, decoded, isBinary);
      },
      budget,
    );
  }

  private decoded(error: Error | null, data: Buffer | undefined, isBinary: boolean): void {
    this.flags &= ~DECODING;
    // Failed, closed or aborted meanwhile: the message is dropped.
    if (!this.receiver.stopped) {
      if (error !== null || data === undefined) {
        this.onReceiveError(decodeFailure(error));
      } else if (!isBinary && !this.config.skipUtf8Validation && !isUtf8(data)) {
        // RFC 7692 §8 / RFC 6455 §8.1: the text is checked once decoded.
        this.onReceiveError(
          new PeerError(
            ErrorCode.InvalidUtf8,
            CloseCode.InvalidFramePayloadData,
            'invalid UTF-8 in a text message',
          ),
        );
      } else if ((this.flags & PAUSED) !== 0) {
        // Paused while it was decoded: events already read wait for resume() too, this one
        // included, and so does the input behind it.
        this.flags |= DECODING;
        heldMessages.set(this, { data, isBinary });
        return;
      } else {
        this.delivered(data, isBinary);
        return;
      }
    }
    this.release();
  }

  /** A decoded message goes out; then the input held behind it. */
  private delivered(data: Buffer, isBinary: boolean): void {
    this.flags &= ~DECODING;
    if (!this.receiver.stopped) this.handler.onMessage(data, isBinary);
    this.release();
  }

  private release(): void {
    // Held input flows again (a stopped receiver discards it): unless the binding paused.
    if ((this.flags & (PAUSED | DECODING)) === 0) this.receiver.resume();
    this.handler.onRelease?.();
  }

  private receiveClose(payload: Buffer): void {
    const parsed = parseClosePayload(payload);
    if (parsed instanceof PeerError) {
      this.onReceiveError(parsed);
      return;
    }
    // RFC 6455 §5.5.1: after a close frame, the peer sends nothing more; discard what follows.
    this.receiver.stop();
    this.flags |= CLOSE_RECEIVED;
    this._closeCode = parsed.code;
    // A copy: a view would keep the whole read buffer alive as long as the connection.
    this._closeReason = parsed.reason.length === 0 ? EMPTY : Buffer.from(parsed.reason);
    // Echo the code and reason (RFC 6455 §5.5.1), as ws and python-websockets do.
    if ((this.flags & CLOSE_SENT) === 0) this.writeClose(payload);
    this._state = ConnectionState.Closing;
    if (this.config.role === 'server') this.flags |= EOF_WANTED;
    this.handler.onClose(parsed.code, this._closeReason);
  }

  private writeClose(payload: Buffer): void {
    this.writer.writeFrame(Opcode.Close, true, false, payload);
    this.flags |= CLOSE_SENT;
    if (this._state === ConnectionState.Open) this._state = ConnectionState.Closing;
  }

  private sendControl(opcode: number, data: string | Uint8Array): void {
    this.checkCanSend();
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    checkControlPayload(payload.length);
    this.writer.writeFrame(opcode, true, false, payload);
  }

  private dataOpcode(opcode: number, fin: boolean): number {
    this.checkCanSend();
    const actual = (this.flags & FRAGMENTING) !== 0 ? Opcode.Continuation : opcode;
    if (fin) this.flags &= ~FRAGMENTING;
    else this.flags |= FRAGMENTING;
    return actual;
  }

  private checkCanSend(): void {
    // RFC 6455 §5.5.1: nothing may be sent after a close frame.
    if ((this.flags & CLOSE_SENT) !== 0 || this._state === ConnectionState.Closed) {
      throw new UsageError(ErrorCode.InvalidState, 'the connection is closing or closed');
    }
  }
}
