/**
 * A backplane that keeps each topic's messages in an ordered log and fans new entries out to
 * every process: what LogAdapter (log-adapter.ts) needs of it. Redis streams + channels
 * (redis/redis-log.ts) are one; a NATS JetStream subject, or a PostgreSQL table with
 * LISTEN/NOTIFY, would be another.
 */

/** An entry of a topic's log. */
export interface LogEntry {
  /** Its id in the topic (pubsub/seq.ts): greater than every earlier one. */
  readonly seq: string;
  /** The id of the entry before it in the log (`0-0` for the first of a log). */
  readonly prev: string;
  /** The process that appended it, and its number there (own publishes are told by them). */
  readonly origin: string;
  readonly token: string;
  readonly binary: boolean;
  readonly compress: boolean;
  readonly data: Buffer;
}

/** What an append writes: the backend gives it its `seq` and `prev`. */
export type LogRecord = Omit<LogEntry, 'seq' | 'prev'>;

/** Where a backend reports: live entries and the state of its connection. */
export interface LogFeed {
  /** A new entry of a subscribed topic, as fanned out (this process's appends too). */
  entry(topic: string, entry: LogEntry): void;
  /** The backend can be used (again): subscriptions are made again and logs read. */
  ready(): void;
  /** The live feed was cut: entries may have been missed and every subscription is gone. */
  lost(): void;
}

export interface LogBackend {
  /** Called once, by the adapter, before anything else. */
  start(feed: LogFeed): void;
  /** Whether `subscribe`, `read` and `last` may be tried now. */
  readonly isReady: boolean;
  /** Why an append cannot be made now (the adapter fails it at once), or undefined. */
  unavailable(): Error | undefined;
  /**
   * Appends to the topic's log, as one atomic step: the entry gets the next id and the log's
   * last id as `prev` (`0-0` when the log is new or was lost), the log is trimmed to the
   * backend's window (oldest first), and the entry is fanned out to the topic's subscribers.
   * Resolves with its id; a rejection means the outcome is unknown.
   */
  append(topic: string, record: LogRecord): Promise<string>;
  /**
   * Optional: appends several records to one topic's log, in order, as `append` would one
   * after the other, but as one atomic step (all or none) and one round trip; the backend may
   * fan them out as one message. Resolves with the last one's id (the others' come with the
   * fan-out); a rejection means the outcome of every one is unknown. Without it the adapter
   * calls `append` for each.
   */
  appendMany?(topic: string, records: readonly LogRecord[]): Promise<string>;
  /** The entries still kept after `after`, oldest first. */
  read(topic: string, after: string): Promise<LogEntry[]>;
  /** The id of the topic's last entry; undefined when the topic has no log. */
  last(topic: string): Promise<string | undefined>;
  /** Resolves once new entries of `topic` reach `feed.entry`. */
  subscribe(topic: string): Promise<void>;
  /** New entries of `topic` are not needed any more (best effort). */
  unsubscribe(topic: string): void;
  close(): Promise<void>;
}
