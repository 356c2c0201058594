import { compressAlone, type SharedCompression } from '../extensions/index.js';
import { Opcode, prepareFrame } from '../protocol/index.js';
import { type Delivery, sequencedText } from './index.js';

/** What waits for a shared frame: an outbox, pumped once the frame is ready. */
export interface FrameWaiter {
  pump(): void;
}

/**
 * A frame made once for many connections that may not be ready yet (a compression on zlib's
 * thread pool). Connections hold their place for it in their outbox, in order.
 */
export class SharedFrame {
  /** The frame, once made. */
  bytes: Buffer | undefined;
  private waiters: FrameWaiter[] | undefined = [];

  /**
   * `make` produces the frame asynchronously; if it fails, `fallback` gives one that is always
   * right (the uncompressed frame: a message may always go uncompressed, RFC 7692 §6).
   */
  constructor(
    make: (done: (error: Error | null, frame?: Buffer) => void) => void,
    fallback: () => Buffer,
  ) {
    make((error, frame) => {
      this.bytes = error === null ? frame! : fallback();
      const waiters = this.waiters!;
      this.waiters = undefined;
      for (const waiter of waiters) waiter.pump();
    });
  }

  /** Pumps `waiter` once the frame is ready (at once if it is). */
  wait(waiter: FrameWaiter): void {
    if (this.waiters === undefined) waiter.pump();
    else this.waiters.push(waiter);
  }
}

/** Subscription flag: the subscriber gets the sequenced JSON form (pubsub/envelope.ts). */
export const SEQUENCED = 1;
/** Subscription flag: a replay is in progress; live messages wait. */
export const REPLAYING = 2;

/**
 * One published message as this process delivers it: its payload and frame in each form
 * (plain, sequenced) and each compression group, each made once, when first needed, and
 * shared by every subscriber.
 */
export class PreparedMessage {
  private plainFrame: Buffer | undefined;
  private sequencedPayload: Buffer | undefined;
  private sequencedFrame: Buffer | undefined;
  private compressed: Map<string, SharedFrame> | undefined;

  constructor(readonly delivery: Delivery) {}

  get compress(): boolean {
    return this.delivery.compress;
  }

  /** Whether the form goes as a binary message (the sequenced form is always text). */
  isBinary(sequenced: boolean): boolean {
    return !sequenced && this.delivery.binary;
  }

  /** The message's bytes in a form. */
  payload(sequenced: boolean): Buffer {
    if (!sequenced) return this.delivery.data;
    this.sequencedPayload ??= Buffer.from(sequencedText(this.delivery));
    return this.sequencedPayload;
  }

  /** The uncompressed frame of a form. */
  frame(sequenced: boolean): Buffer {
    if (sequenced) {
      this.sequencedFrame ??= prepareFrame(Opcode.Text, this.payload(true));
      return this.sequencedFrame;
    }
    this.plainFrame ??= prepareFrame(
      this.delivery.binary ? Opcode.Binary : Opcode.Text,
      this.delivery.data,
    );
    return this.plainFrame;
  }

  /** The compressed frame of a form for one compression group, compressed once for the group. */
  compressedFrame(sequenced: boolean, group: SharedCompression): SharedFrame {
    const key = `${sequenced ? 's' : 'p'}/${group.key}`;
    this.compressed ??= new Map();
    let frame = this.compressed.get(key);
    if (frame === undefined) {
      const opcode = this.isBinary(sequenced) ? Opcode.Binary : Opcode.Text;
      frame = new SharedFrame(
        (done) =>
          compressAlone(this.payload(sequenced), group, (error, out) =>
            // RFC 7692 §6.1: RSV1 marks the compressed message.
            done(error, error === null ? prepareFrame(opcode, out!, true) : undefined),
          ),
        () => this.frame(sequenced),
      );
      this.compressed.set(key, frame);
    }
    return frame;
  }
}
