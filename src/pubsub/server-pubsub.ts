import { ErrorCode, UsageError } from '../protocol/index.js';
import { type CoalesceOptions, CoalesceWindow } from './coalesce-window.js';
import {
  type AdapterSink,
  Change,
  compareSeq,
  type Delivery,
  isSeq,
  LocalAdapter,
  type PubSubAdapter,
  TopicRegistry,
  type UndeliveredReport,
} from './index.js';
import { PreparedMessage, REPLAYING, SEQUENCED } from './prepared-message.js';
import { type PublishData, publishBytes } from './publish-data.js';
import { isTopicMember, MEMBER_OPEN, type TopicMember } from './topic-member.js';

export type { CoalesceOptions } from './coalesce-window.js';
export type { PublishData } from './publish-data.js';

/** The `pubsub` option of a WebSocketServer. */
export interface PubSubOptions {
  /**
   * Carries publishes between processes. Default: the in-process broker (`LocalAdapter`).
   * The server starts it, and closes it when the server closes.
   */
  adapter?: PubSubAdapter;
  /** With the default broker: messages kept per topic for `replay`. Default 0. */
  history?: number;
  /** With the default broker: payload bytes kept per topic for `replay`. Default: no limit. */
  historyBytes?: number;
  /** With the default broker: topics whose history is kept (see LocalAdapter). Default: no limit. */
  maxTopics?: number;
  /**
   * Throughput over latency: each subscriber's published frames wait up to `delay`
   * microseconds, or until `messages` of them wait, and go in one write (one system call)
   * instead of one each. Order (per topic, and with the connection's own sends, which take
   * the held frames along), sequence ids and the backpressure policy (held frames count in
   * `bufferedAmount`) are unchanged; a close frame goes after them. Compressed publishes do
   * not wait. Default: off (each subscriber's frames are written at the end of the current
   * tick).
   */
  coalesce?: CoalesceOptions;
}

/** Options of a publish; `S` is the binding's connection (node: WebSocket), unconstrained so that the published types need no internal member. */
export interface PublishOptions<S = unknown> {
  /** Send as binary (default: true unless the data is a string). */
  binary?: boolean;
  /** false: never compress this message. Default true (when permessage-deflate was agreed). */
  compress?: boolean;
  /** Connections of this server that do not get the message. */
  except?: S | Iterable<S>;
}

export interface SubscribeOptions {
  /**
   * Receive this topic's messages in the sequenced form: a JSON text message
   * `{"topic","seq","prev","data"}` (binary data in base64 with `"binary":true`), so that the
   * client knows the sequence id to resume from. Default false: messages as published.
   */
  sequenced?: boolean;
}

/** What `replay` did. */
export interface ReplayResult {
  /** Messages sent from the history (before the live ones). */
  replayed: number;
  /** False when some messages after `since` were past the retained window (or lost). */
  complete: boolean;
}

type Except<S> = S | ReadonlySet<S> | undefined;

/**
 * A server's topics: who is subscribed to what on this process, publishes handed to the
 * adapter, and what the adapter delivers, framed once and written to each subscriber in
 * order with its other sends.
 */
export class ServerPubSub<S extends TopicMember> implements AdapterSink {
  private readonly registry = new TopicRegistry<S>();
  /** Live messages held for subscriptions being replayed. */
  private readonly held = new Map<S, Map<string, Delivery[]>>();
  private closed = false;

  constructor(
    private readonly adapter: PubSubAdapter,
    private readonly report: (report: UndeliveredReport) => void,
    /** The coalescing window of live deliveries, when configured. */
    private readonly window?: CoalesceWindow,
  ) {
    adapter.start(this);
  }

  static create<S extends TopicMember>(
    options: PubSubOptions | undefined,
    report: (r: UndeliveredReport) => void,
  ): ServerPubSub<S> {
    const adapter =
      options?.adapter ??
      new LocalAdapter({
        history: options?.history,
        historyBytes: options?.historyBytes,
        maxTopics: options?.maxTopics,
      });
    const coalesce = options?.coalesce;
    const window = coalesce === undefined ? undefined : new CoalesceWindow(coalesce);
    return new ServerPubSub<S>(adapter, report, window);
  }

  subscribe(ws: S, topic: string, options?: SubscribeOptions): boolean {
    checkTopic(topic);
    if (ws.readyState !== MEMBER_OPEN || this.closed) return false;
    const old = this.registry.flags(ws, topic) ?? 0;
    const flags = (old & REPLAYING) | (options?.sequenced ? SEQUENCED : 0);
    const change = this.registry.subscribe(ws, topic, flags);
    if (change === Change.Topic) this.adapter.subscribe(topic);
    return change !== Change.None;
  }

  unsubscribe(ws: S, topic: string): boolean {
    checkTopic(topic);
    const change = this.registry.unsubscribe(ws, topic);
    if (change === Change.None) return false;
    this.held.get(ws)?.delete(topic);
    if (change === Change.Topic) this.adapter.unsubscribe(topic);
    return true;
  }

  isSubscribed(ws: S, topic: string): boolean {
    return this.registry.flags(ws, topic) !== undefined;
  }

  topicsOf(ws: S): string[] {
    return this.registry.topicsOf(ws);
  }

  count(topic: string): number {
    return this.registry.count(topic);
  }

  /** A connection closed: it leaves every topic. */
  remove(ws: S): void {
    this.held.delete(ws);
    for (const topic of this.registry.removeSubscriber(ws)) this.adapter.unsubscribe(topic);
  }

  publish(
    topic: string,
    data: PublishData,
    options: PublishOptions<S> | undefined,
    from?: S,
  ): boolean {
    checkTopic(topic);
    if (this.closed) return false;
    const bytes = publishBytes(data);
    const binary = options?.binary ?? typeof data !== 'string';
    const except = from ?? exceptOf(options?.except);
    const message = { topic, data: bytes, binary, compress: options?.compress !== false };
    return this.adapter.publish(message, except);
  }

  /**
   * Sends `ws` the retained messages of `topic` after `since`, then its live ones, without a
   * gap or a repeat between the two (live messages wait while the history is read). Subscribes
   * `ws` first if it is not.
   */
  async replay(
    ws: S,
    topic: string,
    since: string,
    options?: SubscribeOptions,
  ): Promise<ReplayResult> {
    checkTopic(topic);
    if (!isSeq(since)) {
      throw new UsageError(ErrorCode.InvalidArgument, `not a sequence id: ${String(since)}`);
    }
    const flags = this.registry.flags(ws, topic);
    if (flags !== undefined && (flags & REPLAYING) !== 0) {
      throw new UsageError(ErrorCode.InvalidState, `a replay of "${topic}" is already under way`);
    }
    if (flags === undefined || options !== undefined) this.subscribe(ws, topic, options);
    if (!this.isSubscribed(ws, topic)) return { replayed: 0, complete: false };
    this.registry.setFlags(ws, topic, this.registry.flags(ws, topic)! | REPLAYING);
    let held = this.held.get(ws);
    if (held === undefined) {
      held = new Map();
      this.held.set(ws, held);
    }
    held.set(topic, []);
    let replayed = 0;
    let last = since;
    try {
      const history = await this.adapter.history(topic, since);
      const sequenced = ((this.registry.flags(ws, topic) ?? 0) & SEQUENCED) !== 0;
      for (const message of history.messages) {
        if (compareSeq(message.seq, last) <= 0) continue;
        // Paced by drain: a history larger than maxBackpressure is delivered as the peer reads,
        // not refused by the policy (which is for senders that do not wait).
        await ws._whenWritable();
        if (!this.isSubscribed(ws, topic) || ws.readyState !== MEMBER_OPEN) break;
        ws._deliverPrepared(new PreparedMessage(message), sequenced);
        last = message.seq;
        replayed++;
      }
      return { replayed, complete: history.complete };
    } finally {
      this.release(ws, topic, last);
    }
  }

  /** Ends a replay: the live messages held meanwhile go, those already replayed skipped. */
  private release(ws: S, topic: string, last: string): void {
    const held = this.held.get(ws);
    const waiting = held?.get(topic) ?? [];
    held?.delete(topic);
    if (held?.size === 0) this.held.delete(ws);
    const flags = this.registry.flags(ws, topic);
    if (flags === undefined) return;
    this.registry.setFlags(ws, topic, flags & ~REPLAYING);
    const sequenced = (flags & SEQUENCED) !== 0;
    for (const delivery of waiting) {
      if (compareSeq(delivery.seq, last) <= 0) continue;
      ws._deliverPrepared(new PreparedMessage(delivery), sequenced);
      last = delivery.seq;
    }
  }

  // ---- AdapterSink ----

  deliver(delivery: Delivery): void {
    const subscribers = this.registry.subscribers(delivery.topic);
    if (subscribers === undefined) return;
    const message = new PreparedMessage(delivery);
    const except = delivery.except as Except<S>;
    const window = this.window;
    for (const [ws, flags] of subscribers) {
      if (except !== undefined && (except === ws || (except instanceof Set && except.has(ws)))) {
        continue;
      }
      if ((flags & REPLAYING) !== 0) this.held.get(ws)?.get(delivery.topic)?.push(delivery);
      else ws._deliverPrepared(message, (flags & SEQUENCED) !== 0, window);
    }
  }

  undelivered(report: UndeliveredReport): void {
    this.report(report);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.window?.flush();
    return this.adapter.close();
  }
}

function checkTopic(topic: unknown): void {
  if (typeof topic !== 'string') {
    throw new TypeError(`a topic is a string, not ${typeof topic}`);
  }
}

function exceptOf<S extends TopicMember>(except: S | Iterable<S> | undefined): Except<S> {
  if (except === undefined || isTopicMember(except)) return except;
  return new Set(except);
}
