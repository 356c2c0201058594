import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { loadLibuv } from '../../../src/node/transport/libuv.js';
import { StreamTransport } from '../../../src/node/transport/stream-transport.js';
import { TcpListener, type TcpUpgradeSocket } from '../../../src/node/transport/tcp-server.js';
import type { Transport, TransportSink } from '../../../src/node/transport/transport.js';
import { defer, quietly, turns, until, within } from '../../helpers/node-util.js';

/** How long a transport test waits for bytes or an event before failing. */
export const SLOW = 30_000;

export type SinkEvent = 'data' | 'end' | 'close' | 'drain';

/**
 * A TransportSink that records every call in order. Data is copied (a borrowed chunk's memory is
 * reused after the call); the chunks as handed over are kept too, to check what reuse happens.
 */
export class RecordingSink implements TransportSink {
  readonly events: SinkEvent[] = [];
  /** Copies of the data, in order. */
  readonly chunks: Buffer[] = [];
  /** The chunks as the transport handed them over (not copied). */
  readonly handed: Buffer[] = [];
  readonly borrowed: boolean[] = [];
  received = 0;
  /** Called after each event is recorded (tests act from here: end() on end...). */
  onEvent: ((event: SinkEvent) => void) | undefined;

  _onTransportData(chunk: Buffer, borrowed: boolean): void {
    this.events.push('data');
    this.chunks.push(Buffer.from(chunk));
    this.handed.push(chunk);
    this.borrowed.push(borrowed);
    this.received += chunk.length;
    this.onEvent?.('data');
  }
  _onTransportEnd(): void {
    this.events.push('end');
    this.onEvent?.('end');
  }
  _onTransportClose(): void {
    this.events.push('close');
    this.onEvent?.('close');
  }
  _onTransportDrain(): void {
    this.events.push('drain');
    this.onEvent?.('drain');
  }

  count(event: SinkEvent): number {
    return this.events.filter((e) => e === event).length;
  }

  /** Everything received so far, in order. */
  data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Events other than data, in order. */
  lifecycle(): SinkEvent[] {
    return this.events.filter((e) => e !== 'data');
  }

  /** Resolves once `bytes` bytes have arrived. */
  untilReceived(bytes: number, what = `${bytes} bytes`): Promise<void> {
    return until(() => this.received >= bytes, what, SLOW);
  }

  /** Resolves once `event` was recorded `n` times. */
  untilEvent(event: SinkEvent, n = 1): Promise<void> {
    return until(() => this.count(event) >= n, `${n} × ${event}`, SLOW);
  }
}

/** Reads everything a net.Socket receives (past its first `skip` bytes), and whether it ended. */
export class PeerReader {
  private readonly chunks: Buffer[] = [];
  private raw = 0;
  ended = false;
  closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly skip = 0,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.raw += chunk.length;
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  get received(): number {
    return this.raw - this.skip;
  }

  data(): Buffer {
    return Buffer.concat(this.chunks).subarray(this.skip);
  }

  untilReceived(bytes: number): Promise<void> {
    return until(() => this.received >= bytes, `the peer to receive ${bytes} bytes`, SLOW);
  }

  untilEnded(): Promise<void> {
    return until(() => this.ended, 'the peer to see EOF', SLOW);
  }
}

/** A transport under test, its recording sink and the peer at the other end of loopback TCP. */
export interface TransportPair {
  transport: Transport;
  sink: RecordingSink;
  /** The client end (a plain net.Socket). */
  peer: net.Socket;
  reader: PeerReader;
  /** Sink calls made inside `start()` (none are expected: delivery starts after it returns). */
  duringStart: number;
}

export interface OpenOptions {
  /** Bytes the peer sends right after connecting, before the transport starts. */
  head?: Buffer;
  /** Call pause() right after start(), in the same tick (as a `connection` listener may). */
  pauseAtStart?: boolean;
}

/** Opens a connected pair; the transport is started with the recording sink. */
export type Opener = (t: TestContext, options?: OpenOptions) => Promise<TransportPair>;

/** The libuv bindings are there (else the fast path, and TcpTransport, are not used). */
export const hasLibuv = loadLibuv() !== undefined;

const REQUEST = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const RESPONSE = 'HTTP/1.1 101 Switching Protocols\r\n\r\n';

/**
 * A TcpTransport as the standalone server makes it: a TcpListener accepts the connection, reads
 * a request head, and `accept()` hands the raw handle over, with what came after the head.
 */
export const openTcp: Opener = async (t, options = {}) => {
  const sink = new RecordingSink();
  let duringStart = -1;
  let started: ((transport: Transport) => void) | undefined;
  const accepted = new Promise<Transport>((resolve) => {
    started = resolve;
  });
  const listener = new TcpListener(
    {
      onRequest(socket: TcpUpgradeSocket) {
        const { transport, head } = socket.accept(RESPONSE, Buffer.alloc(0));
        transport.start(sink, head);
        duringStart = sink.events.length;
        if (options.pauseAtStart) transport.pause();
        started!(transport);
      },
      onConnection() {},
      onError() {},
    },
    { handshakeTimeout: SLOW, maxHeaderSize: 16 * 1024 },
  );
  await within(
    new Promise<void>((resolve, reject) =>
      listener.listen(0, '127.0.0.1', undefined, (error) => (error ? reject(error) : resolve())),
    ),
    'TcpListener.listen',
  );
  defer(t, () => new Promise<void>((resolve) => listener.close(resolve)));
  const peer = await connect(t, listener.address()!.port);
  const reader = new PeerReader(peer, RESPONSE.length);
  peer.write(Buffer.concat([Buffer.from(REQUEST), options.head ?? Buffer.alloc(0)]));
  const transport = await within(accepted, 'the TcpListener to accept');
  defer(t, () => transport.destroy());
  // The response to the request head is not the transport's: wait for it, then forget it.
  await reader.untilReceived(0);
  return { transport, sink, peer, reader, duringStart };
};

/**
 * A StreamTransport over a net.Socket accepted by a net.Server that allows half-open
 * connections, as http.Server (whose upgraded sockets it mostly carries) does.
 */
export const openStream: Opener = async (t, options = {}) => {
  const sink = new RecordingSink();
  const server = net.createServer({ allowHalfOpen: true });
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await within(
    new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
    'net.Server.listen',
  );
  defer(t, () => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;
  const peer = await connect(t, port);
  const reader = new PeerReader(peer);
  const socket = await within(accepted, 'the net.Server to accept');
  defer(t, () => socket.destroy());
  // As server-upgrade does: the bytes read past the request head are handed in as `head`.
  const transport = new StreamTransport(socket);
  transport.start(sink, options.head ?? Buffer.alloc(0));
  const duringStart = sink.events.length;
  if (options.pauseAtStart) transport.pause();
  return { transport, sink, peer, reader, duringStart };
};

async function connect(t: TestContext, port: number): Promise<net.Socket> {
  const peer = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  defer(t, () => peer.destroy());
  await within(
    new Promise<void>((resolve, reject) => {
      peer.once('connect', resolve);
      peer.once('error', reject);
    }),
    'TCP connect',
  );
  return peer;
}

/** Lets I/O run for a while: long enough for bytes written on loopback to be read, if reading. */
export async function letIoRun(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await turns(10);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Writes `data` from the peer and resolves once the kernel took it. */
export function peerWrite(peer: net.Socket, data: Buffer | string): Promise<void> {
  return within(
    new Promise<void>((resolve, reject) =>
      peer.write(data, (error) => (error ? reject(error) : resolve())),
    ),
    'the peer write',
    SLOW,
  );
}

/** Writes through the transport until it reports `needDrain` (the peer is not reading). */
export function fillUntilNeedDrain(transport: Transport, chunkSize = 1024 * 1024): number {
  const chunk = Buffer.alloc(chunkSize, 0x61);
  let written = 0;
  // The kernel's buffers on loopback hold a few MiB at most.
  for (let i = 0; i < 256 && !transport.needDrain; i++) {
    transport.write([chunk], undefined);
    written += chunkSize;
  }
  if (!transport.needDrain) throw new Error(`still no needDrain after ${written} bytes`);
  return written;
}

/** Numbered pieces: piece i is `size` bytes of i & 0xff with i in its first 4 bytes. */
export function numbered(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const piece = Buffer.alloc(size, i & 0xff);
    piece.writeUInt32BE(i, 0);
    return piece;
  });
}

/** Destroys quietly (for clean-up of peers in tests that end them). */
export function destroyQuietly(socket: net.Socket): void {
  quietly(() => socket.destroy());
}
