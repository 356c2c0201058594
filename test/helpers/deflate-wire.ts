// The peer's side of permessage-deflate (RFC 7692) for the compression tests, independent of
// src/extensions: raw upgrades with a hand-made extension offer (fuzzing client) or answer
// (fuzzing server), a frame reader/writer over a raw socket, the peer's own zlib (compress with
// a chosen window and context mode; inflate the endpoint's frames strictly with the agreed
// window), a transparent TCP tap that records both directions of a real tsws pair, and seeded
// payloads (compressible text, random bytes).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import {
  type ClientOptions,
  type ServerOptions,
  WebSocket,
  WebSocketServer,
} from '../../src/index.js';
import {
  computeAccept,
  FrameStream,
  parseHttpHead,
  readHttpHead,
  type WireFrame,
} from './conformance-wire.js';
import { closePayload, encodeFrame, type RawFrame } from './frames.js';

export type { WireFrame } from './conformance-wire.js';

/** RFC 7692 §7.2.1: the empty stored block a sender removes and a receiver appends. */
export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
export const KiB = 1024;
export const MiB = 1024 * 1024;
const WAIT = 5000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function within<T>(promise: Promise<T>, what: string, ms = WAIT): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- payloads

/** mulberry32, a small seeded PRNG: payloads are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` bytes that do not compress. */
export function randomPayload(size: number, seed = 1): Buffer {
  const random = prng(seed);
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = (random() * 256) | 0;
  return out;
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which ' +
  'but have an they you were her she there been one all we their has would when if so no will ' +
  'Faust Mephisto Gretchen heaven earth spirit night study lamp window moon deed word sense power ' +
  'ünter straße größe ✓ 🙂 €uro'
).split(' ');

/**
 * Exactly `size` UTF-8 bytes of JSON-like text: records of seeded words and numbers, so it
 * compresses 3-5× and repeats at every distance (inside and beyond a 512-byte window).
 */
export function textCorpus(size: number, seed = 1): Buffer {
  const random = prng(seed);
  const parts: string[] = [];
  let length = 0;
  let id = 0;
  while (length < size + 64) {
    const words: string[] = [];
    const n = 3 + ((random() * 8) | 0);
    for (let i = 0; i < n; i++) words.push(WORDS[(random() * WORDS.length) | 0]!);
    const record = `{"id":${id++},"score":${(random() * 1000).toFixed(2)},"text":"${words.join(' ')}"},\n`;
    parts.push(record);
    length += Buffer.byteLength(record);
  }
  const bytes = Buffer.from(parts.join(''));
  // Cut at a character boundary, then pad with ASCII to the exact size.
  let end = size;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return Buffer.concat([bytes.subarray(0, end), Buffer.alloc(size - end, 0x20)]);
}

/** Binary that compresses well but not trivially (an "image": smooth rows with noise). */
export function imagePayload(size: number, seed = 1): Buffer {
  const random = prng(seed);
  const out = Buffer.allocUnsafe(size);
  let v = 128;
  for (let i = 0; i < size; i++) {
    if (i % 512 === 0) v = 64 + ((random() * 128) | 0);
    v = (v + ((random() * 5) | 0) - 2) & 0xff;
    out[i] = v;
  }
  return out;
}

// ---------------------------------------------------------------- the peer's zlib

/** Compresses as a message sender does: SYNC_FLUSH, the 4-byte tail removed (RFC 7692 §7.2.1). */
export function deflateMessage(data: Uint8Array, windowBits = 15, level = 6): Buffer {
  const out = zlib.deflateRawSync(data, {
    windowBits,
    level,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  return out.subarray(0, out.length - 4);
}

/** Inflates one message that needs no earlier context: the tail appended, window as given. */
export function inflateMessage(payload: Uint8Array, windowBits = 15): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, TAIL]), {
    windowBits,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
}

/** Runs `data` through a zlib stream up to a SYNC_FLUSH. */
function through(stream: zlib.DeflateRaw | zlib.InflateRaw, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onError = (error: Error) => {
      stream.off('data', onData);
      reject(error);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(data);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      stream.off('error', onError);
      resolve(Buffer.concat(chunks));
    });
  });
}

/**
 * One direction of permessage-deflate as the test peer runs it: the sender's deflate stream or
 * the receiver's inflate stream, with the agreed window and context mode. Without context
 * takeover, every message goes through a fresh stream, so a receiver detects a sender that kept
 * its context though it agreed not to (a back-reference into an earlier message fails).
 */
export class PeerZlib {
  private deflater: zlib.DeflateRaw | undefined;
  private inflater: zlib.InflateRaw | undefined;

  constructor(
    readonly windowBits: number,
    readonly takeover: boolean,
  ) {}

  async deflate(data: Uint8Array): Promise<Buffer> {
    if (!this.takeover) return deflateMessage(data, Math.max(this.windowBits, 9));
    this.deflater ??= zlib.createDeflateRaw({ windowBits: Math.max(this.windowBits, 9) });
    const out = await through(this.deflater, Buffer.from(data));
    return out.subarray(0, out.length - 4);
  }

  /** Deflates a message in pieces, one flush per piece: payloads of its frames. */
  async deflateFragments(pieces: Uint8Array[]): Promise<Buffer[]> {
    const fresh = () => zlib.createDeflateRaw({ windowBits: Math.max(this.windowBits, 9) });
    if (this.takeover) this.deflater ??= fresh();
    const stream = this.takeover && this.deflater ? this.deflater : fresh();
    const out: Buffer[] = [];
    for (const piece of pieces) out.push(await through(stream, Buffer.from(piece)));
    const last = out[out.length - 1]!;
    out[out.length - 1] = last.subarray(0, last.length - 4);
    if (!this.takeover) stream.close();
    return out;
  }

  /** Inflates a message (its frames' payloads joined) with exactly the agreed window. */
  async inflate(payload: Uint8Array): Promise<Buffer> {
    if (!this.takeover) return inflateMessage(payload, this.windowBits);
    this.inflater ??= zlib.createInflateRaw({ windowBits: this.windowBits });
    return through(this.inflater, Buffer.concat([payload, TAIL]));
  }

  close(): void {
    this.deflater?.close();
    this.inflater?.close();
  }
}

// ---------------------------------------------------------------- raw peers

/** A frame-level view of one end of a raw socket: what the endpoint under test wrote, and writes. */
export class RawPeer {
  readonly frames: WireFrame[] = [];
  ended = false;
  closed = false;
  private cursor = 0;
  private readonly stream = new FrameStream();
  private readonly waiters = new Set<() => void>();
  readonly problems: string[] = [];

  /** `role`: the raw peer's own role (a client masks what it writes). */
  constructor(
    readonly socket: net.Socket,
    rest: Buffer,
    readonly role: 'client' | 'server',
  ) {
    const take = (chunk: Buffer) => {
      try {
        this.frames.push(...this.stream.push(chunk));
      } catch (error) {
        this.problems.push(String(error));
      }
      this.wake();
    };
    socket.on('data', take);
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
    if (rest.length > 0) take(rest);
    socket.resume();
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  until<T>(what: string, check: () => T | undefined, ms = WAIT): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    let wake!: () => void;
    const found = new Promise<T>((resolve) => {
      wake = () => {
        const value = check();
        if (value !== undefined) resolve(value);
      };
      this.waiters.add(wake);
    });
    return within(found, what, ms).finally(() => this.waiters.delete(wake));
  }

  /** Writes a frame, masked when this peer is a client (unless the frame says). */
  send(frame: RawFrame): void {
    this.write(encodeFrame({ ...frame, mask: frame.mask ?? this.role === 'client' }));
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends a whole message compressed by `zlib` (RSV1 on the first frame), in `frames` frames. */
  async sendCompressed(
    z: PeerZlib,
    data: Uint8Array,
    opcode: number,
    frames = 1,
  ): Promise<Buffer[]> {
    let payloads: Buffer[];
    if (frames === 1) payloads = [await z.deflate(data)];
    else {
      const step = Math.ceil(data.length / frames);
      const pieces: Uint8Array[] = [];
      for (let i = 0; i < frames; i++) pieces.push(data.subarray(i * step, (i + 1) * step));
      payloads = await z.deflateFragments(pieces);
    }
    const bytes = payloads.map((payload, i) =>
      encodeFrame({
        opcode: i === 0 ? opcode : 0,
        payload,
        rsv1: i === 0,
        fin: i === payloads.length - 1,
        mask: this.role === 'client',
      }),
    );
    this.write(Buffer.concat(bytes));
    return payloads;
  }

  /** The next frame not taken yet (control frames included). */
  async nextFrame(ms = WAIT): Promise<WireFrame> {
    const frame = await this.until(`frame #${this.cursor + 1}`, () => this.frames[this.cursor], ms);
    this.cursor++;
    return frame;
  }

  /**
   * The next data message: its frames (control frames met meanwhile are skipped and kept in
   * `controls`), its opcode, whether the first frame had RSV1, and its payloads joined.
   */
  async nextMessage(ms = WAIT): Promise<WireMessage> {
    const frames: WireFrame[] = [];
    const controls: WireFrame[] = [];
    for (;;) {
      const frame = await this.nextFrame(ms);
      if (frame.opcode >= 0x8) {
        if (frame.opcode === 0x8) {
          throw new Error(`close frame (code ${closeCodeOf(frame)}) instead of a message`);
        }
        controls.push(frame);
        continue;
      }
      frames.push(frame);
      if (frame.fin) break;
    }
    return {
      opcode: frames[0]!.opcode,
      rsv1: frames[0]!.rsv1,
      frames,
      controls,
      payload: Buffer.concat(frames.map((f) => f.payload)),
    };
  }

  /** The endpoint's close frame (waits for it), or undefined if TCP closed without one. */
  async closeFrame(ms = WAIT): Promise<WireFrame | undefined> {
    await this.until(
      'a close frame or TCP close',
      () => (this.frames.some((f) => f.opcode === 0x8) || this.ended ? true : undefined),
      ms,
    );
    return this.frames.find((f) => f.opcode === 0x8);
  }

  /** Waits for the endpoint's close frame and returns its code (null: none, 1005: empty). */
  async closeCode(ms = WAIT): Promise<number | null> {
    const frame = await this.closeFrame(ms);
    return frame === undefined ? null : closeCodeOf(frame);
  }

  /** Answers with a close frame, then waits for TCP to close. */
  async finish(code = 1000, ms = WAIT): Promise<void> {
    this.send({ opcode: 0x8, payload: closePayload(code) });
    if (this.role === 'server') this.socket.end();
    await this.until('TCP close', () => (this.closed ? true : undefined), ms).catch(() => {});
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface WireMessage {
  opcode: number;
  rsv1: boolean;
  frames: WireFrame[];
  controls: WireFrame[];
  payload: Buffer;
}

export function closeCodeOf(frame: WireFrame): number {
  return frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
}

export interface RawUpgrade {
  status: number;
  headers: Map<string, string>;
  /** The response's Sec-WebSocket-Extensions, or undefined. */
  extensions: string | undefined;
  peer: RawPeer;
}

/**
 * The fuzzing client: opens TCP to 127.0.0.1:port and writes an upgrade request with `offer` as
 * its Sec-WebSocket-Extensions (none when undefined). Any status is returned; the peer reads
 * frames only after a 101.
 */
export async function dialRaw(
  port: number,
  offer?: string,
  path = '/deflate',
): Promise<RawUpgrade> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  socket.setNoDelay(true);
  await within(once(socket, 'connect'), 'TCP connect');
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      (offer === undefined ? '' : `Sec-WebSocket-Extensions: ${offer}\r\n`) +
      '\r\n',
  );
  const { head, rest } = await readHttpHead(socket);
  const { startLine, headers } = parseHttpHead(head);
  const status = Number(startLine.split(' ')[1]);
  if (status === 101 && headers.get('sec-websocket-accept') !== computeAccept(key)) {
    socket.destroy();
    throw new Error(`wrong Sec-WebSocket-Accept in\n${head}`);
  }
  return {
    status,
    headers,
    extensions: headers.get('sec-websocket-extensions'),
    peer: new RawPeer(socket, rest, 'client'),
  };
}

/** What a fuzzing server answers: extra header lines (the 101 is otherwise correct). */
export type Answer = (request: Map<string, string>) => { extensions?: string; extra?: string };

export interface FuzzServer {
  port: number;
  url: string;
  /** The next connection's upgrade, answered by `answer`. */
  accept(answer: Answer): Promise<{ request: Map<string, string>; peer: RawPeer }>;
  close(): void;
}

/** The fuzzing server: a `net` server that answers each upgrade by hand. */
export async function listenRaw(): Promise<FuzzServer> {
  const server = net.createServer();
  const pending: net.Socket[] = [];
  const wakers: (() => void)[] = [];
  server.on('connection', (socket) => {
    socket.on('error', () => {});
    socket.setNoDelay(true);
    pending.push(socket);
    for (const w of wakers.splice(0)) w();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `ws://127.0.0.1:${port}/deflate`,
    async accept(answer) {
      const socket = await within(
        new Promise<net.Socket>((resolve) => {
          const take = () => {
            const s = pending.shift();
            if (s === undefined) wakers.push(take);
            else resolve(s);
          };
          take();
        }),
        'a connection to the fuzzing server',
      );
      const { head, rest } = await readHttpHead(socket);
      const { headers } = parseHttpHead(head);
      const { extensions, extra = '' } = answer(headers);
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${computeAccept(headers.get('sec-websocket-key') ?? '')}\r\n` +
          (extensions === undefined ? '' : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
          extra +
          '\r\n',
      );
      return { request: headers, peer: new RawPeer(socket, rest, 'server') };
    },
    close() {
      server.close();
      for (const s of pending) s.destroy();
    },
  };
}

// ---------------------------------------------------------------- tsws endpoints

export interface EchoServer {
  port: number;
  url: string;
  wss: WebSocketServer;
  /** Server-side connections, in the order they opened. */
  sockets: WebSocket[];
  close(): Promise<void>;
}

/** A tsws server (compression on unless the options say) that echoes each message with its type. */
export async function startDeflateServer(
  options: Partial<ServerOptions> = {},
  echo = true,
): Promise<EchoServer> {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    heartbeat: false,
    closeTimeout: 2000,
    perMessageDeflate: true,
    ...options,
  } as ServerOptions);
  await within(once(wss, 'listening'), 'listening');
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('error', () => {});
    if (echo) ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  const port = (wss.address() as net.AddressInfo).port;
  return {
    port,
    url: `ws://127.0.0.1:${port}/deflate`,
    wss,
    sockets,
    close: () =>
      within(
        new Promise<void>((resolve) => {
          for (const ws of wss.clients ?? []) ws.terminate();
          wss.close(() => resolve());
        }),
        'the server to close',
      ),
  };
}

/** A tsws client, open (rejects on a failed handshake). */
export async function openClient(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { heartbeat: false, closeTimeout: 2000, ...options });
  await within(
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('close', (code) => reject(new Error(`closed (${code}) before open`)));
    }),
    'the client to open',
  );
  return ws;
}

/** Collects an endpoint's messages and events, to await them in order. */
export class Inbox {
  readonly messages: { data: Buffer; isBinary: boolean }[] = [];
  readonly events: string[] = [];
  readonly errors: Error[] = [];
  closed: { code: number; reason: string } | undefined;
  private readonly wakers = new Set<() => void>();
  private taken = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buffer = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data as ArrayBuffer);
      this.messages.push({ data: buffer, isBinary });
      this.events.push(`message ${this.messages.length - 1}`);
      this.wake();
    });
    ws.on('ping', (data) => {
      this.events.push(`ping ${data.toString()}`);
      this.wake();
    });
    ws.on('pong', (data) => {
      this.events.push(`pong ${data.toString()}`);
      this.wake();
    });
    ws.on('error', (error) => {
      this.errors.push(error);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.events.push(`close ${code}`);
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.wakers) w();
  }

  until<T>(what: string, check: () => T | undefined, ms = WAIT): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    let wake!: () => void;
    const found = new Promise<T>((resolve) => {
      wake = () => {
        const value = check();
        if (value !== undefined) resolve(value);
      };
      this.wakers.add(wake);
    });
    return within(found, what, ms).finally(() => this.wakers.delete(wake));
  }

  async next(ms = WAIT): Promise<{ data: Buffer; isBinary: boolean }> {
    const index = this.taken;
    const m = await this.until(`message #${index + 1}`, () => this.messages[index], ms);
    this.taken++;
    return m;
  }

  async take(count: number, ms = WAIT): Promise<{ data: Buffer; isBinary: boolean }[]> {
    const first = this.taken;
    await this.until(`${count} messages`, () => this.messages[first + count - 1], ms);
    this.taken += count;
    return this.messages.slice(first, first + count);
  }

  close(ms = WAIT): Promise<{ code: number; reason: string }> {
    return this.until('the close event', () => this.closed, ms);
  }
}

// ---------------------------------------------------------------- a tap between two ends

/** One direction of a tapped connection: the HTTP head, then the frames. */
export class TapLog {
  head = '';
  readonly frames: WireFrame[] = [];
  private buffered = Buffer.alloc(0);
  private readonly stream = new FrameStream();

  push(chunk: Buffer): void {
    if (this.head === '') {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.head = this.buffered.subarray(0, end).toString('latin1');
      chunk = this.buffered.subarray(end + 4);
      this.buffered = Buffer.alloc(0);
    }
    this.frames.push(...this.stream.push(chunk));
  }

  /** Data frames and control frames, without the close frames. */
  get dataFrames(): WireFrame[] {
    return this.frames.filter((f) => f.opcode < 0x8);
  }
}

export interface TapConnection {
  /** Client to server. */
  up: TapLog;
  /** Server to client. */
  down: TapLog;
}

export interface Tap {
  port: number;
  url: string;
  connections: TapConnection[];
  close(): void;
}

/** A TCP relay to 127.0.0.1:target that records the bytes of every connection both ways. */
export async function startTap(target: number): Promise<Tap> {
  const connections: TapConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const conn: TapConnection = { up: new TapLog(), down: new TapLog() };
    connections.push(conn);
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk: Buffer) => {
      conn.up.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      conn.down.push(chunk);
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `ws://127.0.0.1:${port}/deflate`,
    connections,
    close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** Groups data frames into messages (control frames skipped). */
export function messagesOf(frames: WireFrame[]): WireMessage[] {
  const out: WireMessage[] = [];
  let current: WireFrame[] = [];
  for (const f of frames) {
    if (f.opcode >= 0x8) continue;
    current.push(f);
    if (f.fin) {
      out.push({
        opcode: current[0]!.opcode,
        rsv1: current[0]!.rsv1,
        frames: current,
        controls: [],
        payload: Buffer.concat(current.map((x) => x.payload)),
      });
      current = [];
    }
  }
  return out;
}

/** Forces a full garbage collection when possible (for memory checks). */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}
