import { CloseCode } from '../../protocol/index.js';
import type { SharedFrame } from '../../pubsub/prepared-message.js';
import { closedError } from '../connection/data.js';
import type { OutboxHost } from './outbox-host.js';
import {
  type Callback,
  CLOSE,
  CONTROL,
  compressItem,
  DATA,
  type DropPolicy,
  droppedError,
  frameCost,
  frameOf,
  frameReady,
  OutboxItem as Item,
  PREPARED,
  publishedItem,
  sendControlsAhead,
  TASK,
} from './outbox-item.js';

export type { DroppedMessage, OutboxHost } from './outbox-host.js';
export type { Callback } from './outbox-item.js';

const EMPTY_BYTES = new Uint8Array(0);

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
  /** Payload bytes waiting here (what `bufferedAmount` counts). */
  private heldBytes = 0;
  /** The same messages as frames will weigh once serialized (what the limit counts). */
  private heldCost = 0;
  private pumping = false;
  /** A send returned false: `drain` is owed once nothing waits and the transport is not backed up. */
  private owed = false;
  /** The first fragment of a message was dropped: the rest of that message is dropped too. */
  private dropping: { bytes: number; binary: boolean; policy: DropPolicy } | undefined;
  /** Waiting for the transport to drain (a stream being sent piece by piece). */
  private drainWaiters: (() => void)[] | undefined;
  /** Waiting for the outbox to empty (a paced replay). */
  private idleWaiters: (() => void)[] | undefined;
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

  /** Nothing queued, nothing waiting for the end of a message. */
  get idle(): boolean {
    return this.queue.length === 0 && this.deferred === undefined;
  }

  get queuedBytes(): number {
    return this.heldBytes;
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

  /** The rest of a message whose first fragment was dropped is dropped too. */
  get droppingMessage(): boolean {
    return this.dropping !== undefined;
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
    // No false answer is pending: the sender is not ignoring one, so the policy does not apply.
    const heeded = !this.owed;
    this.owed = true;
    if (this.dropping !== undefined) {
      this.dropRest(bytes, fin, cb);
      if (fin) this.messageEnded();
      return false;
    }
    // A whole message, or the first fragment of one, can be dropped; a later fragment cannot.
    const midMessage = this.lastDataFin === undefined ? this.host._midMessage() : !this.lastDataFin;
    const droppable = !midMessage;
    this.lastDataFin = fin;
    const item = new Item(
      DATA,
      payload,
      binary,
      fin,
      cb,
      bytes,
      droppable,
      compress,
      !compress && produce === undefined,
    );
    item.produce = produce;
    if (!this.admit(item, heeded)) {
      if (this.queue.length === 0) this.lastDataFin = undefined;
      this.pump();
      return false;
    }
    this.queue.push(item);
    this.heldBytes += bytes;
    this.heldCost += frameCost(bytes);
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
    // The publisher cannot wait for each subscriber's drain: the policy applies at the limit.
    if (!this.admit(item, false)) return false;
    this.heldBytes += item.bytes;
    this.heldCost += frameCost(item.bytes);
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

  /** Resolves once the transport is not over its high-water mark (or the connection is gone). */
  drained(needDrain: () => boolean): Promise<void> {
    if (!needDrain()) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.drainWaiters === undefined) this.drainWaiters = [resolve];
      else this.drainWaiters.push(resolve);
      this.host._awaitTransport();
    });
  }

  /**
   * Resolves once nothing waits here and the transport is under the hold mark (or the
   * connection is gone): a paced sender's next message then goes straight out.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      if (this.idleWaiters === undefined) this.idleWaiters = [resolve];
      else this.idleWaiters.push(resolve);
      this.host._awaitTransport();
    });
  }

  /** Queues asynchronous work that must run in order with the sends (a Blob, a stream). */
  task(work: () => Promise<void>, cb: Callback | undefined): void {
    const item = new Item(TASK, undefined, false, true, cb, 0, false, false, false);
    item.work = work;
    this.queue.push(item);
    this.pump();
  }

  /** Queues a ping or pong (its payload, or a Blob's to read first), in order (see above). */
  control(
    ping: boolean,
    payload: Uint8Array | undefined,
    produce: (() => Promise<Uint8Array>) | undefined,
    cb: Callback | undefined,
  ): void {
    const item = new Item(CONTROL, payload, true, true, cb, 0, false, false, produce === undefined);
    item.produce = produce;
    item.ping = ping;
    this.queue.push(item);
    this.pump();
  }

  /** The close frame goes after every message queued before it. */
  close(code: number | undefined, reason: string | Buffer | undefined): void {
    this.dropDeferred();
    const item = new Item(CLOSE, undefined, false, true, undefined, 0, false, false, true);
    item.code = code;
    item.reason = reason;
    this.queue.push(item);
    this.pump();
  }

  /** Fails every waiting send (the connection is gone). */
  abort(): void {
    const queue = this.queue.splice(0);
    this.heldBytes = 0;
    this.heldCost = 0;
    this.lastDataFin = undefined;
    this.dropping = undefined;
    this.owed = false;
    this.deferred = undefined;
    // Each callback once: work still running for an aborted item reports nothing more.
    for (const item of queue) if (item.cb !== undefined) process.nextTick(item.cb, closedError());
    this.wakeDrainWaiters();
    this.wakeIdleWaiters();
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    if (waiters === undefined) return;
    this.idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  /** The transport drained (or was asked to report): wake stream senders, send what waits. */
  onTransportDrain(): void {
    this.wakeDrainWaiters();
    this.pump();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    if (waiters === undefined) return;
    this.drainWaiters = undefined;
    for (const resolve of waiters) resolve();
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
        if (!item.ready && !(item.kind === PREPARED && frameReady(item))) {
          if (!item.started) this.start(item);
          break;
        }
        if (item.kind === DATA || item.kind === PREPARED) {
          if (host._pendingBytes() >= host._holdAt) {
            host._awaitTransport();
            sendControlsAhead(this.queue, host);
            break;
          }
          queue.shift();
          this.unhold(item);
          if (!host._sendsData()) {
            if (item.cb !== undefined) process.nextTick(item.cb, closedError());
            continue;
          }
          if (item.kind === PREPARED) host._deliverRaw(frameOf(item));
          else host._deliverFrame(item.payload!, item.binary, item.fin, item.rsv1, item.cb);
        } else if (item.kind === CLOSE) {
          queue.shift();
          host._deliverClose(item.code, item.reason);
        } else if (item.kind === CONTROL) {
          queue.shift();
          host._deliverControl(item.ping, item.payload as Uint8Array, item.cb);
        } else {
          queue.shift();
        }
      }
      if (queue.length === 0) {
        this.lastDataFin = undefined;
        if (this.idleWaiters !== undefined && this.deferred === undefined) {
          if (host._pendingBytes() < host._holdAt || !host._sendsData()) this.wakeIdleWaiters();
          else host._awaitTransport();
        }
        if (this.owed && host._sendsData()) {
          if (host._pendingBytes() < host._holdAt) {
            this.owed = false;
            host._emitDrain();
          } else {
            host._awaitTransport();
          }
        }
      }
    } finally {
      this.pumping = false;
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
            if (item.compress) {
              const first = !this.compressing;
              this.compressing = !item.fin;
              await compressItem(this.host._deflate!, item, first);
            } else item.ready = true;
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
        this.unhold(item);
        this.host._emitAsyncError(error, item.cb);
        this.pump();
      },
    );
  }

  /**
   * Applies the backpressure limit to a new message; false when it does not go. The policy is
   * for senders that ignore `send()`'s answer: a message sent while no false answer is pending
   * always goes (so a producer that waits for `drain` never meets the policy); after one, a
   * message goes while the backlog it finds is within the limit (as uWebSockets'
   * maxBackpressure). The backlog thus exceeds the limit by two messages at most, and a message
   * larger than the limit can go.
   *
   * 'drop-oldest' keeps the newest messages: only what waits here can be dropped (what the
   * transport holds, at most the hold mark, is on its way), so the limit counts the payload
   * bytes waiting here, and the oldest whole messages make room for the new one. Counting the
   * transport too dropped every new message once it alone was over the limit.
   */
  private admit(item: Item, heeded: boolean): boolean {
    const host = this.host;
    const limit = host._maxBackpressure;
    if (heeded) return true;
    const policy = host._backpressurePolicy;
    if (policy === 'drop-oldest') {
      if (this.makeRoom(limit)) return true;
    } else if (host._pendingBytes() + this.heldCost <= limit) {
      return true;
    }
    if (policy !== 'close' && item.droppable) {
      const reason = policy === 'drop-oldest' ? 'drop-oldest' : 'drop-newest';
      if (item.fin) {
        this.drop(item, reason);
      } else {
        // The first fragment: the whole message goes, fragment by fragment as they come.
        this.dropping = { bytes: 0, binary: item.binary, policy: reason };
        this.dropRest(item.bytes, false, item.cb);
      }
      return false;
    }
    // 'close', or a later fragment of a message already started (dropping it would cut the
    // message in two): the connection is failed.
    this.abort();
    host._failPolicy(
      CloseCode.PolicyViolation,
      'send buffer over its limit (the peer is not reading)',
    );
    if (item.cb !== undefined) process.nextTick(item.cb, closedError());
    return false;
  }

  /** Drops the oldest whole messages waiting (never one being worked on) down to `limit`. */
  private makeRoom(limit: number): boolean {
    for (let i = 0; i < this.queue.length && this.heldBytes > limit; ) {
      const old = this.queue[i]!;
      const whole = (old.kind === DATA || old.kind === PREPARED) && old.droppable;
      if (whole && !old.started && (i > 0 || old.ready)) {
        this.queue.splice(i, 1);
        this.unhold(old);
        this.drop(old, 'drop-oldest');
      } else {
        i++;
      }
    }
    return this.heldBytes <= limit;
  }

  /** Publishes waiting for a message that will never end (the connection is closing). */
  private dropDeferred(): void {
    if (this.deferred === undefined) return;
    for (const item of this.deferred) this.unhold(item);
    this.deferred = undefined;
  }

  private unhold(item: Item): void {
    this.heldBytes -= item.bytes;
    this.heldCost -= frameCost(item.bytes);
  }

  private drop(item: Item, policy: DropPolicy): void {
    this.droppedMessages++;
    this.droppedBytes += item.bytes;
    if (item.cb !== undefined) process.nextTick(item.cb, droppedError(policy));
    this.host._emitDropped({ bytes: item.bytes, isBinary: item.binary, policy });
  }

  /** A fragment of a message being dropped; the last one reports the whole message. */
  private dropRest(bytes: number, fin: boolean, cb: Callback | undefined): void {
    const dropping = this.dropping!;
    dropping.bytes += bytes;
    this.droppedBytes += bytes;
    if (cb !== undefined) process.nextTick(cb, droppedError(dropping.policy));
    if (!fin) return;
    this.dropping = undefined;
    this.droppedMessages++;
    this.host._emitDropped({
      bytes: dropping.bytes,
      isBinary: dropping.binary,
      policy: dropping.policy,
    });
  }
}
