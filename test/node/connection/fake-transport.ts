import type {
  Transport,
  TransportSink,
  WriteCallback,
} from '../../../src/node/transport/transport.js';
import { type DecodedFrame, decodeFrames } from '../../helpers/frames.js';

/**
 * An in-memory Transport for driving a connection without sockets. It records what the
 * connection writes and asks of it; the test plays the peer with push / peerEnd / reset. It
 * behaves as the real transports do where the connection can tell: nothing is delivered while
 * paused (the bytes wait, as in the kernel), close comes once, on a later tick, when destroyed
 * or when both sides have ended.
 */
export class FakeTransport implements Transport {
  sink: TransportSink | undefined;
  /** Bytes written by the connection, in order. */
  readonly written: Buffer[] = [];
  /** What the test says is queued below the connection (the kernel is slow): bufferedAmount. */
  queued = 0;
  paused = false;
  pauseCalls = 0;
  resumeCalls = 0;
  drainRequests = 0;
  ended = false;
  peerEnded = false;
  private dead = false;
  /** Peer input that arrived while paused: chunks, then maybe EOF. */
  private readonly held: (Buffer | 'eof')[] = [];

  start(sink: TransportSink, head: Buffer): void {
    this.sink = sink;
    if (head.length > 0) process.nextTick(() => this.push(head));
  }

  write(chunks: Buffer[], cb: WriteCallback | undefined): void {
    if (this.dead || this.ended) {
      if (cb !== undefined) process.nextTick(cb, new Error('write after end'));
      return;
    }
    for (const chunk of chunks) this.written.push(Buffer.from(chunk));
    if (cb !== undefined) process.nextTick(cb, null);
  }

  end(): void {
    if (this.ended || this.dead) return;
    this.ended = true;
    this.closeIfBothEnded();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    process.nextTick(() => this.sink!._onTransportClose());
  }

  pause(): void {
    this.pauseCalls++;
    this.paused = true;
  }

  resume(): void {
    this.resumeCalls++;
    if (!this.paused) return;
    this.paused = false;
    // Reading again: what waited in the kernel comes on a later turn, as from a socket.
    process.nextTick(() => this.deliverHeld());
  }

  requestDrain(): void {
    this.drainRequests++;
  }

  get bufferedAmount(): number {
    return this.dead ? 0 : this.queued;
  }
  get needDrain(): boolean {
    return !this.dead && this.queued > 16 * 1024;
  }
  get writable(): boolean {
    return !this.dead && !this.ended;
  }
  get destroyed(): boolean {
    return this.dead;
  }

  // ---- the peer ----

  /** Bytes from the peer (delivered now, or after resume() if paused). */
  push(chunk: Buffer, borrowed = false): void {
    if (this.dead || this.peerEnded) return;
    if (this.paused || this.held.length > 0) {
      this.held.push(Buffer.from(chunk));
      return;
    }
    this.sink!._onTransportData(chunk, borrowed);
  }

  /**
   * Bytes from the peer through one reused buffer, as TcpTransport hands them over: borrowed,
   * and overwritten with garbage once the call returns.
   */
  pushBorrowed(pieces: Buffer[]): void {
    const shared = Buffer.alloc(Math.max(1, ...pieces.map((p) => p.length)));
    for (const piece of pieces) {
      piece.copy(shared);
      this.push(shared.subarray(0, piece.length), true);
      shared.fill(0xee);
    }
  }

  /** The peer's FIN. */
  peerEnd(): void {
    if (this.dead || this.peerEnded) return;
    if (this.paused || this.held.length > 0) {
      this.held.push('eof');
      return;
    }
    this.peerEnded = true;
    this.sink!._onTransportEnd();
    this.closeIfBothEnded();
  }

  /** The peer resets the connection. */
  reset(): void {
    this.destroy();
  }

  /** The kernel took what was queued: `_onTransportDrain`. */
  drain(): void {
    this.queued = 0;
    if (!this.dead) this.sink!._onTransportDrain();
  }

  /** The frames written so far. */
  frames(): DecodedFrame[] {
    return decodeFrames(Buffer.concat(this.written)).frames;
  }

  private deliverHeld(): void {
    while (this.held.length > 0 && !this.paused && !this.dead) {
      const next = this.held.shift()!;
      if (next === 'eof') {
        this.peerEnd();
      } else {
        this.sink!._onTransportData(next, false);
      }
    }
  }

  private closeIfBothEnded(): void {
    if (this.ended && this.peerEnded) this.destroy();
  }
}
