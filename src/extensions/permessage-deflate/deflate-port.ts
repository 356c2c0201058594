import type { DecodeBudget } from '../../protocol/extension.js';
import type { SharedCompression } from './shared-compression.js';

export type PortCallback = (error: Error | null, result?: Buffer) => void;

/** What one connection's DEFLATE work needs, as agreed in the handshake (RFC 7692 §7.1). */
export interface DeflatePortSettings {
  /** Our sending window, 8..15 (RFC 7692 §7.1.2). */
  readonly deflateWindowBits: number;
  readonly level: number;
  readonly memLevel: number;
  /** Keep the compression context between messages (RFC 7692 §7.1.1). */
  readonly deflateTakeover: boolean;
  /** The peer's window, 8..15. */
  readonly inflateWindowBits: number;
  readonly inflateTakeover: boolean;
  /** Most bytes one message may inflate to (`Infinity` for no limit); over it: 1009. */
  readonly maxOutput: number;
  /** The process-wide concurrency limit this connection asks for, if any. */
  readonly concurrencyLimit: number | undefined;
}

/**
 * Raw DEFLATE for one connection (RFC 1951), done asynchronously by whoever provides it (the
 * Node binding: node:zlib streams on the thread pool, src/node/extensions/zlib-port.ts).
 * permessage-deflate's own rules (the 00 00 ff ff tail, empty messages, RSV1) are its caller's.
 * Calls of each direction never overlap.
 */
export interface DeflatePort {
  /**
   * Compresses the next piece of a message with a sync flush: the output ends with
   * 00 00 ff ff. `end`: the message ends with this piece (without context takeover, the
   * context is dropped after it). Empty `data` produces nothing and only marks the end.
   */
  deflate(data: Uint8Array, end: boolean, callback: PortCallback): void;
  /**
   * Inflates a whole message (`data` then `tail`), charging its output to `budget`. Fails with
   * a PeerError: 1007 for invalid data, 1009 past `maxOutput` or when the budget refuses.
   */
  inflate(data: Buffer, tail: Buffer, callback: PortCallback, budget?: DecodeBudget): void;
  /** An inflation the budget held (`BUDGET_WAIT`) goes on. */
  resumeInflate(): void;
  /** Frees the port's resources; a job running ends with an error. */
  close(): void;
  /**
   * Without context takeover in our direction, each message is compressed alone: the group of
   * connections whose compressed bytes are interchangeable (undefined with takeover).
   */
  readonly shared: SharedCompression | undefined;
}

/** Makes a port for one connection (the binding provides it). */
export type DeflatePortFactory = (settings: DeflatePortSettings) => DeflatePort;
