import { CloseCode } from '../../protocol/index.js';
import type { SharedFrame } from '../../pubsub/prepared-message.js';
import type { BackpressurePolicy } from './backpressure-policy.js';
import {
  type Backlog,
  DROP_NEWEST,
  DROP_OLDEST,
  GO,
  type SendPolicy,
  sendPolicy,
} from './backpressure-policy.js';
import {
  type Callback,
  type ControlItem,
  DONE,
  dataItem,
  droppedError,
  frameCost,
  frameOf,
  isReady,
  type MessageItem,
  mayDropOld,
  type OutboxItem,
  preparedItem,
  prepareItem,
  READY,
  STARTED,
  type TaskItem,
  WAITING,
} from './outbox-item.js';
import { closedError } from './send-errors.js';
import type { DroppedMessage, SendWriter } from './send-writer.js';

export type { Callback } from './outbox-item.js';
export type { DroppedMessage, SendWriter } from './send-writer.js';

/** Data held while the transport is backed up: at most this much waits in the transport first. */
export const HOLD_AT = 1024 * 1024;

/** The application's message in progress (sent in fragments): none, uncompressed, compressed. */
const NONE = 0;
const PLAIN = 1;
const COMPRESSED = 2;

type DropPolicy = DroppedMessage['policy'];

/**
 * The send queue, created for a connection only when something has to wait (behind a
 * compression, a Blob being read, a stream being sent, or a peer that is not reading): items
 * in order, their asynchronous preparation, the backpressure limit (the policy decides:
 * backpressure-policy.ts), `drain`. It calls the writer (send-writer.ts), one way; the writer
 * tells it only that the transport took data or drained (`pump`, `onTransportDrain`).
 *
 * The frames the library sends by itself (automatic pongs, heartbeat pings, close echoes and
 * failures) never wait here. The application's close frame goes after every message sent
 * before it. Its pings and pongs go after the messages sent before them that are still being
 * prepared (compressed, read from a Blob), so that asynchronous work never reorders what the
 * application sent (as in ws), but ahead of messages that are ready and held only because the
 * peer is not reading (so that a busy connection still answers and measures its round trip).
 * Publishes never go inside a message the application sends in fragments (RFC 6455 §5.4).
 */
export class Outbox implements Backlog {
  private readonly queue: OutboxItem[] = [];
  /** Payload bytes waiting here (what `bufferedAmount` counts). */
  heldBytes = 0;
  /** The same messages as frames will weigh once serialized (what the limit counts). */
  heldCost = 0;
  droppedMessages = 0;
  droppedBytes = 0;
  private readonly policy: SendPolicy;
  private pumping = false;
  /** A send returned false: `drain` is owed once nothing waits and the transport is not backed up. */
  private owed = false;
  /**
   * The application's message in progress, as it sent it (NONE, PLAIN, COMPRESSED): its
   * fragments all go alike (RFC 7692 §6). What went on the wire is the core's
   * `sendingFragmented`.
   */
  private message: number;
  /** The first fragment of a message was dropped: the rest of that message is dropped too. */
  private dropping: { bytes: number; binary: boolean; policy: DropPolicy } | undefined;
  /** Publishes that arrived in the middle of the application's message: they go after its end. */
  private deferred: MessageItem[] | undefined;
  /** Waiting for the transport to drain (a stream being sent piece by piece). */
  private drainWaiters: (() => void)[] | undefined;
  /** Waiting for the queue to empty (a paced replay). */
  private idleWaiters: (() => void)[] | undefined;

  /**
   * `midMessage`: a message sent in fragments straight to the wire is in progress (it is
   * uncompressed: compressed messages always go through the queue).
   */
  constructor(
    private readonly writer: SendWriter,
    readonly limit: number,
    policy: BackpressurePolicy,
    midMessage: boolean,
  ) {
    this.policy = sendPolicy(policy);
    this.message = midMessage ? PLAIN : NONE;
  }

  /** True while anything waits: later sends must queue behind it. */
  get active(): boolean {
    return this.queue.length > 0;
  }

  /** Nothing queued, nothing waiting for the end of a message. */
  get idle(): boolean {
    return this.queue.length === 0 && this.deferred === undefined;
  }

  /** Messages wait here once the transport holds this much. */
  private get holdAt(): number {
    return Math.min(HOLD_AT, this.limit);
  }

  pendingBytes(): number {
    return this.writer._pendingBytes();
  }

  /**
   * Sends a message (or fragment) of the application at once when nothing waits and it needs
   * no preparation, else queues it (`size` and `produce`: a Blob of `size` bytes read first).
   * Returns false when it did not go at once (the caller should wait for `drain`).
   */
  send(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    cb: Callback | undefined,
    compress: boolean | undefined,
    bytes: number,
    produce?: () => Promise<Uint8Array>,
  ): boolean {
    const first = this.message === NONE;
    let compressed = this.message === COMPRESSED;
    if (first) {
      // RFC 7692 §6: compression is chosen per message.
      const deflate = this.writer._deflate;
      compressed = deflate !== undefined && compress !== false && bytes >= deflate.threshold;
    }
    this.message = fin ? NONE : compressed ? COMPRESSED : PLAIN;
    if (this.dropping !== undefined) {
      this.owed = true;
      this.dropRest(bytes, fin, cb);
      return false;
    }
    const writer = this.writer;
    if (
      !compressed &&
      produce === undefined &&
      this.queue.length === 0 &&
      writer._pendingBytes() < this.holdAt
    ) {
      writer._deliverFrame(payload, binary, fin, undefined, cb);
      if (fin && this.deferred !== undefined) this.endMessage();
      return true;
    }
    // No false answer is pending: the sender is not ignoring one, so the policy does not apply.
    const heeded = !this.owed;
    this.owed = true;
    const item = dataItem(payload, binary, fin, cb, bytes, first, compressed, produce);
    if (!heeded && !this.admit(item)) {
      this.pump();
      return false;
    }
    this.hold(item);
    this.queue.push(item);
    if (fin && this.deferred !== undefined) this.endMessage();
    this.pump();
    return false;
  }

  /**
   * Queues a published message framed once for many connections (or whose shared compression
   * is under way), in order with the sends and under the backpressure policy. Returns false
   * when the policy dropped it or closed the connection.
   */
  publish(frame: Buffer | SharedFrame, bytes: number, binary: boolean): boolean {
    return this.enqueuePublished(preparedItem(frame, bytes, binary));
  }

  /**
   * Queues a published message that this connection compresses itself: with context takeover,
   * its compressor's state is its own, so no other connection's bytes would do (RFC 7692 §7.2.3).
   */
  publishOwn(payload: Uint8Array, binary: boolean): boolean {
    const item = dataItem(payload, binary, true, undefined, payload.length, true, true, undefined);
    return this.enqueuePublished(item);
  }

  private enqueuePublished(item: MessageItem): boolean {
    // The publisher cannot wait for each subscriber's drain: the policy applies at the limit.
    if (!this.admit(item)) return false;
    this.hold(item);
    // RFC 6455 §5.4: a message's fragments are not interleaved with another message (pings and
    // pongs may sit between them). A message being dropped is not on the wire.
    if (this.message !== NONE && this.dropping === undefined) {
      if (this.deferred === undefined) this.deferred = [item];
      else this.deferred.push(item);
      return true;
    }
    this.queue.push(item);
    this.pump();
    return true;
  }

  /** The application's message ended (its last fragment sent or queued): publishes go next. */
  private endMessage(): void {
    const deferred = this.deferred!;
    this.deferred = undefined;
    for (const item of deferred) this.queue.push(item);
    this.pump();
  }

  /** Resolves once the transport is not over its high-water mark (or the connection is gone). */
  drained(needDrain: () => boolean): Promise<void> {
    if (!needDrain()) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.drainWaiters === undefined) this.drainWaiters = [resolve];
      else this.drainWaiters.push(resolve);
      this.writer._awaitTransport();
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
      this.writer._awaitTransport();
    });
  }

  /** Queues asynchronous work that must run in order with the sends (a stream). */
  task(work: () => Promise<void>, cb: Callback | undefined): void {
    const item: TaskItem = { kind: 'task', work, cb, stage: WAITING };
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
    const stage = produce === undefined ? READY : WAITING;
    const item: ControlItem = { kind: 'control', ping, payload, produce, cb, stage };
    this.queue.push(item);
    this.pump();
  }

  /** The close frame goes after every message queued before it. */
  close(code: number | undefined, reason: string | Buffer | undefined): void {
    // The application's message never ends: publishes held for it are dropped.
    this.message = NONE;
    const deferred = this.deferred;
    this.deferred = undefined;
    if (deferred !== undefined) for (const item of deferred) this.unhold(item);
    this.queue.push({ kind: 'close', code, reason });
    this.pump();
  }

  /** Fails every waiting send (the connection is gone). */
  abort(): void {
    const queue = this.queue.splice(0);
    this.heldBytes = 0;
    this.heldCost = 0;
    this.message = NONE;
    this.dropping = undefined;
    this.owed = false;
    this.deferred = undefined;
    // Each callback once: work still running for an aborted item reports nothing more.
    for (const item of queue) {
      if (item.kind !== 'close' && item.cb !== undefined) process.nextTick(item.cb, closedError());
    }
    this.wakeDrainWaiters();
    this.wakeIdleWaiters();
  }

  /** The transport drained (or was asked to report): wake stream senders, send what waits. */
  onTransportDrain(): void {
    this.wakeDrainWaiters();
    this.pump();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = undefined;
    wake(waiters);
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = undefined;
    wake(waiters);
  }

  /**
   * Sends what can go now, in order: called after each write (the writer's flush), when the
   * transport drains and when an item's preparation ends.
   */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.sendReady();
      if (this.queue.length === 0) this.settle();
    } finally {
      this.pumping = false;
    }
  }

  private sendReady(): void {
    const writer = this.writer;
    const queue = this.queue;
    while (queue.length > 0) {
      const item = queue[0]!;
      if (!isReady(item)) {
        if (item.kind !== 'close' && item.stage === WAITING) this.start(item);
        return;
      }
      if (item.kind === 'data' || item.kind === 'prepared') {
        if (writer._pendingBytes() >= this.holdAt) {
          writer._awaitTransport();
          this.sendControlsAhead();
          return;
        }
        queue.shift();
        this.unhold(item);
        if (!writer._sendsData()) {
          if (item.cb !== undefined) process.nextTick(item.cb, closedError());
        } else if (item.kind === 'prepared') {
          writer._deliverRaw(frameOf(item));
        } else {
          writer._deliverFrame(item.payload, item.binary, item.fin, item.rsv1, item.cb);
        }
      } else {
        queue.shift();
        if (item.kind === 'close') writer._deliverClose(item.code, item.reason);
        else if (item.kind === 'control') writer._deliverControl(item.ping, item.payload!, item.cb);
      }
    }
  }

  /** Nothing waits: wake paced senders, emit an owed `drain` (once the transport allows). */
  private settle(): void {
    const writer = this.writer;
    if (this.idleWaiters !== undefined && this.deferred === undefined) {
      if (writer._pendingBytes() < this.holdAt || !writer._sendsData()) this.wakeIdleWaiters();
      else writer._awaitTransport();
    }
    if (this.owed && writer._sendsData()) {
      if (writer._pendingBytes() < this.holdAt) {
        this.owed = false;
        writer._emitDrain();
      } else {
        writer._awaitTransport();
      }
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
      if (!isReady(item) || item.kind === 'close' || item.kind === 'task') return;
      if (item.kind === 'control') {
        queue.splice(i, 1);
        this.writer._deliverControl(item.ping, item.payload!, item.cb);
      } else {
        i++;
      }
    }
  }

  /** Starts the head item's asynchronous preparation; when done, the queue goes on. */
  private start(item: Exclude<OutboxItem, { kind: 'close' }>): void {
    item.stage = STARTED;
    if (item.kind === 'prepared') {
      (item.frame as SharedFrame).wait(this);
      return;
    }
    prepareItem(item, this.writer._deflate).then(
      () => {
        item.stage = DONE;
        this.pump();
      },
      (error: Error) => {
        // Aborted meanwhile (the connection is gone): its callback already had the error.
        if (this.queue[0] !== item) return;
        // The item is lost; what follows still goes.
        this.queue.shift();
        if (item.kind === 'data') this.unhold(item);
        this.writer._emitAsyncError(error, item.cb);
        this.pump();
      },
    );
  }

  /**
   * Applies the backpressure policy to a message sent while a false answer is pending (a
   * publish always); false when it does not go. The backlog thus exceeds the limit by two
   * messages at most, and a message larger than the limit can go (when it is heeded).
   */
  private admit(item: MessageItem): boolean {
    const policy = this.policy;
    let verdict = policy.admit(item, this, false);
    if (verdict === DROP_OLDEST) {
      this.makeRoom();
      verdict = policy.admit(item, this, true);
    }
    if (verdict === GO) return true;
    if (verdict === DROP_NEWEST) {
      const name = policy.name as DropPolicy;
      if (item.kind === 'data' && !item.fin) {
        // The first fragment: the whole message goes, fragment by fragment as they come.
        this.dropping = { bytes: 0, binary: item.binary, policy: name };
        this.dropRest(item.bytes, false, item.cb);
      } else {
        this.drop(item, name);
      }
      return false;
    }
    // Nothing can be dropped ('close', or a later fragment of a message already started:
    // dropping it would cut the message in two): the connection is failed.
    this.abort();
    this.writer._failPolicy(
      CloseCode.PolicyViolation,
      'send buffer over its limit (the peer is not reading)',
    );
    if (item.cb !== undefined) process.nextTick(item.cb, closedError());
    return false;
  }

  /** Drops the oldest whole messages waiting down to the limit. */
  private makeRoom(): void {
    const queue = this.queue;
    for (let i = 0; i < queue.length && this.heldBytes > this.limit; ) {
      const old = queue[i]!;
      if (mayDropOld(old, i === 0)) {
        queue.splice(i, 1);
        this.unhold(old);
        this.drop(old, 'drop-oldest');
      } else {
        i++;
      }
    }
  }

  private hold(item: MessageItem): void {
    this.heldBytes += item.bytes;
    this.heldCost += frameCost(item.bytes);
  }

  private unhold(item: MessageItem): void {
    this.heldBytes -= item.bytes;
    this.heldCost -= frameCost(item.bytes);
  }

  private drop(item: MessageItem, policy: DropPolicy): void {
    this.droppedMessages++;
    this.droppedBytes += item.bytes;
    if (item.cb !== undefined) process.nextTick(item.cb, droppedError(policy));
    this.writer._emitDropped({ bytes: item.bytes, isBinary: item.binary, policy });
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
    this.writer._emitDropped({
      bytes: dropping.bytes,
      isBinary: dropping.binary,
      policy: dropping.policy,
    });
  }
}

function wake(waiters: (() => void)[] | undefined): void {
  if (waiters !== undefined) for (const resolve of waiters) resolve();
}
