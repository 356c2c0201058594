import type { LogEntry, LogRecord } from '../log-backend.js';
import { compareSeq, FIRST_PREV } from '../seq.js';
import {
  asBuffer,
  type IpcAnswer,
  type IpcBatch,
  type IpcHistory,
  type IpcRequest,
  Outbox,
  pubsubItems,
} from './ipc-messages.js';

export interface IpcLogHubOptions {
  /** Messages kept per topic for `replay` (0: none). Default 0. */
  history?: number;
  /** Payload bytes kept per topic for `replay`. Default: no limit but `history`. */
  historyBytes?: number;
  /** How long (ms) a topic without subscribers keeps its history after its last publish. Default 10 minutes. */
  historyTtl?: number;
  /** The clock (tests). Default `Date.now`. */
  now?: () => number;
}

/** Sends a message to one worker (a throw: that worker is gone). */
export type WorkerSend = (message: IpcBatch<IpcAnswer>) => unknown;

interface HubLog {
  readonly epoch: number;
  n: number;
  last: string;
  /** Workers subscribed to the topic. */
  readonly subscribers: Set<number>;
  /** Retained entries, oldest first. */
  entries: LogEntry[];
  bytes: number;
  at: number;
}

/**
 * Entries kept per topic even without `history`: a worker that subscribes reads the topic's
 * last id, then subscribes, then reads the log after that id; what was published in between
 * comes from here, so a first subscription reports no gap.
 */
const CATCH_UP_TAIL = 64;
const SWEEP_INTERVAL = 1000;

/**
 * The primary's side of pub/sub between workers: one log per topic (sequence ids
 * `<created>-<n>` as the local adapter's), appended in the order publishes reach the primary
 * and fanned out to every worker subscribed, the publisher too. Each worker's IpcLogBackend
 * sees it as a LogBackend, under a LogAdapter (WorkerAdapter): one order per topic in every
 * worker, each message once, replay from the retained history. No external service.
 */
export class IpcLogHub {
  private readonly logs = new Map<string, HubLog>();
  private readonly workers = new Map<number, Outbox<IpcAnswer>>();
  private readonly history: number;
  private readonly historyBytes: number;
  private readonly ttl: number;
  private readonly now: () => number;
  private lastEpoch = 0;
  private lastSweep = 0;

  constructor(options: IpcLogHubOptions = {}) {
    this.history = options.history ?? 0;
    this.historyBytes = options.historyBytes ?? Number.POSITIVE_INFINITY;
    this.ttl = options.historyTtl ?? 10 * 60 * 1000;
    this.now = options.now ?? Date.now;
    if (!(Number.isInteger(this.history) && this.history >= 0)) {
      throw new TypeError('history must be an integer >= 0');
    }
  }

  /** A worker joined: `send` reaches it. */
  attach(worker: number, send: WorkerSend): void {
    this.workers.set(
      worker,
      new Outbox<IpcAnswer>((batch) => {
        try {
          send(batch);
        } catch {
          // The worker is going: its exit detaches it.
        }
      }),
    );
  }

  /** A worker left: its subscriptions go. */
  detach(worker: number): void {
    this.workers.delete(worker);
    for (const [topic, log] of this.logs) {
      if (log.subscribers.delete(worker)) this.dropIfIdle(topic, log);
    }
  }

  /** Handles a message from `worker`; false when it is not a pub/sub message of tsws. */
  receive(worker: number, message: unknown): boolean {
    const requests = pubsubItems<IpcRequest>(message);
    if (requests === undefined) return false;
    // A worker detached (it exited) may still have messages on their way: they are dropped.
    if (!this.workers.has(worker)) return true;
    for (const request of requests) this.handle(worker, request);
    return true;
  }

  private handle(worker: number, request: IpcRequest): void {
    switch (request.op) {
      case 'append':
        // Not answered: the entry itself comes back to a subscribed publisher.
        this.append(request.topic, request.record);
        break;
      case 'read':
        this.reply(worker, request.id, this.read(request.topic, request.after));
        break;
      case 'history':
        this.reply(worker, request.id, this.replay(request.topic, request.since));
        break;
      case 'last':
        this.reply(worker, request.id, this.logs.get(request.topic)?.last);
        break;
      case 'sub':
        this.log(request.topic).subscribers.add(worker);
        this.reply(worker, request.id, undefined);
        break;
      case 'unsub': {
        const log = this.logs.get(request.topic);
        if (log?.subscribers.delete(worker)) this.dropIfIdle(request.topic, log);
        break;
      }
    }
  }

  /** Topics with a log (tests, metrics). */
  get topics(): number {
    return this.logs.size;
  }

  private append(topic: string, record: LogRecord): void {
    this.sweep();
    const log = this.log(topic);
    const seq = `${log.epoch}-${++log.n}`;
    const entry: LogEntry = {
      seq,
      prev: log.last,
      origin: record.origin,
      token: record.token,
      binary: record.binary,
      compress: record.compress,
      data: asBuffer(record.data),
    };
    log.last = seq;
    log.at = this.now();
    this.retain(log, entry);
    const message: IpcAnswer = { tsws: 'ps', op: 'entry', topic, entry };
    for (const worker of log.subscribers) this.send(worker, message);
    this.dropIfIdle(topic, log);
  }

  private read(topic: string, after: string): LogEntry[] {
    const log = this.logs.get(topic);
    if (log === undefined) return [];
    return log.entries.filter((entry) => compareSeq(entry.seq, after) > 0);
  }

  /** What `replay` may give: the last `history` entries kept (the tail beyond is catch-up only). */
  private replay(topic: string, since: string): IpcHistory {
    const log = this.logs.get(topic);
    if (log === undefined) return { entries: [], firstPrev: undefined };
    const window = this.history === 0 ? [] : log.entries.slice(-this.history);
    const entries = window.filter((entry) => compareSeq(entry.seq, since) > 0);
    return { entries, firstPrev: entries[0]?.prev ?? log.last };
  }

  private log(topic: string): HubLog {
    let log = this.logs.get(topic);
    if (log === undefined) {
      this.lastEpoch = Math.max(this.now(), this.lastEpoch + 1);
      log = {
        epoch: this.lastEpoch,
        n: 0,
        last: FIRST_PREV,
        subscribers: new Set(),
        entries: [],
        bytes: 0,
        at: this.now(),
      };
      this.logs.set(topic, log);
    }
    return log;
  }

  private retain(log: HubLog, entry: LogEntry): void {
    log.entries.push(entry);
    log.bytes += entry.data.length;
    const keep = Math.max(this.history, CATCH_UP_TAIL);
    let drop = 0;
    while (
      log.entries.length - drop > keep ||
      (log.bytes > this.historyBytes && drop < log.entries.length)
    ) {
      log.bytes -= log.entries[drop]!.data.length;
      drop++;
    }
    if (drop > 0) log.entries.splice(0, drop);
  }

  /** A topic nobody subscribes to keeps its log only for its history. */
  private dropIfIdle(topic: string, log: HubLog): void {
    if (log.subscribers.size === 0 && this.history === 0) this.logs.delete(topic);
  }

  private sweep(): void {
    if (this.history === 0) return;
    const now = this.now();
    if (now - this.lastSweep < SWEEP_INTERVAL) return;
    this.lastSweep = now;
    for (const [topic, log] of this.logs) {
      if (log.subscribers.size === 0 && now - log.at >= this.ttl) this.logs.delete(topic);
    }
  }

  private reply(worker: number, id: number, value: unknown): void {
    this.send(worker, { tsws: 'ps', op: 'reply', id, value });
  }

  private send(worker: number, message: IpcAnswer): void {
    this.workers.get(worker)?.push(message);
  }
}
