import type { PerMessageDeflate } from '../extensions/index.js';
import { CloseCode, ErrorCode, WebSocketError } from '../protocol/index.js';
import { closedError } from './data.js';
import type { BackpressurePolicy } from './options.js';
import type { SharedFrame } from './prepared-message.js';

export type Callback = (error?: Error | null) => void;

const EMPTY_BYTES = new Uint8Array(0);

/** What the outbox needs from its WebSocket (internal members). */
export interface OutboxHost {
  readonly _deflate: PerMessageDeflate | undefined;
  /** Bytes serialized or handed to the transport, not yet written out. */
  _pendingBytes(): number;
  /** A message sent in fragments is in progress in the protocol core. */
  _midMessage(): boolean;
  /** Whether the connection still sends data (no close frame sent). */
  _sendsData(): boolean;
  /** Serializes one data frame now. */
  _deliverFrame(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    rsv1: boolean | undefined,
    cb: Callback | undefined,
  ): void;
  _deliverClose(code: number | undefined, reason: string | Buffer | undefined): void;
  /** Sends a ping or pong of the application now. */
  _deliverControl(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void;
  /** Queues a whole frame made once for many connections (a publish). */
  _deliverRaw(frame: Buffer): void;
  _failPolicy(code: number, reason: string): void;
  _emitDropped(info: DroppedMessage): void;
  _emitDrain(): void;
  _emitAsyncError(error: Error, cb: Callback | undefined): void;
  readonly _maxBackpressure: number;
  readonly _backpressurePolicy: BackpressurePolicy;
}

/** What a `dropped` event reports. */
export interface DroppedMessage {
  /** Payload bytes of the message dropped. */
  bytes: number;
  isBinary: boolean;
  /** Which policy dropped it: the message being sent, or the oldest one waiting. */
  policy: 'drop-newest' | 'drop-oldest';
}

const DATA = 0;
const CLOSE = 1;
const TASK = 2;
/** A published message, already framed (or being compressed) once for all its subscribers. */
const PREPARED = 3;
/** A ping or pong of the application. */
const CONTROL = 4;

interface Item {
  kind: number;
  payload: string | Uint8Array | undefined;
  binary: boolean;
  fin: boolean;
  cb: Callback | undefined;
  /** Payload bytes (before compression), for the backpressure limit. */
  bytes: number;
  /** A whole message that may be dropped by a policy (not a fragment of one). */
  droppable: boolean;
  /** Compress before sending; once compressed, the RSV1 bit to set. */
  compress: boolean;
  rsv1: boolean | undefined;
  /** Asynchronous work before the item can go (a stream, a control frame from a Blob). */
  work: (() => Promise<void>) | undefined;
  /** The payload still has to be read (a Blob). */
  produce?: () => Promise<Uint8Array>;
  started: boolean;
  ready: boolean;
  code?: number;
  reason?: string | Buffer;
  /** PREPARED: the frame, or the shared frame it waits for. */
  frame?: Buffer | SharedFrame;
  /** CONTROL: a ping (else a pong). */
  ping?: boolean;
}

/** Data held while the transport is backed up: at most this much waits in the transport first. */
export const HOLD_AT = 1024 * 1024;

/**
 * The slow side of sending, created for a connection only when needed: messages that wait
 * (behind a compression, a Blob being read, a stream being sent, or a peer that is not reading),
 * in order, as whole messages, under a backpressure limit with a policy: close the connection,
 * or drop the newest or the oldest whole messages.
 *
 * The frames the library sends by itself (automatic pongs, heartbeat pings, close echoes and
 * failures) never wait here. The application's close frame goes after every message sent
 * before it. Its pings and pongs go after the messages sent before them that are still being
 * prepared (compressed, read from a Blob), so that asynchronous work never reorders what the
 * application sent (as in ws), but ahead of messages that are ready and held only because the
 * peer is not reading (so that a busy connection still answers and measures its round trip).
 */
export class Outbox {
  private readonly queue: Item[] = [];
  private heldBytes = 0;
  private pumping = false;
  private holding = false;
  /** A message sent in fragments: whether it is compressed (undefined: none in progress). */
  fragmentsCompressed: boolean | undefined;
  /** A compressed fragmented message was started on the wire (next frames have no RSV1). */
  private compressing = false;
  droppedMessages = 0;
  droppedBytes = 0;
  /** `fin` of the last data item queued, while any is queued. */
  private lastDataFin: boolean | undefined;
  /** Publishes that arrived in the middle of a message sent in fragments: they go after its end. */
  private deferred: Item[] | undefined;

  constructor(private readonly host: OutboxHost) {}

  /** True while anything waits: later sends must queue behind it. */
  get active(): boolean {
    return this.queue.length > 0;
  }

  get queuedBytes(): number {
    return this.heldBytes;
  }

  /** Nothing queued, nothing waiting for the end of a message. */
  get idle(): boolean {
    return this.queue.length === 0 && this.deferred === undefined;
  }

  /**
   * Whether a message (or fragment) goes compressed (RFC 7692 §6: a choice per message; all
   * fragments of a message alike).
   */
  compresses(bytes: number, compress: boolean | undefined, fin: boolean): boolean {
    let compressed = this.fragmentsCompressed;
    if (compressed === undefined) {
      const deflate = this.host._deflate;
      compressed = deflate !== undefined && compress !== false && bytes >= deflate.threshold;
    }
    this.fragmentsCompressed = fin ? undefined : compressed;
    return compressed;
  }

  /** Queues a message whose bytes are read first (a Blob of `size` bytes), in order. */
  sendLater(
    produce: () => Promise<Uint8Array>,
    size: number,
    binary: boolean,
    fin: boolean,
    cb: Callback | undefined,
    compress: boolean | undefined,
  ): void {
    const compressed = this.compresses(size, compress, fin);
    this.send(EMPTY_BYTES, binary, fin, cb, compressed, size, produce);
  }

  /** Queues a message (or fragment); returns false (the caller should wait for `drain`). */
  send(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    cb: Callback | undefined,
    compress: boolean,
    size?: number,
    produce?: () => Promise<Uint8Array>,
  ): boolean {
    const bytes =
      size ?? (typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length);
    // A whole message can be dropped; a fragment cannot (nor the end of a started message).
    const midMessage = this.lastDataFin === undefined ? this.host._midMessage() : !this.lastDataFin;
    const droppable = fin && !midMessage;
    this.lastDataFin = fin;
    const item: Item = {
      kind: DATA,
      payload,
      binary,
      fin,
      cb,
      bytes,
      droppable,
      compress,
      rsv1: undefined,
      work: undefined,
      started: false,
      ready: !compress && produce === undefined,
      produce,
    };
    if (!this.admit(item)) return false;
    this.queue.push(item);
    this.heldBytes += bytes;
    if (fin && this.deferred !== undefined) this.messageEnded();
    this.pump();
    return false;
  }

  /**
   * Queues a published message framed once for many connections (or whose shared compression
   * is under way), in order with the sends and under the backpressure policy. Returns false
   * when the policy dropped it or closed the connection.
   */
  publish(frame: Buffer | SharedFrame, bytes: number, binary: boolean): boolean {
    const item = publishedItem(PREPARED, undefined, bytes, binary, false);
    item.frame = frame;
    item.ready = Buffer.isBuffer(frame);
    return this.enqueuePublished(item);
  }

  /**
   * Queues a published message that this connection compresses itself: with context takeover,
   * its compressor's state is its own, so no other connection's bytes would do (RFC 7692 §7.2.3).
   */
  publishOwn(payload: Uint8Array, binary: boolean): boolean {
    return this.enqueuePublished(publishedItem(DATA, payload, payload.length, binary, true));
  }

  /** A message sent in fragments ended: the publishes that waited for it go next. */
  messageEnded(): void {
    const deferred = this.deferred;
    if (deferred === undefined) return;
    this.deferred = undefined;
    for (const item of deferred) this.queue.push(item);
    this.pump();
  }

  private enqueuePublished(item: Item): boolean {
    if (!this.admit(item)) return false;
    this.heldBytes += item.bytes;
    // RFC 6455 §5.4: a message's fragments are not interleaved with another message (pings and
    // pongs may sit between them).
    const last = this.queue.findLast((queued) => queued.kind !== CONTROL);
    const inMessage =
      last === undefined ? this.host._midMessage() : last.kind === DATA && !last.fin;
    if (inMessage) {
      if (this.deferred === undefined) this.deferred = [item];
      else this.deferred.push(item);
      return true;
    }
    this.queue.push(item);
    this.pump();
    return true;
  }

  /** Queues asynchronous work that must run in order with the sends (a Blob, a stream). */
  task(work: () => Promise<void>, cb: Callback | undefined): void {
    this.queue.push({
      kind: TASK,
      payload: undefined,
      binary: false,
      fin: true,
      cb,
      bytes: 0,
      droppable: false,
      compress: false,
      rsv1: undefined,
      work,
      started: false,
      ready: false,
    });
    this.pump();
  }

  /** Queues a ping or pong (its payload, or a Blob's to read first), in order (see above). */
  control(
    ping: boolean,
    payload: Uint8Array | undefined,
    produce: (() => Promise<Uint8Array>) | undefined,
    cb: Callback | undefined,
  ): void {
    this.queue.push({
      kind: CONTROL,
      payload,
      binary: true,
      fin: true,
      cb,
      bytes: 0,
      droppable: false,
      compress: false,
      rsv1: undefined,
      work: undefined,
      produce,
      started: false,
      ready: produce === undefined,
      ping,
    });
    this.pump();
  }

  /** The close frame goes after every message queued before it. */
  close(code: number | undefined, reason: string | Buffer | undefined): void {
    this.dropDeferred();
    this.queue.push({
      kind: CLOSE,
      payload: undefined,
      binary: false,
      fin: true,
      cb: undefined,
      bytes: 0,
      droppable: false,
      compress: false,
      rsv1: undefined,
      work: undefined,
      started: false,
      ready: true,
      code,
      reason,
    });
    this.pump();
  }

  /** Fails every waiting send (the connection is gone). */
  abort(): void {
    const queue = this.queue.splice(0);
    this.heldBytes = 0;
    this.lastDataFin = undefined;
    this.deferred = undefined;
    // Each callback once: work still running for an aborted item reports nothing more.
    for (const item of queue) if (item.cb !== undefined) process.nextTick(item.cb, closedError());
  }

  /** Sends what can go now, in order: called after each write and when the transport drains. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const host = this.host;
      const queue = this.queue;
      while (queue.length > 0) {
        const item = queue[0]!;
        if (!item.ready && !(item.kind === PREPARED && this.frameReady(item))) {
          if (!item.started) this.start(item);
          break;
        }
        if (item.kind === DATA || item.kind === PREPARED) {
          if (host._pendingBytes() >= host._maxBackpressure || host._pendingBytes() >= HOLD_AT) {
            this.holding = true;
            this.sendControlsAhead();
            break;
          }
          queue.shift();
          this.heldBytes -= item.bytes;
          if (!host._sendsData()) {
            if (item.cb !== undefined) process.nextTick(item.cb, closedError());
            continue;
          }
          if (item.kind === PREPARED) host._deliverRaw(this.frameOf(item));
          else host._deliverFrame(item.payload!, item.binary, item.fin, item.rsv1, item.cb);
        } else if (item.kind === CLOSE) {
          queue.shift();
          host._deliverClose(item.code, item.reason);
        } else if (item.kind === CONTROL) {
          queue.shift();
          host._deliverControl(item.ping!, item.payload as Uint8Array, item.cb);
        } else {
          queue.shift();
        }
      }
      if (queue.length === 0) this.lastDataFin = undefined;
      if (queue.length === 0 && this.holding) {
        this.holding = false;
        host._emitDrain();
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * The head message is held for the peer: pings and pongs queued behind messages that are all
   * ready go now. A close frame, or anything still to be prepared, keeps the rest in order.
   */
  private sendControlsAhead(): void {
    const queue = this.queue;
    for (let i = 1; i < queue.length; ) {
      const item = queue[i]!;
      if (!item.ready || item.kind === CLOSE || item.kind === TASK) return;
      if (item.kind === CONTROL) {
        queue.splice(i, 1);
        this.host._deliverControl(item.ping!, item.payload as Uint8Array, item.cb);
      } else {
        i++;
      }
    }
  }

  /** Starts an item's asynchronous work (only ever the head's); when done, the queue goes on. */
  private start(item: Item): void {
    item.started = true;
    if (item.kind === PREPARED) {
      (item.frame as SharedFrame).wait(this);
      return;
    }
    const work =
      item.kind === TASK
        ? item.work!
        : async () => {
            if (item.produce !== undefined) item.payload = await item.produce();
            if (item.compress) await this.compress(item);
            else item.ready = true;
          };
    work().then(
      () => {
        if (item.kind === TASK) item.ready = true;
        this.pump();
      },
      (error: Error) => {
        // Aborted meanwhile (the connection is gone): its callback already had the error.
        if (this.queue[0] !== item) return;
        // The item is lost; what follows still goes.
        this.queue.shift();
        this.heldBytes -= item.bytes;
        this.host._emitAsyncError(error, item.cb);
        this.pump();
      },
    );
  }

  private frameReady(item: Item): boolean {
    item.ready = Buffer.isBuffer(item.frame) || (item.frame as SharedFrame).bytes !== undefined;
    return item.ready;
  }

  private frameOf(item: Item): Buffer {
    return Buffer.isBuffer(item.frame) ? item.frame : (item.frame as SharedFrame).bytes!;
  }

  /** Publishes waiting for a message that will never end (the connection is closing). */
  private dropDeferred(): void {
    if (this.deferred === undefined) return;
    for (const item of this.deferred) this.heldBytes -= item.bytes;
    this.deferred = undefined;
  }

  private compress(item: Item): Promise<void> {
    const bytes = typeof item.payload === 'string' ? Buffer.from(item.payload) : item.payload!;
    const first = !this.compressing;
    this.compressing = !item.fin;
    return new Promise((resolve, reject) => {
      this.host._deflate!.compress(bytes, item.fin, (error, out) => {
        if (error !== null) {
          reject(error);
          return;
        }
        item.payload = out!;
        // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
        item.rsv1 = first;
        item.ready = true;
        resolve();
      });
    });
  }

  /** Applies the backpressure limit to a new message; false when it does not go. */
  private admit(item: Item): boolean {
    const host = this.host;
    const limit = host._maxBackpressure;
    let total = host._pendingBytes() + this.heldBytes + item.bytes;
    if (total <= limit) return true;
    const policy = host._backpressurePolicy;
    if (policy === 'drop-oldest') {
      // Oldest whole messages first, never one already being worked on.
      for (let i = 0; i < this.queue.length && total > limit; ) {
        const old = this.queue[i]!;
        const whole = (old.kind === DATA || old.kind === PREPARED) && old.droppable;
        if (whole && !old.started && (i > 0 || old.ready)) {
          this.queue.splice(i, 1);
          this.heldBytes -= old.bytes;
          total -= old.bytes;
          this.drop(old, 'drop-oldest');
        } else {
          i++;
        }
      }
      if (total <= limit) return true;
    }
    if (policy !== 'close' && item.droppable) {
      this.drop(item, policy === 'drop-oldest' ? 'drop-oldest' : 'drop-newest');
      return false;
    }
    this.abort();
    host._failPolicy(
      CloseCode.PolicyViolation,
      'send buffer over its limit (the peer is not reading)',
    );
    if (item.cb !== undefined) process.nextTick(item.cb, closedError());
    return false;
  }

  private drop(item: Item, policy: 'drop-newest' | 'drop-oldest'): void {
    this.droppedMessages++;
    this.droppedBytes += item.bytes;
    if (item.cb !== undefined) process.nextTick(item.cb, droppedError(policy));
    this.host._emitDropped({ bytes: item.bytes, isBinary: item.binary, policy });
  }
}

function publishedItem(
  kind: number,
  payload: Uint8Array | undefined,
  bytes: number,
  binary: boolean,
  compress: boolean,
): Item {
  return {
    kind,
    payload,
    binary,
    fin: true,
    cb: undefined,
    bytes,
    droppable: true,
    compress,
    rsv1: undefined,
    work: undefined,
    started: false,
    ready: !compress,
  };
}

function droppedError(policy: string): WebSocketError {
  return new WebSocketError(
    ErrorCode.MessageDropped,
    `message dropped by the ${policy} backpressure policy (the peer is not reading)`,
  );
}
