import {
  isAlreadyError,
  libuv,
  type ShutdownReq,
  type TcpHandle,
  uvError,
  type WriteReq,
} from './libuv.js';
import { readBuffer } from './read-buffer.js';
import type { Transport, TransportSink, WriteCallback } from './transport.js';

/** Over this many queued bytes, writers should wait for `_onTransportDrain` (as net's default). */
const HIGH_WATER_MARK = 16 * 1024;

// State bits (one field instead of seven: idle connections are the common case).
const READING = 1;
const EOF_RECEIVED = 2;
const ENDED = 4;
const SHUTDOWN_DONE = 8;
const CLOSED = 16;
const DRAIN_WANTED = 32;

/** Heads that arrived while reading was paused: rare, so kept aside rather than in a field. */
const heldHeads = new WeakMap<TcpTransport, Buffer>();

/**
 * A transport straight over a libuv TCP handle: reads land in one read buffer shared by every
 * connection (data is handed out as `borrowed`), writes go out with one `writev` per flush.
 * No net.Socket, no stream state: an idle connection costs a handle and this object.
 */
export class TcpTransport implements Transport {
  private readonly handle: TcpHandle;
  private sink: TransportSink | undefined;
  private state = 0;

  constructor(handle: TcpHandle) {
    this.handle = handle;
  }

  start(sink: TransportSink, head: Buffer): void {
    this.sink = sink;
    const handle = this.handle;
    handle.owner = this;
    handle.onread = onRead;
    // The handshake's socket was reading already (to see a peer that leaves while the server
    // decides): libuv then answers EALREADY, and the handle reads all the same. Without
    // READING, pause() would not stop it and a paused connection would read on without limit.
    const status = handle.readStart();
    if (status === 0 || isAlreadyError(status)) this.state |= READING;
    // What was read past the handshake goes first, after the `connection` listeners ran.
    if (head.length > 0) process.nextTick(deliverHead, this, head);
  }

  write(chunks: Buffer[], cb: WriteCallback | undefined): void {
    if ((this.state & CLOSED) !== 0) {
      if (cb !== undefined) process.nextTick(cb, uvError(-32, 'write'));
      return;
    }
    const uv = libuv!;
    const req = uv.newWriteReq();
    req.handle = this.handle;
    req.oncomplete = onWriteComplete;
    req.owner = this;
    req.callback = cb;
    const error =
      chunks.length === 1
        ? this.handle.writeBuffer(req, chunks[0]!)
        : this.handle.writev(req, chunks, true);
    if (error !== 0) {
      this.destroy();
      if (cb !== undefined) process.nextTick(cb, uvError(error, 'write'));
      return;
    }
    if (uv.lastWriteWasAsync()) {
      req.chunks = chunks; // kept alive until libuv is done with them
      if (this.handle.writeQueueSize > HIGH_WATER_MARK) this.state |= DRAIN_WANTED;
    } else if (cb !== undefined) {
      process.nextTick(cb, null);
    }
  }

  end(): void {
    if ((this.state & (ENDED | CLOSED)) !== 0) return;
    this.state |= ENDED;
    const req = libuv!.newShutdownReq();
    req.handle = this.handle;
    req.oncomplete = onShutdownComplete;
    req.owner = this;
    // libuv shuts the write side down after the queued writes.
    if (this.handle.shutdown(req) !== 0) this.destroy();
  }

  destroy(): void {
    if ((this.state & CLOSED) !== 0) return;
    this.state |= CLOSED;
    this.handle.onread = ignoreRead;
    this.handle.close(() => this.sink?._onTransportClose());
  }

  pause(): void {
    if ((this.state & (READING | CLOSED)) === READING) this.handle.readStop();
    this.state &= ~READING;
  }

  resume(): void {
    if ((this.state & (READING | CLOSED | EOF_RECEIVED)) === 0 && this.handle.readStart() === 0) {
      this.state |= READING;
    }
    const head = heldHeads.get(this);
    if (head !== undefined && (this.state & (READING | EOF_RECEIVED)) !== 0) {
      heldHeads.delete(this);
      process.nextTick(deliverHead, this, head);
    }
  }

  requestDrain(): void {
    if ((this.state & CLOSED) !== 0) return;
    if (this.handle.writeQueueSize === 0) process.nextTick(notifyDrain, this);
    else this.state |= DRAIN_WANTED;
  }

  get bufferedAmount(): number {
    return (this.state & CLOSED) !== 0 ? 0 : this.handle.writeQueueSize;
  }

  get needDrain(): boolean {
    return (this.state & CLOSED) === 0 && this.handle.writeQueueSize > HIGH_WATER_MARK;
  }

  get writable(): boolean {
    return (this.state & (ENDED | CLOSED)) === 0;
  }

  get destroyed(): boolean {
    return (this.state & CLOSED) !== 0;
  }

  /** @internal */
  _sink(): TransportSink {
    return this.sink!;
  }

  /** @internal */
  _read(): void {
    const uv = libuv!;
    const n = uv.readBytes();
    if (n > 0) {
      this.sink!._onTransportData(readBuffer().subarray(0, n), true);
      return;
    }
    if (n === 0) return;
    if (n !== uv.UV_EOF) {
      // ECONNRESET and the like: the connection is gone (the close event reports 1006).
      this.destroy();
      return;
    }
    this.pause();
    this.state |= EOF_RECEIVED;
    this.sink!._onTransportEnd();
    if ((this.state & SHUTDOWN_DONE) !== 0) this.destroy();
  }

  /** @internal */
  _writeDone(req: WriteReq, status: number): void {
    req.chunks = undefined;
    const cb = req.callback;
    if (status < 0) this.destroy();
    if (cb !== undefined) cb(status < 0 ? uvError(status, 'write') : null);
    if (
      (this.state & (DRAIN_WANTED | CLOSED)) === DRAIN_WANTED &&
      this.handle.writeQueueSize <= HIGH_WATER_MARK
    ) {
      this.state &= ~DRAIN_WANTED;
      this.sink?._onTransportDrain();
    }
  }

  /** @internal */
  _shutdownDone(status: number): void {
    this.state |= SHUTDOWN_DONE;
    if (status < 0 || (this.state & EOF_RECEIVED) !== 0) this.destroy();
  }

  /** @internal */
  _deliver(head: Buffer): void {
    if ((this.state & CLOSED) !== 0) return;
    // Paused before the head went out: it waits for resume(), like bytes still in the kernel.
    if ((this.state & READING) === 0) heldHeads.set(this, head);
    else this.sink!._onTransportData(head, false);
  }
}

function notifyDrain(transport: TcpTransport): void {
  if (!transport.destroyed) transport._sink()._onTransportDrain();
}

function deliverHead(transport: TcpTransport, head: Buffer): void {
  transport._deliver(head);
}

function onRead(this: TcpHandle): void {
  (this.owner as TcpTransport)._read();
}

function onWriteComplete(this: WriteReq, status: number): void {
  (this.owner as TcpTransport)._writeDone(this, status);
}

function onShutdownComplete(this: ShutdownReq, status: number): void {
  (this.owner as TcpTransport)._shutdownDone(status);
}

/** Native code requires onread to stay a function. */
function ignoreRead(): void {}
