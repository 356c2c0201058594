import { ErrorCode, UsageError } from '../protocol/errors.js';
import type { AdapterSink, Delivery, History, PubSubAdapter, PubSubMessage } from './adapter.js';
import { compareSeq, FIRST_PREV, replayComplete } from './seq.js';

export interface LocalAdapterOptions {
  /** Messages kept per topic for `replay` (0: none). Default 0. */
  history?: number;
  /**
   * Payload bytes kept per topic for `replay`: the oldest messages go first beyond it (a
   * message larger than this is not kept). Default: no limit but `history`.
   */
  historyBytes?: number;
  /**
   * Topics whose history is kept: beyond it, a new topic's log replaces the one idle (without
   * subscribers) the longest; with none idle, the new topic keeps no history. Default: no limit.
   */
  maxTopics?: number;
  /**
   * How long, in milliseconds, a topic without subscribers keeps its history after its last
   * publish. Default 10 minutes.
   */
  historyTtl?: number;
  /** The clock (tests). Default `Date.now`. */
  now?: () => number;
}

/** One topic's sequence and retained messages. */
interface TopicLog {
  /** The `<ms>` part of this log's ids: when it was created (later logs get later ones). */
  readonly epoch: number;
  n: number;
  last: string;
  subscribed: boolean;
  /** Retained messages, oldest first from `head`. */
  ring: Delivery[];
  head: number;
  /** Payload bytes retained. */
  bytes: number;
  at: number;
}

const SWEEP_INTERVAL = 1000;

/**
 * The in-process broker, the default adapter: a publish is delivered at once, synchronously,
 * to this process's subscribers. Sequence ids are `<created>-<n>`: a topic's log is created at
 * its first publish (or subscriber) and numbers its messages from 1; a later log of the same
 * topic (after it went idle and was dropped) starts at a later `<created>`, so ids only grow.
 * With `history`, the last messages of each topic are kept for `replay`.
 */
export class LocalAdapter implements PubSubAdapter {
  private readonly logs = new Map<string, TopicLog>();
  private readonly historySize: number;
  private readonly historyBytes: number;
  private readonly maxTopics: number;
  private readonly ttl: number;
  private readonly now: () => number;
  private sink: AdapterSink | undefined;
  private lastEpoch = 0;
  private lastSweep = 0;

  constructor(options: LocalAdapterOptions = {}) {
    this.historySize = count('history', options.history ?? 0);
    this.historyBytes = limit('historyBytes', options.historyBytes);
    this.maxTopics = limit('maxTopics', options.maxTopics);
    this.ttl = count('historyTtl', options.historyTtl ?? 10 * 60 * 1000);
    this.now = options.now ?? Date.now;
  }

  start(sink: AdapterSink): void {
    if (this.sink !== undefined)
      throw new UsageError(ErrorCode.InvalidState, 'this adapter already serves a server');
    this.sink = sink;
  }

  subscribe(topic: string): void {
    this.log(topic).subscribed = true;
  }

  unsubscribe(topic: string): void {
    const log = this.logs.get(topic);
    if (log === undefined) return;
    log.subscribed = false;
    if (log.ring.length === log.head) this.logs.delete(topic);
  }

  publish(message: PubSubMessage, except: unknown): boolean {
    this.sweep();
    const log = this.logs.get(message.topic);
    // Nobody here and nothing kept (or no room for another topic's log): it goes nowhere.
    if (log === undefined && (this.historySize === 0 || !this.roomForTopic())) return false;
    const topicLog = log ?? this.log(message.topic);
    const seq = `${topicLog.epoch}-${++topicLog.n}`;
    const delivery: Delivery = {
      topic: message.topic,
      data: message.data,
      binary: message.binary,
      compress: message.compress,
      seq,
      prev: topicLog.last,
      except,
    };
    topicLog.last = seq;
    topicLog.at = this.now();
    if (this.historySize > 0) this.retain(topicLog, { ...delivery, except: undefined });
    if (!topicLog.subscribed) return false;
    this.sink?.deliver(delivery);
    return true;
  }

  history(topic: string, since: string): Promise<History> {
    const log = this.logs.get(topic);
    if (log === undefined) return Promise.resolve({ messages: [], complete: true });
    const messages: Delivery[] = [];
    const { ring, head } = log;
    for (let i = head; i < ring.length; i++) {
      const message = ring[i]!;
      if (compareSeq(message.seq, since) > 0) messages.push(message);
    }
    const complete = replayComplete(since, messages[0]?.prev ?? log.last);
    return Promise.resolve({ messages, complete });
  }

  close(): Promise<void> {
    this.logs.clear();
    this.sink = undefined;
    return Promise.resolve();
  }

  private log(topic: string): TopicLog {
    let log = this.logs.get(topic);
    if (log === undefined) {
      this.roomForTopic();
      this.lastEpoch = Math.max(this.now(), this.lastEpoch + 1);
      log = {
        epoch: this.lastEpoch,
        n: 0,
        last: FIRST_PREV,
        subscribed: false,
        ring: [],
        head: 0,
        bytes: 0,
        at: this.now(),
      };
      this.logs.set(topic, log);
    }
    return log;
  }

  private retain(log: TopicLog, message: Delivery): void {
    // Over the topic budget (maxTopics with none idle to evict): no history for this topic.
    if (this.logs.size > this.maxTopics) return;
    log.ring.push(message);
    log.bytes += message.data.length;
    while (
      log.ring.length - log.head > this.historySize ||
      (log.bytes > this.historyBytes && log.head < log.ring.length)
    ) {
      log.bytes -= log.ring[log.head]!.data.length;
      log.ring[log.head++] = undefined as unknown as Delivery;
    }
    // Compacts now and then: the dropped slots are released.
    if (log.head > 64 && log.head * 2 >= log.ring.length) {
      log.ring = log.ring.slice(log.head);
      log.head = 0;
    }
  }

  /** Makes room for a new topic's log (drops the one idle the longest); false if none is idle. */
  private roomForTopic(): boolean {
    if (this.logs.size < this.maxTopics) return true;
    let oldest: [string, TopicLog] | undefined;
    for (const entry of this.logs) {
      if (!entry[1].subscribed && (oldest === undefined || entry[1].at < oldest[1].at)) {
        oldest = entry;
      }
    }
    if (oldest === undefined) return false;
    this.logs.delete(oldest[0]);
    return true;
  }

  /** Drops the history of topics idle for `historyTtl` (at most once a second, on a publish). */
  private sweep(): void {
    if (this.historySize === 0) return;
    const now = this.now();
    if (now - this.lastSweep < SWEEP_INTERVAL) return;
    this.lastSweep = now;
    for (const [topic, log] of this.logs) {
      if (!log.subscribed && now - log.at >= this.ttl) this.logs.delete(topic);
    }
  }
}

function limit(name: string, value: number | undefined): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value > 0))) {
    throw new TypeError(`${name} must be a positive integer`);
  }
  return value;
}

function count(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 0)) {
    throw new TypeError(`${name} must be an integer >= 0`);
  }
  return value;
}
