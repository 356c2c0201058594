import type { PerMessageDeflate } from '../../extensions/index.js';
import { ErrorCode, WebSocketError } from '../../protocol/index.js';
import type { SharedFrame } from '../../pubsub/prepared-message.js';

export type Callback = (error?: Error | null) => void;

/** A message or a fragment of one (the outbox's `send`, or a publish compressed per connection). */
export const DATA = 0;
export const CLOSE = 1;
/** Asynchronous work that runs in order with the sends (a Blob, a stream). */
export const TASK = 2;
/** A published message, already framed (or being compressed) once for all its subscribers. */
export const PREPARED = 3;
/** A ping or pong of the application. */
export const CONTROL = 4;

export type DropPolicy = 'drop-newest' | 'drop-oldest';

/** One entry of the outbox. Every field is set in the constructor: one shape for all kinds. */
export class OutboxItem {
  /** Compress before sending; once compressed, the RSV1 bit to set. */
  rsv1: boolean | undefined = undefined;
  /** Asynchronous work before the item can go (TASK). */
  work: (() => Promise<void>) | undefined = undefined;
  /** The payload still has to be read (a Blob). */
  produce: (() => Promise<Uint8Array>) | undefined = undefined;
  started = false;
  /** CLOSE: the code and reason. */
  code: number | undefined = undefined;
  reason: string | Buffer | undefined = undefined;
  /** PREPARED: the frame, or the shared frame it waits for. */
  frame: Buffer | SharedFrame | undefined = undefined;
  /** CONTROL: a ping (else a pong). */
  ping = false;

  constructor(
    readonly kind: number,
    public payload: string | Uint8Array | undefined,
    readonly binary: boolean,
    readonly fin: boolean,
    readonly cb: Callback | undefined,
    /** Payload bytes (before compression), for the backpressure limit. */
    readonly bytes: number,
    /** A whole message, or the first fragment of one, that a policy may drop. */
    readonly droppable: boolean,
    readonly compress: boolean,
    public ready: boolean,
  ) {}
}

/** A published message: whole, droppable, with no callback. */
export function publishedItem(
  kind: number,
  payload: Uint8Array | undefined,
  bytes: number,
  binary: boolean,
  compress: boolean,
): OutboxItem {
  return new OutboxItem(kind, payload, binary, true, undefined, bytes, true, compress, !compress);
}

/**
 * What a message of `bytes` payload bytes weighs as a frame: the most its header can take
 * (RFC 6455 §5.2: 2 bytes, 2 or 8 more for the length, 4 for a client's mask).
 */
export function frameCost(bytes: number): number {
  return bytes + (bytes <= 125 ? 6 : bytes <= 0xffff ? 8 : 14);
}

export function droppedError(policy: string): WebSocketError {
  return new WebSocketError(
    ErrorCode.MessageDropped,
    `message dropped by the ${policy} backpressure policy (the peer is not reading)`,
  );
}

/** Whether a published item's frame is ready (its shared compression done); records it. */
export function frameReady(item: OutboxItem): boolean {
  item.ready = Buffer.isBuffer(item.frame) || (item.frame as SharedFrame).bytes !== undefined;
  return item.ready;
}

export function frameOf(item: OutboxItem): Buffer {
  return Buffer.isBuffer(item.frame) ? item.frame : (item.frame as SharedFrame).bytes!;
}

/** Compresses an item's payload; `first`: the first frame of its message (RSV1 set). */
export function compressItem(
  deflate: PerMessageDeflate,
  item: OutboxItem,
  first: boolean,
): Promise<void> {
  const bytes = typeof item.payload === 'string' ? Buffer.from(item.payload) : item.payload!;
  return new Promise((resolve, reject) => {
    deflate.encode(bytes, item.fin, (error, out) => {
      if (error !== null) {
        reject(error);
        return;
      }
      item.payload = out!;
      // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
      item.rsv1 = first;
      item.ready = true;
      resolve();
    });
  });
}

/**
 * The head message is held for the peer: pings and pongs queued behind messages that are all
 * ready go now. A close frame, or anything still to be prepared, keeps the rest in order.
 */
export function sendControlsAhead(
  queue: OutboxItem[],
  host: { _deliverControl(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void },
): void {
  for (let i = 1; i < queue.length; ) {
    const item = queue[i]!;
    if (!item.ready || item.kind === CLOSE || item.kind === TASK) return;
    if (item.kind === CONTROL) {
      queue.splice(i, 1);
      host._deliverControl(item.ping, item.payload as Uint8Array, item.cb);
    } else {
      i++;
    }
  }
}
