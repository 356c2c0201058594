// A small Autobahn-style case runner. Each case is a list of actions (raw frames or bytes to
// write, optionally chopped into chunks with pauses; waits; checkpoints) and an expectation:
// the exact frames the endpoint under test writes back, and how the connection ends.
//
// The same case runs against both roles of tsws:
// - `server`: a tsws WebSocketServer echoes every message; the test is a fuzzing client that
//   writes a hand-made upgrade request and then raw bytes over a `net` socket.
// - `client`: a tsws client echoes every message; the test is a fuzzing `net` server that
//   answers the upgrade with a hand-made 101 and then writes raw frames.
// Frames in a case are written unmasked; the runner masks them when the peer is a server,
// unless the frame says otherwise (`mask: false` / `mask: true` / a key).
import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type ConnectionSettings, WebSocket, WebSocketServer } from '../../src/index.js';
import {
  FrameStream,
  handshakeAsClient,
  handshakeAsServer,
  type WireFrame,
} from './conformance-wire.js';
import { closePayload, encodeFrame, type RawFrame } from './frames.js';

export type Role = 'server' | 'client';
export const ROLES: readonly Role[] = ['server', 'client'];

/**
 * Part of one frame, by payload offsets: the bytes of the encoded frame that carry payload
 * bytes [from, to); the part with `from` 0 includes the header. Parts of one frame, written by
 * separate actions, use one fixed masking key so they fit together.
 */
export interface FramePart {
  part: RawFrame;
  from: number;
  to?: number;
}

/** What a send action writes: a frame (masked per role unless it says), part of one, or raw bytes. */
export type Piece = RawFrame | FramePart | Uint8Array;

/** How the bytes of one send are cut: fixed chunks, random chunks (1..max), or at offsets. */
export type Chop = { size: number } | { random: number } | { at: number[] };

export type Action =
  | {
      kind: 'send';
      pieces: Piece[];
      chop?: Chop;
      /** Pause between chunks (default 1 ms when chopped). */
      pauseMs?: number;
      /** Write these bytes in the same write as the upgrade request / the 101 (first action only). */
      withHandshake?: boolean;
    }
  | { kind: 'wait'; ms: number }
  /** A fail-fast checkpoint: the endpoint's close frame must have arrived before going on. */
  | { kind: 'awaitClose'; timeoutMs: number; why: string }
  /** The endpoint must have written `count` frames (not counting close) before going on. */
  | { kind: 'awaitFrames'; count: number; timeoutMs: number; why: string }
  /** Half-close TCP from the fuzzing side (FIN). */
  | { kind: 'fin' }
  /** For `ms`, the endpoint must keep TCP open (no FIN from it). */
  | { kind: 'expectNoFin'; ms: number; why: string };

/** A frame the endpoint should write: opcode and payload, `fin` true unless said. */
export interface ExpectedFrame {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
}

/**
 * How the connection must end:
 * - a close code (or `null`: a close frame without payload), or a list of acceptable ones: the
 *   endpoint's close frame arrives (before TCP ends), then TCP closes;
 * - `'tcp'`: TCP closes, with or without a close frame.
 */
export type CloseExpectation = number | null | readonly (number | null)[] | 'tcp';

export interface ConformanceCase {
  /** Autobahn-like number, e.g. '5.9'. */
  id: string;
  title: string;
  /** Roles to run against (default both). */
  roles?: readonly Role[];
  actions: Action[];
  /** Frames the endpoint writes before its close frame, in order (default none). */
  frames?: ExpectedFrame[];
  close: CloseExpectation;
  /** More checks over every frame the endpoint wrote; returns problems. */
  check?: (frames: WireFrame[], role: Role) => string[];
  /** Per-test timeout (default 60 s). */
  timeoutMs?: number;
}

// ---- builders ----

export const text = (payload: string | Uint8Array = '', o: Partial<RawFrame> = {}): RawFrame => ({
  opcode: 0x1,
  payload,
  ...o,
});
export const binary = (payload: Uint8Array | string = '', o: Partial<RawFrame> = {}): RawFrame => ({
  opcode: 0x2,
  payload,
  ...o,
});
export const cont = (payload: string | Uint8Array = '', o: Partial<RawFrame> = {}): RawFrame => ({
  opcode: 0x0,
  payload,
  ...o,
});
export const ping = (payload: string | Uint8Array = '', o: Partial<RawFrame> = {}): RawFrame => ({
  opcode: 0x9,
  payload,
  ...o,
});
export const pong = (payload: string | Uint8Array = '', o: Partial<RawFrame> = {}): RawFrame => ({
  opcode: 0xa,
  payload,
  ...o,
});
/** A close frame: no code gives an empty payload. */
export const close = (code?: number, reason: string | Uint8Array = '', o: Partial<RawFrame> = {}) =>
  ({
    opcode: 0x8,
    payload: code === undefined ? Buffer.alloc(0) : closePayload(code, reason),
    ...o,
  }) satisfies RawFrame;

export const send = (...pieces: Piece[]): Action => ({ kind: 'send', pieces });
/** Payload bytes [from, to) of `frame` (with its header when `from` is 0). */
export const part = (frame: RawFrame, from: number, to?: number): FramePart => ({
  part: frame,
  from,
  to,
});
export const sendWithHandshake = (...pieces: Piece[]): Action => ({
  kind: 'send',
  pieces,
  withHandshake: true,
});
export const sendChopped = (chop: Chop, pieces: Piece[], pauseMs = 1): Action => ({
  kind: 'send',
  pieces,
  chop,
  pauseMs,
});
export const wait = (ms: number): Action => ({ kind: 'wait', ms });
export const awaitClose = (why = 'fail fast', timeoutMs = 5000): Action => ({
  kind: 'awaitClose',
  why,
  timeoutMs,
});
export const fin = (): Action => ({ kind: 'fin' });
export const expectNoFin = (ms: number, why: string): Action => ({ kind: 'expectNoFin', ms, why });
export const awaitFrames = (count: number, why: string, timeoutMs = 5000): Action => ({
  kind: 'awaitFrames',
  count,
  why,
  timeoutMs,
});

/** The header of a frame only (its declared length, no payload), masked per role. */
export function headerOnly(frame: RawFrame, declaredLength: bigint): RawFrame {
  return { ...frame, payload: Buffer.alloc(0), declaredLength };
}

// ---- randomness ----

/** mulberry32: a small seeded PRNG, so chopped and random cases are reproducible. */
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

export function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

// ---- the endpoints under test ----

/** Settings given to the tsws endpoint under test (heartbeat off, short close timeout). */
export type PeerSettings = ConnectionSettings;

const BASE_SETTINGS: PeerSettings = { heartbeat: false, closeTimeout: 4000 };

export interface EchoServer {
  port: number;
  close(): Promise<void>;
}

/** A tsws server that echoes every message with its type. */
export async function startEchoServer(settings: PeerSettings = {}): Promise<EchoServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...BASE_SETTINGS, ...settings });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  const address = wss.address() as net.AddressInfo;
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients ?? []) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

interface ClientUnderTest {
  socket: net.Socket;
  rest: Buffer;
  ws: WebSocket;
  closed: Promise<number>;
}

/** A tsws client that echoes every message, dialed to a fuzzing `net` server made for it. */
async function openClientUnderTest(
  settings: PeerSettings,
  extra: Buffer | undefined,
): Promise<ClientUnderTest> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as net.AddressInfo;
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/conformance`, {
    handshakeTimeout: 20_000,
    ...BASE_SETTINGS,
    ...settings,
  });
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const [socket] = await accepted;
  listener.close();
  socket.on('error', () => {});
  socket.setNoDelay(true);
  const rest = await handshakeAsServer(socket, extra);
  return { socket, rest, ws, closed };
}

// ---- running a case ----

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
// Generous: a passing case returns at once; a loaded CI machine must not fail a correct one.
const END_TIMEOUT = 10_000;
const VALID_OPCODES = new Set([0x0, 0x1, 0x2, 0x8, 0x9, 0xa]);
const SENDABLE = (code: number) =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
  (code >= 3000 && code <= 4999);

const PART_KEY = Uint8Array.from([0x5a, 0x13, 0xc4, 0x7e]);

/** Encodes a piece as the fuzzing peer writes it to an endpoint of `role`. */
export function encodePiece(piece: Piece, role: Role): Buffer {
  if (piece instanceof Uint8Array) return Buffer.from(piece);
  if ('part' in piece) {
    const frame = piece.part;
    const mask = frame.mask === true || (frame.mask === undefined && role === 'server');
    const whole = encodeFrame({ ...frame, mask: mask ? PART_KEY : frame.mask });
    const payloadLength =
      typeof frame.payload === 'string'
        ? Buffer.byteLength(frame.payload)
        : (frame.payload?.length ?? 0);
    const header = whole.length - payloadLength;
    const start = piece.from === 0 ? 0 : header + piece.from;
    const end = header + (piece.to ?? payloadLength);
    return whole.subarray(start, end);
  }
  return encodeFrame({ ...piece, mask: piece.mask ?? role === 'server' });
}

const isFrame = (p: Piece): p is RawFrame => !(p instanceof Uint8Array) && !('part' in p);

function chopBytes(bytes: Buffer, chop: Chop | undefined, random: () => number): Buffer[] {
  if (chop === undefined) return [bytes];
  const out: Buffer[] = [];
  if ('size' in chop) {
    for (let i = 0; i < bytes.length; i += chop.size) out.push(bytes.subarray(i, i + chop.size));
  } else if ('random' in chop) {
    let i = 0;
    while (i < bytes.length) {
      const n = 1 + Math.floor(random() * chop.random);
      out.push(bytes.subarray(i, i + n));
      i += n;
    }
  } else {
    let prev = 0;
    for (const at of [...chop.at].sort((a, b) => a - b)) {
      if (at > prev && at < bytes.length) {
        out.push(bytes.subarray(prev, at));
        prev = at;
      }
    }
    out.push(bytes.subarray(prev));
  }
  return out;
}

const OPCODE_NAMES: Record<number, string> = {
  0: 'cont',
  1: 'text',
  2: 'binary',
  8: 'close',
  9: 'ping',
  10: 'pong',
};

function describeFrame(f: {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
}): string {
  const payload =
    typeof f.payload === 'string' ? Buffer.from(f.payload) : Buffer.from(f.payload ?? []);
  const name = OPCODE_NAMES[f.opcode] ?? `opcode${f.opcode}`;
  const head = payload.subarray(0, 24);
  const shown =
    f.opcode === 0x8 && payload.length >= 2
      ? `code ${payload.readUInt16BE(0)}${payload.length > 2 ? ` "${payload.subarray(2).toString()}"` : ''}`
      : isUtf8(head) && !/[\x00-\x1f]/.test(head.toString())
        ? JSON.stringify(head.toString())
        : head.toString('hex');
  const more = payload.length > head.length ? '…' : '';
  return `${name}${f.fin === false ? '(fin=0)' : ''}[${payload.length}] ${shown}${more}`;
}

function sameFrame(actual: WireFrame, expected: ExpectedFrame): boolean {
  const payload =
    typeof expected.payload === 'string'
      ? Buffer.from(expected.payload)
      : Buffer.from(expected.payload ?? []);
  return (
    actual.opcode === expected.opcode &&
    actual.fin === (expected.fin ?? true) &&
    actual.payload.equals(payload)
  );
}

function compareFrames(actual: WireFrame[], expected: ExpectedFrame[]): string | undefined {
  let i = 0;
  while (i < actual.length && i < expected.length && sameFrame(actual[i]!, expected[i]!)) i++;
  if (i === actual.length && i === expected.length) return undefined;
  const window = (list: { opcode: number; payload?: Uint8Array | string; fin?: boolean }[]) =>
    list
      .slice(Math.max(0, i - 2), i + 5)
      .map((f, k) => `    #${Math.max(0, i - 2) + k} ${describeFrame(f)}`)
      .join('\n') || '    (none)';
  return (
    `frames differ at #${i} (expected ${expected.length} frames, got ${actual.length}):\n` +
    `  expected:\n${window(expected)}\n  actual:\n${window(actual)}`
  );
}

function closeCodes(expectation: CloseExpectation): (number | null)[] | 'tcp' {
  if (expectation === 'tcp') return 'tcp';
  return Array.isArray(expectation)
    ? [...(expectation as (number | null)[])]
    : [expectation as number | null];
}

const showCode = (c: number | null) => (c === null ? 'empty close' : String(c));

/** The test name: `server 5.9: continuation frame without a message → 1002`. */
export function caseName(role: Role, c: ConformanceCase): string {
  const codes = closeCodes(c.close);
  const failure = new Set([1002, 1007, 1008, 1009, 1011]);
  let outcome = '';
  if (codes === 'tcp') outcome = ' → TCP closed';
  else if (codes.every((code) => code !== null && failure.has(code)) && !/→/.test(c.title)) {
    outcome = ` → ${codes.map(showCode).join(' or ')}`;
  }
  return `${role} ${c.id}: ${c.title}${outcome}`;
}

/** One connection of a case: what the endpoint wrote, when, and how TCP went. */
class Wire {
  readonly frames: WireFrame[] = [];
  /** Index in `frames` of the endpoint's first close frame. */
  closeIndex = -1;
  /** Frames received when the endpoint's FIN (or the socket's end) came; -1 before. */
  framesAtEnd = -1;
  ended = false;
  closed = false;
  fuzzerSentClose = false;
  /** The fuzzing peer closed TCP first (client role). */
  fuzzerEnded = false;
  readonly problems: string[] = [];
  private readonly log: string[] = [];
  private readonly t0 = performance.now();
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly role: Role,
    readonly socket: net.Socket,
    rest: Buffer,
  ) {
    const stream = new FrameStream();
    const take = (chunk: Buffer) => {
      let frames: WireFrame[];
      try {
        frames = stream.push(chunk);
      } catch (error) {
        this.problems.push(String(error));
        socket.destroy();
        return;
      }
      for (const f of frames) {
        this.note(`received ${describeFrame(f)}${f.masked ? ' masked' : ''}`);
        if (f.opcode === 0x8 && this.closeIndex === -1) this.closeIndex = this.frames.length;
        this.frames.push(f);
      }
      if (frames.length > 0) this.notify();
    };
    socket.on('data', take);
    socket.on('end', () => {
      this.note('TCP FIN from the endpoint');
      this.markEnd();
    });
    socket.on('close', () => {
      this.note('TCP closed');
      this.markEnd();
      this.closed = true;
      this.notify();
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      this.note(`socket error ${error.code ?? error.message}`),
    );
    if (rest.length > 0) take(rest);
    socket.resume();
  }

  private markEnd(): void {
    if (!this.ended) {
      this.ended = true;
      this.framesAtEnd = this.frames.length;
    }
    this.notify();
  }

  note(event: string): void {
    this.log.push(`+${(performance.now() - this.t0).toFixed(1)}ms ${event}`);
    if (this.log.length > 400) this.log.splice(0, 200, '…');
  }

  timeline(): string {
    return this.log.slice(-60).join('\n    ');
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  /** Resolves true once `predicate` holds, false after `timeoutMs`. */
  until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return;
        done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      this.waiters.add(check);
    });
  }

  get dataFrames(): number {
    return this.closeIndex === -1 ? this.frames.length : this.closeIndex;
  }

  write(bytes: Buffer, what: string): void {
    if (!this.socket.writable || this.socket.destroyed) {
      this.note(`not written (socket no longer writable): ${what}`);
      return;
    }
    this.socket.write(bytes);
    this.note(`sent ${what}`);
  }
}

async function perform(wire: Wire, action: Action, role: Role, random: () => number) {
  switch (action.kind) {
    case 'send': {
      if (action.pieces.some((p) => isFrame(p) && p.opcode === 0x8)) {
        wire.fuzzerSentClose = true;
      }
      const bytes = Buffer.concat(action.pieces.map((p) => encodePiece(p, role)));
      const what = action.pieces
        .map((p) =>
          p instanceof Uint8Array
            ? `bytes[${p.length}]`
            : 'part' in p
              ? `part [${p.from}, ${p.to ?? 'end'}) of ${describeFrame(p.part)}`
              : describeFrame(p),
        )
        .join(', ');
      const chunks = chopBytes(bytes, action.chop, random);
      if (chunks.length === 1) {
        wire.write(bytes, what);
        return;
      }
      wire.note(`sending ${what} in ${chunks.length} chunks`);
      for (let i = 0; i < chunks.length; i++) {
        if (i > 0) await sleep(action.pauseMs ?? 1);
        if (!wire.socket.writable) {
          wire.note(`stopped sending chunks at ${i}/${chunks.length}: socket not writable`);
          return;
        }
        wire.socket.write(chunks[i]!);
      }
      wire.note(`sent ${chunks.length} chunks (${bytes.length} bytes)`);
      return;
    }
    case 'wait':
      await sleep(action.ms);
      return;
    case 'awaitClose': {
      const ok = await wire.until(() => wire.closeIndex !== -1, action.timeoutMs);
      if (!ok) {
        wire.problems.push(
          `${action.why}: no close frame from the endpoint within ${action.timeoutMs} ms`,
        );
      } else wire.note(`checkpoint: close frame arrived (${action.why})`);
      return;
    }
    case 'fin':
      wire.fuzzerEnded ||= !wire.ended;
      wire.socket.end();
      wire.note('fuzzer sent FIN');
      return;
    case 'expectNoFin': {
      const ended = await wire.until(() => wire.ended, action.ms);
      if (ended)
        wire.problems.push(`${action.why}: the endpoint closed TCP within ${action.ms} ms`);
      else wire.note(`checkpoint: TCP still open after ${action.ms} ms (${action.why})`);
      return;
    }
    case 'awaitFrames': {
      const ok = await wire.until(() => wire.dataFrames >= action.count, action.timeoutMs);
      if (!ok) {
        wire.problems.push(
          `${action.why}: expected ${action.count} frames within ${action.timeoutMs} ms, got ${wire.dataFrames}`,
        );
      } else wire.note(`checkpoint: ${action.count} frames arrived (${action.why})`);
      return;
    }
  }
}

/** Checks every frame the endpoint wrote against RFC 6455 §5.1-§5.5 and the role's masking. */
function checkFrameRules(wire: Wire): void {
  const keys = new Set<string>();
  wire.frames.forEach((f, i) => {
    const at = `frame #${i} (${describeFrame(f)})`;
    if (wire.role === 'server' && f.masked) wire.problems.push(`${at}: a server frame is masked`);
    if (wire.role === 'client' && !f.masked) {
      wire.problems.push(`${at}: a client frame is not masked`);
    }
    if (f.key !== undefined) keys.add(f.key.toString('hex'));
    if (f.rsv1 || f.rsv2 || f.rsv3) wire.problems.push(`${at}: RSV bits set`);
    if (!VALID_OPCODES.has(f.opcode)) wire.problems.push(`${at}: reserved opcode ${f.opcode}`);
    if (!f.minimalLength) wire.problems.push(`${at}: length not minimally encoded`);
    if (f.opcode >= 0x8 && (!f.fin || f.payload.length > 125)) {
      wire.problems.push(`${at}: control frame fragmented or over 125 bytes`);
    }
  });
  if (wire.role === 'client' && wire.frames.length >= 4 && keys.size === 1) {
    wire.problems.push(`the client used one masking key for ${wire.frames.length} frames`);
  }
}

function checkClose(wire: Wire, expectation: CloseExpectation): void {
  const codes = closeCodes(expectation);
  const after = wire.closeIndex === -1 ? [] : wire.frames.slice(wire.closeIndex + 1);
  if (after.length > 0) {
    wire.problems.push(
      `the endpoint wrote ${after.length} frame(s) after its close frame: ${after.map(describeFrame).join(', ')}`,
    );
  }
  let code: number | null | undefined;
  if (wire.closeIndex !== -1) {
    const payload = wire.frames[wire.closeIndex]!.payload;
    if (payload.length === 1) wire.problems.push('the endpoint sent a 1-byte close payload');
    code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
    // RFC 6455 §7.4: 1004-1006, 1015 and codes outside 1000-4999 never go on the wire.
    if (code !== null && !SENDABLE(code)) {
      wire.problems.push(`the endpoint sent the close code ${code}, which may not be sent`);
    }
    if (payload.length > 2 && !isUtf8(payload.subarray(2))) {
      wire.problems.push('the close reason of the endpoint is not UTF-8');
    }
  }
  if (codes === 'tcp') return;
  if (code === undefined) {
    wire.problems.push(
      `expected a close frame with ${codes.map(showCode).join(' or ')}, got none` +
        (wire.ended && !wire.fuzzerEnded ? ' (the endpoint closed TCP without one)' : ''),
    );
    return;
  }
  if (!codes.includes(code)) {
    wire.problems.push(
      `expected close ${codes.map(showCode).join(' or ')}, got ${showCode(code)}` +
        (wire.frames[wire.closeIndex]!.payload.length > 2
          ? ` ("${wire.frames[wire.closeIndex]!.payload.subarray(2).toString()}")`
          : ''),
    );
  }
  if (wire.framesAtEnd !== -1 && wire.closeIndex >= wire.framesAtEnd) {
    wire.problems.push('TCP ended before the close frame arrived');
  }
}

export interface RunOptions {
  settings?: PeerSettings;
  /** Port of the echo server (server role). */
  port?: number;
}

/** Runs one case against one role and throws an AssertionError listing every problem. */
export async function runCase(role: Role, c: ConformanceCase, options: RunOptions): Promise<void> {
  const random = prng(seedOf(`${role} ${c.id}`));
  const first = c.actions[0];
  const withHandshake = first?.kind === 'send' && first.withHandshake === true;
  const extra = withHandshake
    ? Buffer.concat(first.pieces.map((p) => encodePiece(p, role)))
    : undefined;
  let client: ClientUnderTest | undefined;
  let socket: net.Socket;
  let rest: Buffer;
  if (role === 'server') {
    ({ socket, rest } = await handshakeAsClient(options.port!, extra));
  } else {
    client = await openClientUnderTest(options.settings ?? {}, extra);
    ({ socket, rest } = client);
  }
  const wire = new Wire(role, socket, rest);
  if (withHandshake) {
    wire.note(`sent with the handshake: ${extra!.length} bytes`);
    if (first.pieces.some((p) => isFrame(p) && p.opcode === 0x8)) {
      wire.fuzzerSentClose = true;
    }
  }
  try {
    for (const action of withHandshake ? c.actions.slice(1) : c.actions) {
      await perform(wire, action, role, random);
    }
    await finish(wire, c.close);
    checkFrameRules(wire);
    const before = wire.closeIndex === -1 ? wire.frames : wire.frames.slice(0, wire.closeIndex);
    const diff = compareFrames(before, c.frames ?? []);
    if (diff !== undefined) wire.problems.push(diff);
    checkClose(wire, c.close);
    if (c.check) wire.problems.push(...c.check(wire.frames, role));
    if (client !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const code = await Promise.race([
        client.closed,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), END_TIMEOUT);
        }),
      ]);
      clearTimeout(timer);
      if (code === undefined) wire.problems.push('the client did not emit close');
    }
    if (wire.problems.length > 0) {
      const error = new Error(
        `${caseName(role, c)}\n  - ${wire.problems.join('\n  - ')}\n  timeline:\n    ${wire.timeline()}`,
      );
      error.name = 'ConformanceFailure';
      throw error;
    }
  } finally {
    socket.destroy();
    client?.ws.terminate();
  }
}

/**
 * After the actions: wait for the endpoint's close frame (unless only TCP is expected), answer
 * it with a close if the fuzzer has not sent one, and close TCP the way the RFC wants: the
 * server closes first (RFC 6455 §7.1.1), so against a server we wait for its FIN; against a
 * client, the fuzzing server closes TCP itself.
 */
async function finish(wire: Wire, expectation: CloseExpectation): Promise<void> {
  const codes = closeCodes(expectation);
  if (codes === 'tcp') {
    if (wire.role === 'client') {
      await wire.until(() => wire.closeIndex !== -1 || wire.ended, END_TIMEOUT);
      wire.fuzzerEnded ||= !wire.ended;
      wire.socket.end();
    }
  } else {
    const got = await wire.until(() => wire.closeIndex !== -1 || wire.ended, END_TIMEOUT);
    if (!got) wire.note(`no close frame within ${END_TIMEOUT} ms`);
    if (wire.closeIndex !== -1 && !wire.fuzzerSentClose) {
      const payload = wire.frames[wire.closeIndex]!.payload;
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
      wire.fuzzerSentClose = true;
      wire.write(encodePiece(close(code), wire.role), 'the close echo');
    }
    if (wire.role === 'client') {
      wire.fuzzerEnded ||= !wire.ended;
      wire.socket.end();
      wire.note('fuzzing server closed TCP (FIN)');
    }
  }
  const closed = await wire.until(() => wire.closed, END_TIMEOUT);
  if (!closed) {
    wire.problems.push(
      wire.role === 'server' && !wire.ended
        ? `the server did not close TCP within ${END_TIMEOUT} ms`
        : `TCP did not close within ${END_TIMEOUT} ms`,
    );
  }
}

export interface SuiteOptions {
  settings?: PeerSettings;
  /** Cases run at once within a role (default 16). */
  concurrency?: number;
}

/** Declares one test per case and role, each role a concurrent suite. */
export function conformanceSuite(
  title: string,
  cases: ConformanceCase[],
  options: SuiteOptions = {},
): void {
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`duplicate case id ${c.id}`);
    ids.add(c.id);
  }
  describe(title, { concurrency: true }, () => {
    for (const role of ROLES) {
      const mine = cases.filter((c) => (c.roles ?? ROLES).includes(role));
      if (mine.length === 0) continue;
      describe(`${role} role`, { concurrency: options.concurrency ?? 16 }, () => {
        let server: EchoServer | undefined;
        before(async () => {
          if (role === 'server') server = await startEchoServer(options.settings);
        });
        after(async () => {
          await server?.close();
        });
        for (const c of mine) {
          it(caseName(role, c), { timeout: c.timeoutMs ?? 60_000 }, () =>
            runCase(role, c, { settings: options.settings, port: server?.port }),
          );
        }
      });
    }
  });
}
