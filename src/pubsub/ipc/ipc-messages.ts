import type { LogEntry, LogRecord } from '../log-backend.js';

/**
 * The pub/sub messages between a worker (IpcLogBackend) and its primary (IpcLogHub) over the
 * IPC channel of a forked process. Every message of tsws on that channel has a `tsws` field;
 * others are the application's and are left alone.
 */
export type IpcRequest =
  | { tsws: 'ps'; op: 'append'; topic: string; record: LogRecord }
  | { tsws: 'ps'; op: 'read'; id: number; topic: string; after: string }
  | { tsws: 'ps'; op: 'last'; id: number; topic: string }
  | { tsws: 'ps'; op: 'history'; id: number; topic: string; since: string }
  | { tsws: 'ps'; op: 'sub'; id: number; topic: string }
  | { tsws: 'ps'; op: 'unsub'; topic: string };

/** The answer to `history`: the replay window's entries after `since`. */
export interface IpcHistory {
  readonly entries: LogEntry[];
  /** The `prev` of the first entry, or the topic's last id (undefined: no log). */
  readonly firstPrev: string | undefined;
}

export type IpcAnswer =
  | { tsws: 'ps'; op: 'reply'; id: number; value?: unknown; error?: string }
  | { tsws: 'ps'; op: 'entry'; topic: string; entry: LogEntry };

/** A pub/sub message of tsws (else undefined). */
export function pubsubMessage<T>(message: unknown): T | undefined {
  return typeof message === 'object' &&
    message !== null &&
    (message as { tsws?: unknown }).tsws === 'ps'
    ? (message as T)
    : undefined;
}

/**
 * Bytes as they came over the channel: a Buffer with the `advanced` serialization, a
 * Uint8Array or `{ type: 'Buffer', data }` (JSON) otherwise.
 */
export function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  const data = (value as { data?: unknown } | null)?.data;
  return Array.isArray(data) ? Buffer.from(data as number[]) : Buffer.alloc(0);
}

/** Several messages in one: what actually crosses the channel. */
export interface IpcBatch<T> {
  readonly tsws: 'ps';
  readonly op: 'batch';
  readonly items: T[];
}

/** The messages of `message`, a batch or a single one (undefined: not pub/sub). */
export function pubsubItems<T extends IpcRequest | IpcAnswer>(message: unknown): T[] | undefined {
  const item = pubsubMessage<T | IpcBatch<T>>(message);
  if (item === undefined) return undefined;
  return (item as { op: string }).op === 'batch' ? (item as IpcBatch<T>).items : [item as T];
}

/**
 * Messages to one side of a channel, sent together once per turn of the event loop: a send
 * costs a serialization and a system call whatever its size, so a burst of publishes (or
 * their fan-out) crosses as one. Order is kept: everything goes through here.
 */
export class Outbox<T> {
  private items: T[] = [];
  private scheduled = false;

  constructor(private readonly send: (batch: IpcBatch<T>) => void) {}

  push(item: T): void {
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends what is queued now. */
  flush(): void {
    this.scheduled = false;
    const items = this.items;
    if (items.length === 0) return;
    this.items = [];
    this.send({ tsws: 'ps', op: 'batch', items });
  }
}
