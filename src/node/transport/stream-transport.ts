import type { Duplex } from 'node:stream';
import type { Transport, TransportSink, WriteCallback } from './transport.js';

const kTransport = Symbol('tsws.transport');
type Socket = Duplex & { [kTransport]?: StreamTransport; setNoDelay?(noDelay: boolean): void };

/** A transport over a Node Duplex: a net or tls socket, or any stream a test provides. */
const EMPTY = Buffer.alloc(0);

export class StreamTransport implements Transport {
  private readonly socket: Socket;
  private sink: TransportSink | undefined;
  /** An empty write is marking where the bytes queued by now end (see requestDrain). */
  private marking = false;

  constructor(socket: Duplex) {
    this.socket = socket as Socket;
  }

  start(sink: TransportSink, head: Buffer): void {
    const socket = this.socket;
    this.sink = sink;
    socket[kTransport] = this;
    socket.setNoDelay?.(true);
    (socket as Duplex & { setTimeout?(ms: number): void }).setTimeout?.(0);
    if (head.length > 0) socket.unshift(head);
    // Shared listeners (no closures per connection); they find the transport on the socket.
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('drain', onDrain);
    socket.on('error', onError);
  }

  write(chunks: Buffer[], cb: WriteCallback | undefined): void {
    const socket = this.socket;
    const n = chunks.length;
    if (n === 1) {
      socket.write(chunks[0]!, cb);
      return;
    }
    socket.cork();
    for (let i = 0; i < n - 1; i++) socket.write(chunks[i]!);
    socket.write(chunks[n - 1]!, cb);
    socket.uncork();
  }

  end(): void {
    if (!this.socket.writableEnded) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  requestDrain(): void {
    const socket = this.socket;
    if (socket.destroyed || this.marking) return;
    if (socket.writableLength === 0) {
      process.nextTick(notifyDrain, this);
    } else if (!socket.writableNeedDrain && !socket.writableEnded) {
      // Under the stream's high-water mark no 'drain' comes: an empty write calls back once
      // everything queued before it is written.
      this.marking = true;
      socket.write(EMPTY, () => {
        this.marking = false;
        notifyDrain(this);
      });
    } else if (socket.writableEnded) {
      // Ending: a Writable emits no 'drain' any more and takes no marker write; 'finish' says
      // that everything queued, the end included, is written.
      this.marking = true;
      socket.once('finish', () => {
        this.marking = false;
        notifyDrain(this);
      });
    }
    // Else the socket emits 'drain' once its queue is empty.
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  get needDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  get writable(): boolean {
    return this.socket.writable && !this.socket.writableEnded;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** @internal */
  _sink(): TransportSink {
    return this.sink!;
  }
}

function notifyDrain(transport: StreamTransport): void {
  if (!transport.destroyed) transport._sink()._onTransportDrain();
}

function onData(this: Socket, chunk: Buffer): void {
  this[kTransport]!._sink()._onTransportData(chunk, false);
}
function onEnd(this: Socket): void {
  this[kTransport]!._sink()._onTransportEnd();
}
function onClose(this: Socket): void {
  this[kTransport]!._sink()._onTransportClose();
}
function onDrain(this: Socket): void {
  this[kTransport]!._sink()._onTransportDrain();
}
function onError(this: Socket): void {
  // As ws does: a socket error ends the connection; `close` reports it (1006).
  this.destroy();
}
