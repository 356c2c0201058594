/**
 * What the WebSocket binding needs from the byte stream under it. Two implementations: over
 * any Node Duplex (net/tls sockets, an http server's upgraded socket), and straight over a
 * libuv TCP handle for the standalone server's fast path.
 */

export type WriteCallback = (error?: Error | null) => void;

/** Receives the transport's events. */
export interface TransportSink {
  /** Bytes from the peer. `borrowed`: the memory is reused after this call returns. */
  _onTransportData(chunk: Buffer, borrowed: boolean): void;
  /** The peer finished sending (TCP FIN). */
  _onTransportEnd(): void;
  /** The transport is closed for good. Called once. */
  _onTransportClose(): void;
  /** The write queue went under its high-water mark again, or as asked by `requestDrain`. */
  _onTransportDrain(): void;
}

export interface Transport {
  /** Starts delivering to `sink`, first the bytes already read past the handshake. */
  start(sink: TransportSink, head: Buffer): void;
  /** Writes chunks in order, in one system call where possible; `cb` once they are written. */
  write(chunks: Buffer[], cb: WriteCallback | undefined): void;
  /** Half-closes after the queued writes (TCP FIN). */
  end(): void;
  /** Closes at once, dropping queued writes. */
  destroy(): void;
  pause(): void;
  resume(): void;
  /**
   * Asks for one `_onTransportDrain` once the bytes queued have gone down to the high-water
   * mark (on the next tick if nothing is queued), whatever the queue held before.
   */
  requestDrain(): void;
  /** Bytes accepted by `write` and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** The write queue is over its high-water mark: wait for `_onTransportDrain`. */
  readonly needDrain: boolean;
  /** Writes are still possible (not ended, not destroyed). */
  readonly writable: boolean;
  readonly destroyed: boolean;
}
