import { randomBytes } from 'node:crypto';
import { ErrorCode, UsageError } from '../protocol/errors.js';
import type {
  AdapterSink,
  Delivery,
  History,
  PubSubAdapter,
  PubSubMessage,
  UndeliveredReport,
} from './adapter.js';
import type { LogBackend, LogEntry } from './log-backend.js';
import { FIRST_PREV, replayComplete } from './seq.js';
import { type FeedOutput, TopicFeed } from './topic-feed.js';

export interface LogAdapterOptions {
  /** This process's id in the entries it appends. Default: 8 random bytes in hex. */
  origin?: string;
  /** The largest message (data bytes) published: a larger one fails. Default: no limit. */
  maxMessage?: number;
  /**
   * Data bytes (plus 64 per message) of live messages held per topic while its log is read:
   * beyond it the oldest go (read from the log, or reported as a gap). Default: no limit.
   */
  maxHeld?: number;
  /** Milliseconds before subscribing again after the backend failed. Default 1000. */
  retryMs?: number;
  /** Errors of the backend (each is retried). */
  error?: (error: Error) => void;
  /**
   * With a backend that appends in batches (`appendMany`): the most publishes of one topic
   * appended together (those of one tick, in order). Default 256.
   */
  maxBatch?: number;
  /** The most data bytes of one batch (a larger message goes alone). Default 256 KiB. */
  maxBatchBytes?: number;
}

/** A publish of this tick, not handed to the backend yet. */
interface Pending {
  readonly message: PubSubMessage;
  readonly token: string;
}

interface TopicState {
  readonly feed: TopicFeed<LogEntry>;
  /** The backend's subscription was made (or is being made) in the current generation. */
  subscribed: boolean;
  /** The log after `feed.last` is being read. */
  reading: boolean;
  /** Changes when the backend is lost or the topic left: answers to older requests are ignored. */
  generation: number;
  /**
   * This process's publishes to the topic made before its first subscription was made: they
   * go once it is, so that a subscriber here gets what this process publishes after it
   * subscribed (else the log might be trimmed past them first). Undefined once live.
   */
  waiting: { message: PubSubMessage; except: unknown }[] | undefined;
}

/** An own publish not seen back after this long no longer needs its `except`. */
const OWN_TTL_MS = 60_000;

/**
 * A PubSubAdapter over any log backend (log-backend.ts): one order per topic for every
 * process (the log's), each message delivered once, gaps found and reported.
 *
 * Every publish is delivered when it comes back from the backend, on the publishing process
 * too: that is what makes the order the same everywhere; its origin and token give back its
 * `except` here. Each entry names the one before it, so a process that missed entries (a lost
 * connection, a backend that lost its data) notices, reads them from the log (TopicFeed), and
 * reports what the log no longer has. Answers that come back after the backend was lost or the
 * topic left (an older generation) are ignored. Publishes made while the backend is
 * unavailable fail at once and are reported: nothing is queued for later.
 */
export class LogAdapter implements PubSubAdapter {
  readonly origin: string;
  private readonly maxMessage: number;
  private readonly maxHeld: number;
  private readonly retryMs: number;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly topics = new Map<string, TopicState>();
  /** `except` of this process's publishes in flight, by token. */
  private readonly own = new Map<string, { except: unknown; at: number }>();
  private sink: AdapterSink | undefined;
  private counter = 0;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  /** This tick's publishes per topic, appended together at its end (backend.appendMany). */
  private pending = new Map<string, Pending[]>();
  private flushQueued = false;

  constructor(
    private readonly backend: LogBackend,
    options: LogAdapterOptions = {},
  ) {
    this.origin = options.origin ?? randomBytes(8).toString('hex');
    this.maxMessage = options.maxMessage ?? Number.POSITIVE_INFINITY;
    this.maxHeld = options.maxHeld ?? Number.POSITIVE_INFINITY;
    this.retryMs = options.retryMs ?? 1000;
    this.onError = options.error;
    this.maxBatch = options.maxBatch ?? 256;
    this.maxBatchBytes = options.maxBatchBytes ?? 256 * 1024;
    backend.start({
      entry: (topic, entry) => this.receive(topic, entry),
      ready: () => this.sync(),
      lost: () => this.lost(),
    });
  }

  start(sink: AdapterSink): void {
    if (this.sink !== undefined)
      throw new UsageError(ErrorCode.InvalidState, 'this adapter already serves a server');
    this.sink = sink;
  }

  subscribe(topic: string): void {
    if (this.closed || this.topics.has(topic)) return;
    const state: TopicState = {
      feed: new TopicFeed<LogEntry>(this.maxHeld, (entry) => entry.data.length + 64),
      subscribed: false,
      reading: false,
      generation: 0,
      waiting: [],
    };
    this.topics.set(topic, state);
    if (this.backend.isReady) void this.establish(topic, state);
  }

  unsubscribe(topic: string): void {
    const state = this.topics.get(topic);
    if (state === undefined) return;
    this.topics.delete(topic);
    state.generation++;
    this.flushWaiting(state);
    if (state.subscribed) this.backend.unsubscribe(topic);
  }

  publish(message: PubSubMessage, except: unknown): boolean {
    if (this.closed) return false;
    const error =
      message.data.length > this.maxMessage
        ? new Error(
            `message of ${message.data.length} bytes over the adapter's maxMessage (${this.maxMessage})`,
          )
        : this.backend.unavailable();
    if (error !== undefined) {
      process.nextTick(() => this.failed(message, error));
      return false;
    }
    const waiting = this.topics.get(message.topic)?.waiting;
    if (waiting !== undefined) waiting.push({ message, except });
    else this.append(message, except);
    return true;
  }

  async history(topic: string, since: string): Promise<History> {
    const entries = await this.backend.read(topic, since);
    const firstPrev = entries[0]?.prev ?? (await this.backend.last(topic));
    return {
      messages: entries.map((entry) => this.delivery(topic, entry, false)),
      complete: replayComplete(since, firstPrev),
    };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // This tick's publishes go before the backend closes (as they would have one by one).
    this.flushPending();
    this.closed = true;
    this.topics.clear();
    this.own.clear();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    return this.backend.close();
  }

  // ---- publishing ----

  private append(message: PubSubMessage, except: unknown): void {
    const token = String(++this.counter);
    if (except !== undefined) this.rememberOwn(token, except);
    if (this.backend.appendMany === undefined) {
      this.appendOne(message, token);
      return;
    }
    // Publishes of one tick go together (one round trip, one fan-out message): the order per
    // topic is kept, as each topic's batches are handed to the backend in publish order.
    const list = this.pending.get(message.topic);
    if (list === undefined) this.pending.set(message.topic, [{ message, token }]);
    else list.push({ message, token });
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(flushTick, this);
    }
  }

  private appendOne(message: PubSubMessage, token: string): void {
    const { topic, data, binary, compress } = message;
    this.backend
      .append(topic, { origin: this.origin, token, binary, compress, data })
      .catch((error: Error) => {
        this.own.delete(token);
        // The backend may have appended it before the failure: not confirmed.
        this.failed(message, error);
      });
  }

  /** @internal The tick's publishes go: per topic, in batches of maxBatch / maxBatchBytes. */
  flushPending(): void {
    this.flushQueued = false;
    if (this.pending.size === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    for (const [topic, list] of pending) {
      let i = 0;
      while (i < list.length) {
        let end = i + 1;
        let bytes = list[i]!.message.data.length;
        while (end < list.length && end - i < this.maxBatch) {
          bytes += list[end]!.message.data.length;
          if (bytes > this.maxBatchBytes) break;
          end++;
        }
        if (end - i === 1) this.appendOne(list[i]!.message, list[i]!.token);
        else this.appendBatch(topic, list.slice(i, end));
        i = end;
      }
    }
  }

  private appendBatch(topic: string, batch: Pending[]): void {
    const records = batch.map(({ message, token }) => ({
      origin: this.origin,
      token,
      binary: message.binary,
      compress: message.compress,
      data: message.data,
    }));
    this.backend.appendMany!(topic, records).catch((error: Error) => {
      // All or none, unknown which: each is reported (none is sent again).
      for (const { message, token } of batch) {
        this.own.delete(token);
        this.failed(message, error);
      }
    });
  }

  /** The topic is live: publishes that waited for it go, in order. */
  private flushWaiting(state: TopicState): void {
    const waiting = state.waiting;
    state.waiting = undefined;
    if (waiting === undefined) return;
    for (const { message, except } of waiting) {
      const error = this.closed ? new Error('the adapter is closed') : this.backend.unavailable();
      if (error === undefined) this.append(message, except);
      else this.failed(message, error);
    }
  }

  private rememberOwn(token: string, except: unknown): void {
    const now = Date.now();
    this.own.set(token, { except, at: now });
    // Tokens of publishes never seen back (a topic nobody here subscribes to) age out.
    if (this.own.size > 1000) {
      for (const [key, value] of this.own) {
        if (now - value.at < OWN_TTL_MS) break;
        this.own.delete(key);
      }
    }
  }

  // ---- subscriptions ----

  /** Subscribes (again) every topic not subscribed in the current generation, and catches up. */
  private sync(): void {
    if (this.closed || !this.backend.isReady) return;
    for (const [topic, state] of this.topics) {
      if (!state.subscribed) void this.establish(topic, state);
    }
  }

  private lost(): void {
    if (this.closed) return;
    for (const state of this.topics.values()) {
      state.generation++;
      state.subscribed = false;
      state.reading = false;
      state.feed.resync();
    }
  }

  /**
   * Subscribes to a topic: the first time, the topic's last id is read first (the starting
   * point); then the log after the starting point is read, for what was published meanwhile
   * (or while the backend was lost).
   */
  private async establish(topic: string, state: TopicState): Promise<void> {
    const generation = ++state.generation;
    state.subscribed = true;
    try {
      if (state.feed.last === undefined) {
        const last = await this.backend.last(topic);
        if (this.stale(topic, state, generation)) return;
        state.feed.last = last ?? FIRST_PREV;
      }
      await this.backend.subscribe(topic);
      if (this.stale(topic, state, generation)) return;
    } catch (error) {
      if (this.stale(topic, state, generation)) return;
      state.subscribed = false;
      // The backend is unreachable: what waited cannot go (the next ones will wait again).
      const waiting = state.waiting;
      if (waiting !== undefined && waiting.length > 0) {
        state.waiting = [];
        for (const { message } of waiting) this.failed(message, error as Error);
      }
      this.retryLater(error as Error);
      return;
    }
    // The log is read before this process's waiting publishes go (a shorter read).
    const caughtUp = this.catchUp(topic, state);
    this.flushWaiting(state);
    await caughtUp;
  }

  /** Reads the log after the last message delivered, and delivers it before what was held. */
  private async catchUp(topic: string, state: TopicState): Promise<void> {
    const generation = state.generation;
    state.reading = true;
    let entries: LogEntry[];
    try {
      entries = await this.backend.read(topic, state.feed.last!);
    } catch (error) {
      if (this.stale(topic, state, generation)) return;
      state.reading = false;
      state.subscribed = false;
      this.retryLater(error as Error);
      return;
    }
    if (this.stale(topic, state, generation)) return;
    state.reading = false;
    const out: FeedOutput<LogEntry> = { deliver: [], gaps: [] };
    state.feed.synced(entries, out);
    this.emitOut(topic, out);
  }

  private stale(topic: string, state: TopicState, generation: number): boolean {
    return this.closed || this.topics.get(topic) !== state || state.generation !== generation;
  }

  private retryLater(error: Error): void {
    this.onError?.(error);
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.sync();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  // ---- messages ----

  /** A live entry from the backend. */
  private receive(topic: string, entry: LogEntry): void {
    if (this.closed) return;
    const state = this.topics.get(topic);
    if (state === undefined) return;
    const out: FeedOutput<LogEntry> = { deliver: [], gaps: [] };
    if (state.feed.receive(entry, out) && !state.reading) void this.catchUp(topic, state);
    this.emitOut(topic, out);
  }

  private emitOut(topic: string, out: FeedOutput<LogEntry>): void {
    const sink = this.sink;
    if (sink === undefined) return;
    for (const gap of out.gaps) {
      sink.undelivered({ reason: 'gap', topic, after: gap.after, before: gap.before });
    }
    for (const entry of out.deliver) sink.deliver(this.delivery(topic, entry, true));
  }

  private delivery(topic: string, entry: LogEntry, live: boolean): Delivery {
    let except: unknown;
    if (live && entry.origin === this.origin) {
      except = this.own.get(entry.token)?.except;
      this.own.delete(entry.token);
    }
    const { data, binary, compress, seq, prev } = entry;
    return { topic, data, binary, compress, seq, prev, except };
  }

  private failed(message: PubSubMessage, error: Error): void {
    const report: UndeliveredReport = {
      reason: 'publish-failed',
      topic: message.topic,
      message,
      error,
    };
    this.sink?.undelivered(report);
  }
}

function flushTick(adapter: LogAdapter): void {
  adapter.flushPending();
}
