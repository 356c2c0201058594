import { CloseCode } from './close-code.js';
import { ErrorCode, PeerError, protocolError } from './errors.js';
import { headerSizeFromPrefix, MAX_7BIT_LENGTH } from './frame-header.js';
import { applyMask } from './mask.js';
import { Opcode } from './opcode.js';
import { PayloadAccumulator } from './payload-accumulator.js';
import { isUtf8, Utf8Validator } from './utf8.js';

/** What the receiver reports; the connection implements it. */
export interface ReceiverSink {
  /** A complete data message. `compressed`: its first frame had RSV1 (an extension decodes it). */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void;
  /** A complete, valid-looking control frame (close payloads are checked by the connection). */
  onControlFrame(opcode: number, payload: Buffer): void;
  /** A peer fault; the receiver has stopped. */
  onReceiveError(error: PeerError): void;
}

export interface ReceiverOptions {
  /** Servers expect masked frames, clients unmasked ones. RFC 6455 §5.1. */
  readonly expectMasked: boolean;
  /** Largest message (sum of its fragments) accepted; `Infinity` for none. */
  readonly maxPayload: number;
  /** Most frames one message may be made of. */
  readonly maxFragments: number;
  /** Skip the UTF-8 check of text messages (for trusted peers only). */
  readonly skipUtf8Validation: boolean;
}

const HEADER = 0;
const PAYLOAD = 1;
const STOPPED = 2;

const EMPTY = Buffer.alloc(0);
const TWO_32 = 0x100000000;

// Receiver bits (one field: an idle connection should cost little).
const ALLOW_RSV1 = 1;
/** The frame being read is the last of its message. */
const FIN = 2;
const MASKED = 4;
/** A data message is being assembled. */
const IN_MESSAGE = 8;
const BINARY = 16;
const COMPRESSED = 32;
const PAUSED = 64;
/** A `process` loop is running (handlers may re-enter `receive`/`resume`). */
const PROCESSING = 128;

/**
 * The incremental frame parser and message assembler (RFC 6455 §5, §6.2). It accepts the byte
 * stream in any split: a header cut anywhere, a payload over many reads, many frames in one
 * read. Payload bytes are unmasked in place: `receive` takes ownership of each chunk, or, for a
 * `borrowed` chunk (a read buffer the transport reuses), copies whatever outlives the call.
 * Every rule is checked as soon as the bytes that break it arrive, and a fault stops the
 * receiver and is reported once with its close code.
 *
 * An idle receiver holds only scalars: buffers are allocated when a frame or message spans
 * reads, and references to a read are dropped when its frame ends.
 */
export class Receiver {
  private readonly sink: ReceiverSink;
  /** Shared by every connection with the same settings. */
  private readonly options: ReceiverOptions;
  /** Bits: ALLOW_RSV1, FIN, MASKED, IN_MESSAGE, BINARY, COMPRESSED, PAUSED, PROCESSING. */
  private bits = 0;

  private state = HEADER;
  /**
   * Allocated on first need: bytes 0-13 gather a header that arrived cut, bytes 14-17 keep the
   * masking key of a frame whose payload goes on in a later read.
   */
  private scratch: Buffer | undefined;
  private partialLength = 0;

  // The frame being read.
  private opcode = 0;
  /** Where the current frame's masking key is: in a read, or in `scratch`. */
  private keySource: Uint8Array | undefined;
  private keyOffset = 0;
  private frameLength = 0;
  private frameReceived = 0;
  private control: Buffer | undefined;

  // The message being assembled (data frames).
  private messageLength = 0;
  private fragments = 0;
  private assembled: PayloadAccumulator | undefined;
  private utf8: Utf8Validator | undefined;

  private pending: Buffer[] | undefined;

  constructor(sink: ReceiverSink, options: ReceiverOptions) {
    this.sink = sink;
    this.options = options;
  }

  get stopped(): boolean {
    return this.state === STOPPED;
  }

  get isPaused(): boolean {
    return (this.bits & PAUSED) !== 0;
  }

  /** RSV1 marks compressed messages once an extension such as permessage-deflate is agreed. */
  get allowRsv1(): boolean {
    return (this.bits & ALLOW_RSV1) !== 0;
  }
  set allowRsv1(allow: boolean) {
    if (allow) this.bits |= ALLOW_RSV1;
    else this.bits &= ~ALLOW_RSV1;
  }

  /** Bytes held for a message not complete yet, plus input held while paused. */
  get bufferedBytes(): number {
    let n = this.assembled?.length ?? 0;
    if (this.pending !== undefined) for (const chunk of this.pending) n += chunk.length;
    return n;
  }

  /** Feeds the next bytes of the stream. `borrowed`: the caller reuses `chunk` after the call. */
  receive(chunk: Buffer, borrowed = false): void {
    if (this.state === STOPPED || chunk.length === 0) return;
    // Input that arrives while paused, or from inside a handler, queues behind what is held.
    if (
      (this.bits & (PROCESSING | PAUSED)) !== 0 ||
      (this.pending !== undefined && this.pending.length > 0)
    ) {
      this.hold(borrowed ? Buffer.from(chunk) : chunk);
      if ((this.bits & (PROCESSING | PAUSED)) === 0) this.drainPending();
      return;
    }
    this.bits |= PROCESSING;
    try {
      this.process(chunk, 0, borrowed);
    } finally {
      this.bits &= ~PROCESSING;
    }
    if (this.pending !== undefined && this.pending.length > 0 && (this.bits & PAUSED) === 0) {
      this.drainPending();
    }
  }

  /** Discards everything from now on (after a close frame, a fault, or EOF). */
  stop(): void {
    this.state = STOPPED;
    this.pending = undefined;
    this.assembled = undefined;
    this.utf8 = undefined;
    this.control = undefined;
    this.keySource = undefined;
  }

  /** Stops delivering after the current event; later input is held until `resume`. */
  pause(): void {
    this.bits |= PAUSED;
  }

  resume(): void {
    if ((this.bits & PAUSED) === 0) return;
    this.bits &= ~PAUSED;
    // Resumed from inside a handler: the loop already running carries on.
    if ((this.bits & PROCESSING) === 0) this.drainPending();
  }

  private hold(chunk: Buffer, first = false): void {
    if (this.pending === undefined) this.pending = [chunk];
    else if (first) this.pending.unshift(chunk);
    else this.pending.push(chunk);
  }

  private drainPending(): void {
    this.bits |= PROCESSING;
    try {
      const pending = this.pending;
      while (
        pending !== undefined &&
        pending.length > 0 &&
        (this.bits & PAUSED) === 0 &&
        this.state !== STOPPED
      ) {
        this.process(pending.shift()!, 0, false);
      }
    } finally {
      this.bits &= ~PROCESSING;
    }
  }

  private process(chunk: Buffer, pos: number, borrowed: boolean): void {
    const end = chunk.length;
    while (pos < end) {
      if (this.state === HEADER) {
        const size = end - pos >= 2 ? headerSizeFromPrefix(chunk[pos + 1]!) : 14;
        if (this.partialLength === 0 && end - pos >= size) {
          if (!this.readHeader(chunk, pos)) return;
          pos += size;
        } else {
          pos = this.collectHeader(chunk, pos);
        }
      } else if (this.state === PAYLOAD) {
        pos = this.readPayload(chunk, pos, borrowed);
      } else {
        return;
      }
      if ((this.bits & PAUSED) !== 0 && pos < end && !this.stopped) {
        const rest = chunk.subarray(pos);
        this.hold(borrowed ? Buffer.from(rest) : rest, true);
        break;
      }
    }
    this.saveKey(chunk);
  }

  /** Accumulates a header that is cut between reads; parses it once whole. */
  private collectHeader(chunk: Buffer, pos: number): number {
    this.scratch ??= Buffer.allocUnsafe(18);
    const partial = this.scratch;
    while (pos < chunk.length) {
      partial[this.partialLength++] = chunk[pos++]!;
      if (this.partialLength >= 2 && this.partialLength === headerSizeFromPrefix(partial[1]!)) {
        this.partialLength = 0;
        this.readHeader(partial, 0);
        return pos;
      }
    }
    return pos;
  }

  /** Decodes and checks a whole header at `buf[o]`. Returns false when the frame was refused. */
  private readHeader(buf: Buffer, o: number): boolean {
    const b0 = buf[o]!;
    const b1 = buf[o + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;

    // RFC 6455 §5.2: RSV2/RSV3 MUST be 0 unless an extension defines them (none does here).
    if ((b0 & 0x30) !== 0) {
      return this.fail(protocolError(ErrorCode.UnexpectedRsv23, 'RSV2 and RSV3 must be clear'));
    }
    // RFC 6455 §5.1: a server MUST close on an unmasked frame, a client on a masked one.
    const options = this.options;
    if (masked !== options.expectMasked) {
      return this.fail(
        masked
          ? protocolError(ErrorCode.UnexpectedMask, 'MASK must be clear')
          : protocolError(ErrorCode.ExpectedMask, 'MASK must be set'),
      );
    }

    let length = b1 & 0x7f;
    let p = o + 2;
    if (length === 126) {
      length = (buf[p]! << 8) | buf[p + 1]!;
      p += 2;
    } else if (length === 127) {
      const hi = buf.readUInt32BE(p);
      // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
      if (hi > 0x7fffffff) {
        return this.fail(
          protocolError(
            ErrorCode.InvalidPayloadLength,
            'the 64-bit payload length has its MSB set',
          ),
        );
      }
      length = hi * TWO_32 + buf.readUInt32BE(p + 4);
      p += 8;
    }
    if (masked) {
      this.keySource = buf;
      this.keyOffset = p;
    }

    if (opcode >= 0x8) {
      // RFC 6455 §5.5: control frames are not fragmented and carry at most 125 bytes.
      if (opcode > Opcode.Pong) {
        return this.fail(protocolError(ErrorCode.InvalidOpcode, `reserved opcode ${opcode}`));
      }
      if (!fin) {
        return this.fail(
          protocolError(ErrorCode.ExpectedFin, 'a control frame must not be fragmented'),
        );
      }
      if (length > MAX_7BIT_LENGTH) {
        return this.fail(
          protocolError(
            ErrorCode.InvalidControlPayloadLength,
            'control frame payload over 125 bytes',
          ),
        );
      }
      // RFC 7692 §6: extensions set RSV1 on data frames only.
      if (rsv1) {
        return this.fail(
          protocolError(ErrorCode.UnexpectedRsv1, 'RSV1 must be clear on a control frame'),
        );
      }
    } else {
      if (opcode > Opcode.Binary) {
        return this.fail(protocolError(ErrorCode.InvalidOpcode, `reserved opcode ${opcode}`));
      }
      if (opcode === Opcode.Continuation) {
        // RFC 6455 §5.4: a continuation frame only continues a message.
        if ((this.bits & IN_MESSAGE) === 0) {
          return this.fail(
            protocolError(
              ErrorCode.UnexpectedContinuation,
              'continuation frame without a message to continue',
            ),
          );
        }
        // RFC 7692 §6.1: the compressed bit is set on the first frame of a message only.
        if (rsv1) {
          return this.fail(
            protocolError(ErrorCode.UnexpectedRsv1, 'RSV1 must be clear on a continuation frame'),
          );
        }
      } else {
        if ((this.bits & IN_MESSAGE) !== 0) {
          return this.fail(
            protocolError(
              ErrorCode.ExpectedContinuation,
              'a new message started inside a fragmented message',
            ),
          );
        }
        if (rsv1 && (this.bits & ALLOW_RSV1) === 0) {
          return this.fail(protocolError(ErrorCode.UnexpectedRsv1, 'RSV1 must be clear'));
        }
        this.bits =
          (this.bits & ~(BINARY | COMPRESSED)) |
          IN_MESSAGE |
          (opcode === Opcode.Binary ? BINARY : 0) |
          (rsv1 ? COMPRESSED : 0);
        this.messageLength = 0;
        this.fragments = 0;
      }
      if (++this.fragments > options.maxFragments) {
        return this.fail(
          new PeerError(
            ErrorCode.TooManyFragments,
            CloseCode.MessageTooBig,
            'too many fragments in one message',
          ),
        );
      }
      // Refused on the header, before any of it is buffered.
      if (this.messageLength + length > options.maxPayload) {
        return this.fail(
          new PeerError(ErrorCode.MessageTooBig, CloseCode.MessageTooBig, 'message too big'),
        );
      }
      this.messageLength += length;
    }

    this.bits = (this.bits & ~(FIN | MASKED)) | (fin ? FIN : 0) | (masked ? MASKED : 0);
    this.opcode = opcode;
    this.frameLength = length;
    this.frameReceived = 0;
    if (length === 0) {
      this.endFrame(EMPTY);
    } else {
      this.state = PAYLOAD;
    }
    return this.state !== STOPPED;
  }

  private readPayload(chunk: Buffer, pos: number, borrowed: boolean): number {
    const want = this.frameLength - this.frameReceived;
    const avail = chunk.length - pos;
    const n = Math.min(avail, want);
    const end = pos + n;
    if ((this.bits & MASKED) !== 0)
      applyMask(chunk, pos, end, this.keySource!, this.keyOffset, this.frameReceived);
    const piece = chunk.subarray(pos, end);

    if (this.opcode >= 0x8) {
      if (n === this.frameLength) {
        this.endFrame(borrowed ? Buffer.from(piece) : piece);
      } else {
        this.control ??= Buffer.allocUnsafe(this.frameLength);
        this.control.set(piece, this.frameReceived);
        this.frameReceived += n;
        if (this.frameReceived === this.frameLength) {
          const payload = this.control;
          this.control = undefined;
          this.endFrame(payload);
        }
      }
      return end;
    }

    // The common case: a whole single-frame message in this read, delivered without a copy
    // (unless the read buffer is borrowed).
    if (n === this.frameLength && (this.bits & FIN) !== 0 && this.fragments === 1) {
      this.endFrame(borrowed ? Buffer.from(piece) : piece);
      return end;
    }
    if ((this.bits & (BINARY | COMPRESSED)) === 0 && !this.options.skipUtf8Validation) {
      this.utf8 ??= new Utf8Validator();
      if (!this.utf8.write(piece)) {
        this.failUtf8();
        return end;
      }
    }
    if (this.assembled === undefined) this.assembled = new PayloadAccumulator();
    if (this.frameReceived === 0 && (this.bits & FIN) !== 0 && this.fragments === 1) {
      this.assembled.expect(this.frameLength);
    }
    this.assembled.push(piece, borrowed);
    this.frameReceived += n;
    if (this.frameReceived === this.frameLength) this.endFrame(undefined);
    return end;
  }

  /** The frame goes on in a later read: keep its masking key, not the read that holds it. */
  private saveKey(chunk: Buffer): void {
    if (this.state !== PAYLOAD || this.keySource !== chunk) return;
    this.scratch ??= Buffer.allocUnsafe(18);
    this.scratch.set(chunk.subarray(this.keyOffset, this.keyOffset + 4), 14);
    this.keySource = this.scratch;
    this.keyOffset = 14;
  }

  /**
   * A frame is complete. `payload` is its whole payload when it came in one piece (owned by the
   * receiver); undefined when its pieces went into the accumulator.
   */
  private endFrame(payload: Buffer | undefined): void {
    this.state = HEADER;
    this.keySource = undefined;
    const opcode = this.opcode;
    if (opcode >= 0x8) {
      this.sink.onControlFrame(opcode, payload!);
      return;
    }
    const bits = this.bits;
    const binary = (bits & BINARY) !== 0;
    const compressed = (bits & COMPRESSED) !== 0;
    const textCheck = !binary && !compressed && !this.options.skipUtf8Validation;
    if (payload !== undefined) {
      if (this.fragments === 1 && (bits & FIN) !== 0) {
        // Single-frame message: one native UTF-8 check over all of it.
        if (textCheck && !isUtf8(payload)) {
          this.failUtf8();
          return;
        }
        this.bits &= ~IN_MESSAGE;
        this.sink.onMessage(payload, binary, compressed);
        return;
      }
      if (textCheck) {
        this.utf8 ??= new Utf8Validator();
        if (!this.utf8.write(payload)) {
          this.failUtf8();
          return;
        }
      }
      this.assembled ??= new PayloadAccumulator();
      this.assembled.push(payload, false);
    }
    if ((bits & FIN) === 0) return;
    if (textCheck && this.utf8 !== undefined) {
      if (!this.utf8.complete) {
        this.failUtf8();
        return;
      }
      this.utf8.reset();
    }
    this.bits &= ~IN_MESSAGE;
    const data = this.assembled === undefined ? EMPTY : this.assembled.take();
    this.sink.onMessage(data, binary, compressed);
  }

  private failUtf8(): void {
    this.fail(
      new PeerError(
        ErrorCode.InvalidUtf8,
        CloseCode.InvalidFramePayloadData,
        'invalid UTF-8 in a text message',
      ),
    );
  }

  private fail(error: PeerError): false {
    this.stop();
    this.sink.onReceiveError(error);
    return false;
  }
}
