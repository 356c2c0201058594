/**
 * Shared pieces of the interop suites: deterministic payloads (the Python peers build the same
 * bytes, see peers/common.py), byte comparison that does not dump 16 MiB on failure, and an
 * event recorder for anything with ws's event API (ws's and tsws's WebSocket alike).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

export const MiB = 1024 * 1024;
/** Sizes around the frame header's length encodings (7-bit, 16-bit, 64-bit) and a big one. */
export const SIZES = [0, 125, 126, 65535, 65536, 16 * MiB] as const;
/** How long a single expected event may take before a test fails with a message. */
export const EVENT_TIMEOUT = 10_000;

const PERIOD = 251; // prime, so a shifted or truncated copy never matches by accident

/** `size` bytes: a 251-byte block `(i * 7 + seed) % 256` repeated (peers/common.py: `binary`). */
export function binaryPayload(size: number, seed = 0): Buffer {
  const block = Buffer.alloc(PERIOD);
  for (let i = 0; i < PERIOD; i++) block[i] = (i * 7 + seed) % 256;
  return size === 0 ? Buffer.alloc(0) : Buffer.alloc(size, block);
}

const UNIT = 'aé✓🙂'; // 1 + 2 + 3 + 4 = 10 UTF-8 bytes: code points of every length

/**
 * Text of exactly `size` UTF-8 bytes with 1- to 4-byte code points, so frame and chunk
 * boundaries fall inside characters (peers/common.py: `text`).
 */
export function textPayload(size: number): string {
  return UNIT.repeat(Math.floor(size / 10)) + 'x'.repeat(size % 10);
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Asserts equal bytes; on failure reports lengths and the first difference, not the data. */
export function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  let i = 0;
  const n = Math.min(actual.length, expected.length);
  while (i < n && actual[i] === expected[i]) i++;
  assert.fail(
    `${what}: ${actual.length} B received, ${expected.length} B expected; first difference at byte ${i}`,
  );
}

/** Resolves with `promise` or fails after `ms` with a message saying what was awaited. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What ws's and tsws's WebSocket have in common, as far as these tests use it. */
export interface Endpoint {
  readonly protocol: string;
  readonly extensions: unknown;
  readonly readyState: number;
  send(
    data: string | Buffer,
    options?: { binary?: boolean; fin?: boolean },
    cb?: (error?: Error | null) => void,
  ): void;
  ping(data?: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
}

export interface Message {
  data: Buffer;
  isBinary: boolean;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * Records every event of an endpoint from the moment it is attached (attach it synchronously
 * in `connection` or right after `new WebSocket`, so nothing is missed), and lets a test await
 * them in order.
 */
export class Recorder {
  readonly messages: Message[] = [];
  readonly pings: Buffer[] = [];
  readonly pongs: Buffer[] = [];
  readonly errors: Error[] = [];
  closed: CloseInfo | undefined;
  opened = false;
  private readonly wakers = new Set<() => void>();
  private taken = 0;

  constructor(
    readonly label: string,
    readonly socket: Endpoint,
  ) {
    const on = socket.on.bind(socket) as (e: string, l: (...a: unknown[]) => void) => unknown;
    on('open', () => this.record(() => (this.opened = true)));
    on('message', (data, isBinary) =>
      this.record(() => this.messages.push({ data: toBuffer(data), isBinary: isBinary === true })),
    );
    on('ping', (data) => this.record(() => this.pings.push(data as Buffer)));
    on('pong', (data) => this.record(() => this.pongs.push(data as Buffer)));
    on('error', (error) => this.record(() => this.errors.push(error as Error)));
    on('close', (code, reason) =>
      this.record(() => {
        this.closed = { code: code as number, reason: (reason as Buffer).toString() };
      }),
    );
  }

  private record(change: () => unknown): void {
    change();
    for (const wake of this.wakers) wake();
  }

  /** Waits until `check` returns something other than undefined. */
  until<T>(what: string, check: () => T | undefined, ms = EVENT_TIMEOUT): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    let wake!: () => void;
    const done = new Promise<T>((resolve) => {
      wake = () => {
        const value = check();
        if (value !== undefined) resolve(value);
      };
      this.wakers.add(wake);
    });
    return withTimeout(done, ms, `${what} on ${this.label}`).finally(() =>
      this.wakers.delete(wake),
    );
  }

  /** The next message not yet taken. */
  async nextMessage(ms = EVENT_TIMEOUT): Promise<Message> {
    const index = this.taken;
    const message = await this.until(`message #${index + 1}`, () => this.messages[index], ms);
    this.taken = index + 1;
    // Drop what was taken so 16 MiB messages do not pile up on a shared connection.
    this.messages[index] = undefined as unknown as Message;
    return message;
  }

  /** The next `count` messages not yet taken. */
  async nextMessages(count: number, ms = EVENT_TIMEOUT): Promise<Message[]> {
    const first = this.taken;
    await this.until(`${count} messages`, () => this.messages[first + count - 1], ms);
    this.taken = first + count;
    return this.messages.slice(first, first + count);
  }

  pong(payload: Buffer, ms = EVENT_TIMEOUT): Promise<Buffer> {
    return this.until(`pong ${show(payload)}`, () => this.pongs.find((p) => p.equals(payload)), ms);
  }

  ping(payload: Buffer, ms = EVENT_TIMEOUT): Promise<Buffer> {
    return this.until(`ping ${show(payload)}`, () => this.pings.find((p) => p.equals(payload)), ms);
  }

  close(ms = EVENT_TIMEOUT): Promise<CloseInfo> {
    return this.until('close event', () => this.closed, ms);
  }

  open(ms = EVENT_TIMEOUT): Promise<true> {
    return this.until('open event', () => (this.opened ? true : undefined), ms);
  }
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError(`unexpected message data: ${typeof data}`);
}

function show(payload: Buffer): string {
  return payload.length <= 16 ? JSON.stringify(payload.toString()) : `(${payload.length} B)`;
}
