// A fake writer for the send queue's unit tests (test/node/send/): it records what would go on
// the wire, checks the wire's fragment rules (RFC 6455 §5.4: no other message inside a
// fragmented one; RFC 7692 §6.1: RSV1 on a first frame only), and lets a test set how much
// the transport holds. Its fake compressor finishes when the test says so.
import type { PerMessageDeflate } from '../../src/extensions/index.js';
import type { BackpressurePolicy } from '../../src/node/connection/options.js';
import {
  type Callback,
  type DroppedMessage,
  Outbox,
  type SendWriter,
} from '../../src/node/send/outbox.js';

export type WireEvent =
  | { kind: 'frame'; text: string; fin: boolean; rsv1: boolean | undefined }
  | { kind: 'raw'; text: string }
  | { kind: 'close'; code: number | undefined }
  | { kind: 'control'; ping: boolean; text: string };

const decoder = new TextDecoder();
const text = (payload: string | Uint8Array): string =>
  typeof payload === 'string' ? payload : decoder.decode(payload);

/**
 * A compressor (`encode`, what compressItem calls) whose output is `z:` + its input, called
 * back when `finish` runs.
 */
export class FakeDeflate {
  readonly shared = undefined;
  readonly waiting: (() => void)[] = [];
  failNext = false;
  constructor(readonly threshold = 0) {}

  encode(data: Uint8Array, _fin: boolean, cb: (error: Error | null, out?: Buffer) => void): void {
    const fail = this.failNext;
    this.failNext = false;
    this.waiting.push(() => {
      if (fail) cb(new Error('deflate failed'));
      else cb(null, Buffer.concat([Buffer.from('z:'), data]));
    });
  }

  /** Completes the compressions started so far, in order. */
  finish(): void {
    for (const done of this.waiting.splice(0)) done();
  }
}

export class FakeWriter implements SendWriter {
  readonly wire: WireEvent[] = [];
  readonly dropped: DroppedMessage[] = [];
  readonly asyncErrors: Error[] = [];
  /** Violations of the wire's fragment rules seen. */
  readonly violations: string[] = [];
  drains = 0;
  awaits = 0;
  failed: string | undefined;
  /** Bytes the transport holds (a test sets it). */
  pending = 0;
  open = true;
  private fragmenting = false;
  _deflate: PerMessageDeflate | undefined;

  constructor(deflate?: FakeDeflate) {
    this._deflate = deflate as unknown as PerMessageDeflate | undefined;
  }

  _pendingBytes(): number {
    return this.pending;
  }
  _sendsData(): boolean {
    return this.open;
  }
  _deliverFrame(
    payload: string | Uint8Array,
    _binary: boolean,
    fin: boolean,
    rsv1: boolean | undefined,
    cb: Callback | undefined,
  ): void {
    if (rsv1 === true && this.fragmenting) this.violations.push('RSV1 on a continuation');
    this.fragmenting = !fin;
    this.wire.push({ kind: 'frame', text: text(payload), fin, rsv1 });
    if (cb !== undefined) process.nextTick(cb, null);
  }
  _deliverRaw(frame: Buffer): void {
    if (this.fragmenting) this.violations.push('a publish inside a fragmented message');
    this.wire.push({ kind: 'raw', text: text(frame) });
  }
  _deliverClose(code: number | undefined): void {
    this.open = false;
    this.wire.push({ kind: 'close', code });
  }
  _deliverControl(ping: boolean, payload: Uint8Array, cb: Callback | undefined): void {
    this.wire.push({ kind: 'control', ping, text: text(payload) });
    if (cb !== undefined) process.nextTick(cb, this.open ? null : new Error('closed'));
  }
  _awaitTransport(): void {
    this.awaits++;
  }
  _failPolicy(_code: number, reason: string): void {
    this.failed = reason;
    this.open = false;
  }
  _emitDropped(info: DroppedMessage): void {
    this.dropped.push(info);
  }
  _emitDrain(): void {
    this.drains++;
  }
  _emitAsyncError(error: Error, cb: Callback | undefined): void {
    if (cb !== undefined) cb(error);
    else this.asyncErrors.push(error);
  }

  /** The data frames' texts, in wire order. */
  texts(): string[] {
    return this.wire.flatMap((e) => (e.kind === 'frame' || e.kind === 'raw' ? [e.text] : []));
  }
}

/** A writer and its queue. */
export function queueWith(
  options: {
    limit?: number;
    policy?: BackpressurePolicy;
    deflate?: FakeDeflate;
    midMessage?: boolean;
  } = {},
): { writer: FakeWriter; box: Outbox } {
  const writer = new FakeWriter(options.deflate);
  const box = new Outbox(
    writer,
    options.limit ?? 16 * 1024 * 1024,
    options.policy ?? 'close',
    options.midMessage ?? false,
  );
  return { writer, box };
}

/** Sends `text` through the queue as the socket does (the byte count given). */
export function sendText(
  box: Outbox,
  data: string,
  options: { fin?: boolean; compress?: boolean; cb?: Callback } = {},
): boolean {
  return box.send(
    data,
    false,
    options.fin ?? true,
    options.cb,
    options.compress,
    Buffer.byteLength(data),
  );
}

/** Lets promise callbacks and ticks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
