import { ErrorCode, UsageError } from '../../protocol/errors.js';
import type { LogBackend, LogEntry, LogFeed, LogRecord } from '../log-backend.js';
import {
  asBuffer,
  type IpcAnswer,
  type IpcHistory,
  type IpcRequest,
  Outbox,
  pubsubItems,
} from './ipc-messages.js';

/** The IPC channel to the primary: `process` in a forked worker. */
export interface IpcChannel {
  send?: ((message: unknown) => unknown) | undefined;
  readonly connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/**
 * A worker's LogBackend: the topic logs are the primary's (IpcLogHub), reached over the IPC
 * channel. The channel keeps order, so entries come in the order the primary appended them.
 * While the adapter is open it listens on the channel (which keeps the process alive); its
 * close lets the process end.
 */
export class IpcLogBackend implements LogBackend {
  private feed: LogFeed | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  private readonly onMessage = (message: unknown) => this.receive(message);
  private readonly outbox = new Outbox<IpcRequest>((batch) => {
    if (this.channel.connected === false) return;
    try {
      this.channel.send!(batch);
    } catch {
      this.lost();
    }
  });

  constructor(private readonly channel: IpcChannel) {
    if (typeof channel.send !== 'function') {
      throw new UsageError(
        ErrorCode.InvalidState,
        'no IPC channel: WorkerAdapter runs in a worker started by WorkerPool',
      );
    }
  }

  start(feed: LogFeed): void {
    this.feed = feed;
    this.channel.on('message', this.onMessage);
  }

  get isReady(): boolean {
    return !this.closed && this.channel.connected !== false;
  }

  unavailable(): Error | undefined {
    if (this.closed) return new Error('the adapter is closed');
    return this.channel.connected === false ? new Error('the primary is gone') : undefined;
  }

  /**
   * Sends the append and resolves at once, with no id: the primary does not answer appends (a
   * third of its messages), as the channel keeps order and cannot lose one without being cut,
   * which ends the worker; LogAdapter only needs a failure, and that is told at once.
   */
  append(topic: string, record: LogRecord): Promise<string> {
    const error = this.unavailable();
    if (error !== undefined) return Promise.reject(error);
    this.post({ tsws: 'ps', op: 'append', topic, record });
    return Promise.resolve('');
  }

  async read(topic: string, after: string): Promise<LogEntry[]> {
    const entries = (await this.request({ tsws: 'ps', op: 'read', id: 0, topic, after })) as
      | LogEntry[]
      | undefined;
    return (entries ?? []).map(entryOf);
  }

  /** The replay window's entries after `since` (the primary keeps a longer tail for catch-up). */
  async replay(topic: string, since: string): Promise<IpcHistory> {
    const answer = (await this.request({ tsws: 'ps', op: 'history', id: 0, topic, since })) as
      | IpcHistory
      | undefined;
    return { entries: (answer?.entries ?? []).map(entryOf), firstPrev: answer?.firstPrev };
  }

  last(topic: string): Promise<string | undefined> {
    return this.request({ tsws: 'ps', op: 'last', id: 0, topic }) as Promise<string | undefined>;
  }

  async subscribe(topic: string): Promise<void> {
    await this.request({ tsws: 'ps', op: 'sub', id: 0, topic });
  }

  unsubscribe(topic: string): void {
    this.post({ tsws: 'ps', op: 'unsub', topic });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // What is queued (an unsubscribe) still goes.
    this.outbox.flush();
    this.closed = true;
    this.channel.off('message', this.onMessage);
    const error = new Error('the adapter is closed');
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    return Promise.resolve();
  }

  private request(
    message: Exclude<IpcRequest, { op: 'unsub' } | { op: 'append' }> & { id: number },
  ): Promise<unknown> {
    const error = this.unavailable();
    if (error !== undefined) return Promise.reject(error);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.post({ ...message, id } as IpcRequest)) {
        this.pending.delete(id);
        reject(new Error('the primary is gone'));
      }
    });
  }

  private post(message: IpcRequest): boolean {
    if (this.closed || this.channel.connected === false) return false;
    this.outbox.push(message);
    return true;
  }

  private receive(message: unknown): void {
    const answers = pubsubItems<IpcAnswer>(message);
    if (answers === undefined) return;
    for (const answer of answers) {
      if (this.closed) return;
      if (answer.op === 'entry') {
        this.feed?.entry(answer.topic, entryOf(answer.entry));
        continue;
      }
      const pending = this.pending.get(answer.id);
      if (pending === undefined) continue;
      this.pending.delete(answer.id);
      if (answer.error !== undefined) pending.reject(new Error(answer.error));
      else pending.resolve(answer.value);
    }
  }

  private lost(): void {
    const error = new Error('the primary is gone');
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.feed?.lost();
  }
}

function entryOf(entry: LogEntry): LogEntry {
  return Buffer.isBuffer(entry.data) ? entry : { ...entry, data: asBuffer(entry.data) };
}
