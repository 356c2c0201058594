import type {
  AdapterSink,
  Delivery,
  LogBackend,
  LogEntry,
  LogFeed,
  LogRecord,
  UndeliveredReport,
} from '../../src/pubsub/index.js';

interface TopicLog {
  entries: LogEntry[];
  last: string;
  n: number;
}

/**
 * An in-memory backplane for LogAdapter tests: topic logs (trimmed to `window` entries) shared
 * by several MemoryLog "processes". Every answer and every fanned-out entry arrives later (a
 * macrotask or a microtask), so live entries, log reads and subscriptions race as they do over
 * a network; a process can be cut off (its subscriptions and in-flight answers are lost), miss
 * a live entry, and the store can lose everything (a restart without persistence).
 */
export class MemoryLogStore {
  readonly logs = new Map<string, TopicLog>();
  /** Every entry ever appended, per topic (the truth to check deliveries against). */
  readonly journal = new Map<string, LogEntry[]>();
  readonly members = new Set<MemoryLog>();
  /** Operations not answered yet. */
  pending = 0;
  private epoch = 1;

  constructor(readonly window = Number.POSITIVE_INFINITY) {}

  append(topic: string, record: LogRecord): LogEntry {
    let log = this.logs.get(topic);
    if (log === undefined) {
      log = { entries: [], last: '0-0', n: 0 };
      this.logs.set(topic, log);
    }
    const entry: LogEntry = { ...record, seq: `${this.epoch}-${++log.n}`, prev: log.last };
    log.last = entry.seq;
    log.entries.push(entry);
    if (log.entries.length > this.window) log.entries.shift();
    const journal = this.journal.get(topic) ?? [];
    journal.push(entry);
    this.journal.set(topic, journal);
    return entry;
  }

  read(topic: string, after: string): LogEntry[] {
    const [am, an] = after.split('-').map(Number) as [number, number];
    return (this.logs.get(topic)?.entries ?? []).filter((e) => {
      const [m, n] = e.seq.split('-').map(Number) as [number, number];
      return m > am || (m === am && n > an);
    });
  }

  /** Loses every log (a restart without persistence): new ids start at a later epoch. */
  wipe(): void {
    this.logs.clear();
    this.epoch++;
  }
}

export class MemoryLog implements LogBackend {
  connected = true;
  /** Live entries to drop on the way to this process (missed fan-out, connection intact). */
  dropLive = 0;
  /** Appends to fail (rejected after the store took them: outcome unknown). */
  failAppends = 0;
  private feed: LogFeed | undefined;
  private readonly subs = new Set<string>();
  /** Changes when the connection is cut: answers and entries of an older one are lost. */
  private conn = 0;

  constructor(readonly store: MemoryLogStore) {
    store.members.add(this);
  }

  start(feed: LogFeed): void {
    this.feed = feed;
  }

  get isReady(): boolean {
    return this.connected;
  }

  unavailable(): Error | undefined {
    return this.connected ? undefined : new Error('memory log: disconnected');
  }

  append(topic: string, record: LogRecord): Promise<string> {
    return this.answer(() => {
      const entry = this.store.append(topic, record);
      for (const member of this.store.members) member.fanOut(topic, entry);
      if (this.failAppends > 0) {
        this.failAppends--;
        throw new Error('memory log: append not confirmed');
      }
      return entry.seq;
    });
  }

  read(topic: string, after: string): Promise<LogEntry[]> {
    return this.answer(() => this.store.read(topic, after));
  }

  last(topic: string): Promise<string | undefined> {
    return this.answer(() => this.store.logs.get(topic)?.last);
  }

  subscribe(topic: string): Promise<void> {
    return this.answer(() => {
      this.subs.add(topic);
    });
  }

  unsubscribe(topic: string): void {
    this.subs.delete(topic);
  }

  close(): Promise<void> {
    this.connected = false;
    this.conn++;
    this.subs.clear();
    this.store.members.delete(this);
    return Promise.resolve();
  }

  /** The connection is cut: subscriptions, entries on the way and pending answers are lost. */
  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.conn++;
    this.subs.clear();
    this.feed?.lost();
  }

  reconnect(): void {
    if (this.connected) return;
    this.connected = true;
    this.feed?.ready();
  }

  /** @internal An entry reaches this process's feed (if subscribed and connected). */
  fanOut(topic: string, entry: LogEntry): void {
    if (!this.connected || !this.subs.has(topic)) return;
    if (this.dropLive > 0) {
      this.dropLive--;
      return;
    }
    const conn = this.conn;
    this.store.pending++;
    queueMicrotask(() => {
      this.store.pending--;
      if (this.conn === conn) this.feed?.entry(topic, entry);
    });
  }

  /** Runs `operation` at the "server" a macrotask later, on this connection only. */
  protected answer<T>(operation: () => T): Promise<T> {
    if (!this.connected) return Promise.reject(new Error('memory log: disconnected'));
    const conn = this.conn;
    this.store.pending++;
    return new Promise<T>((resolve, reject) => {
      setImmediate(() => {
        this.store.pending--;
        if (this.conn !== conn) reject(new Error('memory log: connection lost'));
        else {
          try {
            resolve(operation());
          } catch (error) {
            reject(error);
          }
        }
      });
    });
  }
}

/**
 * A MemoryLog that appends in batches (LogBackend.appendMany): each batch is one answer, all
 * or none. It records the size of every batch, and can fail batches (the connection is cut
 * before the store got them, or after: outcome unknown).
 */
export class BatchMemoryLog extends MemoryLog {
  /** Sizes of the batches appended, in order. */
  readonly batches: number[] = [];
  /** Batches to refuse: the store never gets them. */
  refuseBatches = 0;
  /** Batches to fail after the store took them (and fanned them out). */
  failBatches = 0;
  /** Cut the connection when this many more batches were answered (after the last one). */
  cutAfterBatches = Number.POSITIVE_INFINITY;

  appendMany(topic: string, records: readonly LogRecord[]): Promise<string> {
    return this.answer(() => {
      if (this.refuseBatches > 0) {
        this.refuseBatches--;
        throw new Error('memory log: batch refused');
      }
      this.batches.push(records.length);
      const entries = records.map((record) => this.store.append(topic, record));
      for (const member of this.store.members) {
        for (const entry of entries) member.fanOut(topic, entry);
      }
      if (--this.cutAfterBatches === 0) queueMicrotask(() => this.disconnect());
      if (this.failBatches > 0) {
        this.failBatches--;
        throw new Error('memory log: batch not confirmed');
      }
      return entries[entries.length - 1]!.seq;
    });
  }
}

/** A sink that records what an adapter hands it. */
export class RecordingSink implements AdapterSink {
  readonly delivered: Delivery[] = [];
  readonly reports: UndeliveredReport[] = [];

  deliver(delivery: Delivery): void {
    this.delivered.push(delivery);
  }

  undelivered(report: UndeliveredReport): void {
    this.reports.push(report);
  }

  /** Data (as text) delivered on `topic`, in order. */
  texts(topic: string): string[] {
    return this.delivered.filter((d) => d.topic === topic).map((d) => d.data.toString());
  }
}

/** Waits until nothing is in flight in `store` and timers due meanwhile (retries) ran. */
export async function settle(store: MemoryLogStore): Promise<void> {
  for (let quiet = 0; quiet < 5; ) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    quiet = store.pending === 0 ? quiet + 1 : 0;
  }
}
