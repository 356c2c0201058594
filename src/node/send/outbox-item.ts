import type { PerMessageDeflate } from '../../extensions/index.js';
import { ErrorCode, headerSize, WebSocketError } from '../../protocol/index.js';
import type { SharedFrame } from '../../pubsub/prepared-message.js';

export type Callback = (error?: Error | null) => void;

/** Where an item stands: its asynchronous preparation not started yet, */
export const WAITING = 0;
/** running, */
export const STARTED = 1;
/** done (compressed with this connection's context: it can no longer be dropped), */
export const DONE = 2;
/** or there was nothing to prepare. */
export const READY = 3;

/** A message or a fragment of one: the application's `send`, or a publish compressed here. */
export interface DataItem {
  readonly kind: 'data';
  /** The payload; compressed in place once prepared. */
  payload: string | Uint8Array;
  readonly binary: boolean;
  readonly fin: boolean;
  readonly cb: Callback | undefined;
  /** Payload bytes (before compression), for the backpressure limit. */
  readonly bytes: number;
  /** A whole message or the first fragment of one (a policy may drop it; RSV1 goes on it). */
  readonly first: boolean;
  /** Compressed before it goes; once compressed, `rsv1` is set. */
  readonly compress: boolean;
  rsv1: boolean | undefined;
  /** The payload still has to be read (a Blob). */
  readonly produce: (() => Promise<Uint8Array>) | undefined;
  stage: number;
}

/** A published message, already framed (or being compressed) once for all its subscribers. */
export interface PreparedItem {
  readonly kind: 'prepared';
  readonly frame: Buffer | SharedFrame;
  readonly bytes: number;
  readonly binary: boolean;
  /** Always a whole message. */
  readonly first: true;
  readonly cb: undefined;
  stage: number;
}

export interface CloseItem {
  readonly kind: 'close';
  readonly code: number | undefined;
  readonly reason: string | Buffer | undefined;
}

/** A ping or pong of the application (its payload, or a Blob's to read first). */
export interface ControlItem {
  readonly kind: 'control';
  readonly ping: boolean;
  payload: Uint8Array | undefined;
  readonly produce: (() => Promise<Uint8Array>) | undefined;
  readonly cb: Callback | undefined;
  stage: number;
}

/** Asynchronous work that runs in order with the sends (a stream). */
export interface TaskItem {
  readonly kind: 'task';
  readonly work: () => Promise<void>;
  readonly cb: Callback | undefined;
  stage: number;
}

export type OutboxItem = DataItem | PreparedItem | CloseItem | ControlItem | TaskItem;
/** What the backpressure limit counts (and a policy may drop). */
export type MessageItem = DataItem | PreparedItem;

export function dataItem(
  payload: string | Uint8Array,
  binary: boolean,
  fin: boolean,
  cb: Callback | undefined,
  bytes: number,
  first: boolean,
  compress: boolean,
  produce: (() => Promise<Uint8Array>) | undefined,
): DataItem {
  const stage = compress || produce !== undefined ? WAITING : READY;
  return {
    kind: 'data',
    payload,
    binary,
    fin,
    cb,
    bytes,
    first,
    compress,
    rsv1: undefined,
    produce,
    stage,
  };
}

export function preparedItem(
  frame: Buffer | SharedFrame,
  bytes: number,
  binary: boolean,
): PreparedItem {
  const stage = Buffer.isBuffer(frame) ? READY : WAITING;
  return { kind: 'prepared', frame, bytes, binary, first: true, cb: undefined, stage };
}

/**
 * What a message of `bytes` payload bytes weighs as a frame: the most its header can take
 * (the core's `headerSize`, with a client's mask).
 */
export function frameCost(bytes: number): number {
  return bytes + headerSize(bytes, true);
}

export function droppedError(policy: string): WebSocketError {
  return new WebSocketError(
    ErrorCode.MessageDropped,
    `message dropped by the ${policy} backpressure policy (the peer is not reading)`,
  );
}

/** Whether an item can go now (a published frame: once its shared compression is done). */
export function isReady(item: OutboxItem): boolean {
  if (item.kind === 'close') return true;
  if (item.stage >= DONE) return true;
  if (item.kind === 'prepared' && (item.frame as SharedFrame).bytes !== undefined) {
    item.stage = item.stage === WAITING ? READY : DONE;
    return true;
  }
  return false;
}

/**
 * Whether the policy may drop a message waiting to make room: a whole one (not a first
 * fragment: its continuation may be queued already), not being prepared nor compressed with
 * this connection's context, and the head only when ready.
 */
export function mayDropOld(item: OutboxItem, head: boolean): item is MessageItem {
  if (item.kind === 'prepared') return item.stage === READY || (item.stage === WAITING && !head);
  if (item.kind !== 'data' || !item.first || !item.fin) return false;
  return item.stage === READY || (item.stage === WAITING && !head);
}

export function frameOf(item: PreparedItem): Buffer {
  return Buffer.isBuffer(item.frame) ? item.frame : item.frame.bytes!;
}

/** An item's asynchronous preparation: a stream's work, a Blob read, a compression. */
export async function prepareItem(
  item: DataItem | ControlItem | TaskItem,
  deflate: PerMessageDeflate | undefined,
): Promise<void> {
  if (item.kind === 'task') return item.work();
  if (item.produce !== undefined) item.payload = await item.produce();
  if (item.kind === 'data' && item.compress) await compressItem(deflate!, item, item.first);
}

/** Compresses an item's payload; `first`: the first frame of its message (RSV1 set). */
export function compressItem(
  deflate: PerMessageDeflate,
  item: DataItem,
  first: boolean,
): Promise<void> {
  const bytes = typeof item.payload === 'string' ? Buffer.from(item.payload) : item.payload;
  return new Promise((resolve, reject) => {
    deflate.encode(bytes, item.fin, (error, out) => {
      if (error !== null) {
        reject(error);
        return;
      }
      item.payload = out!;
      // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
      item.rsv1 = first;
      resolve();
    });
  });
}
