import type { PerMessageDeflate } from '../../extensions/index.js';
import type { Callback } from './outbox-item.js';

/**
 * What the send queue (outbox.ts) calls, one way: the writer serializes frames into the
 * protocol core and flushes them to the transport, and reports to the application. The
 * socket (socket-send.ts) is the writer; it never calls back into the queue while serving it.
 */
export interface SendWriter {
  /** permessage-deflate, when agreed (how the queue finds its compressor). */
  readonly _deflate: PerMessageDeflate | undefined;
  /** Bytes serialized or handed to the transport, not yet written out. */
  _pendingBytes(): number;
  /** Whether the connection still sends data (no close frame sent). */
  _sendsData(): boolean;
  /** Serializes one data frame now (RSV1 given: the payload is compressed already). */
  _deliverFrame(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    rsv1: boolean | undefined,
    cb: Callback | undefined,
  ): void;
  /** Serializes a whole frame made once for many connections (a publish). */
  _deliverRaw(frame: Buffer): void;
  _deliverClose(code: number | undefined, reason: string | Buffer | undefined): void;
  /** Sends a ping or pong of the application now. */
  _deliverControl(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void;
  /** Asks the transport for a drain notice (the queue's `resume` then runs). */
  _awaitTransport(): void;
  /** The backpressure policy fails the connection. */
  _failPolicy(code: number, reason: string): void;
  _emitDropped(info: DroppedMessage): void;
  _emitDrain(): void;
  _emitAsyncError(error: Error, cb: Callback | undefined): void;
}

/** What a `dropped` event reports. */
export interface DroppedMessage {
  /** Payload bytes of the message dropped (all its fragments, for one sent in fragments). */
  bytes: number;
  isBinary: boolean;
  /** Which policy dropped it: the message being sent, or the oldest one waiting. */
  policy: 'drop-newest' | 'drop-oldest';
}
