import type { PerMessageDeflate } from '../../extensions/index.js';
import type { BackpressurePolicy } from '../connection/options.js';
import type { Callback } from './outbox-item.js';

/** What the outbox needs from its WebSocket (internal members). */
export interface OutboxHost {
  readonly _deflate: PerMessageDeflate | undefined;
  /** Bytes serialized or handed to the transport, not yet written out. */
  _pendingBytes(): number;
  /** A message sent in fragments is in progress in the protocol core. */
  _midMessage(): boolean;
  /** Whether the connection still sends data (no close frame sent). */
  _sendsData(): boolean;
  /** Serializes one data frame now. */
  _deliverFrame(
    payload: string | Uint8Array,
    binary: boolean,
    fin: boolean,
    rsv1: boolean | undefined,
    cb: Callback | undefined,
  ): void;
  /** Queues a whole frame made once for many connections (a publish). */
  _deliverRaw(frame: Buffer): void;
  _deliverClose(code: number | undefined, reason: string | Buffer | undefined): void;
  /** Sends a ping or pong of the application now. */
  _deliverControl(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void;
  _failPolicy(code: number, reason: string): void;
  _emitDropped(info: DroppedMessage): void;
  _emitDrain(): void;
  _emitAsyncError(error: Error, cb: Callback | undefined): void;
  /** Asks the transport for a drain notice (then `pump` runs again). */
  _awaitTransport(): void;
  readonly _maxBackpressure: number;
  /** Bytes waiting in the transport beyond which messages wait here. */
  readonly _holdAt: number;
  readonly _backpressurePolicy: BackpressurePolicy;
}

/** What a `dropped` event reports. */
export interface DroppedMessage {
  /** Payload bytes of the message dropped (all its fragments, for one sent in fragments). */
  bytes: number;
  isBinary: boolean;
  /** Which policy dropped it: the message being sent, or the oldest one waiting. */
  policy: 'drop-newest' | 'drop-oldest';
}
