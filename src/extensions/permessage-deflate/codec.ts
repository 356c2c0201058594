import type { DecodeBudget, Extension, ExtensionCallback } from '../../protocol/extension.js';
import type { DeflatePort, DeflatePortFactory } from './deflate-port.js';
import { type DeflateParams, PERMESSAGE_DEFLATE } from './negotiation.js';
import type { ResolvedDeflateOptions } from './options.js';
import type { SharedCompression } from './shared-compression.js';

/** RFC 7692 §7.2.1: a message's compressed data ends with this empty stored block, removed on the wire. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** An empty stored block without its tail: what an empty message compresses to (RFC 7692 §7.2.3.6). */
const EMPTY_BLOCK = Buffer.from([0x00]);
const EMPTY = Buffer.alloc(0);

type Role = 'server' | 'client';

/**
 * permessage-deflate for one connection (RFC 7692 §7.2), as an Extension: the parameters agreed
 * in the handshake decide each direction's window and context takeover; the DEFLATE work itself
 * is the port's (the binding's, asynchronous). Compressed messages carry RSV1 on their first
 * frame (RFC 7692 §6), and lose their 00 00 ff ff tail on the wire.
 */
export class PerMessageDeflate implements Extension {
  readonly name = PERMESSAGE_DEFLATE;
  /** RFC 7692 §6: RSV1 marks a compressed message. */
  readonly rsv1 = true;
  /** Messages under this many bytes go uncompressed (a choice per message, RFC 7692 §6). */
  readonly threshold: number;
  private readonly port: DeflatePort;

  constructor(
    params: DeflateParams,
    role: Role,
    options: ResolvedDeflateOptions,
    maxPayload: number,
    port: DeflatePortFactory,
  ) {
    const server = role === 'server';
    this.threshold = options.threshold;
    this.port = port({
      // RFC 7692 §7.1.2: each side's window bits bound what that side sends.
      deflateWindowBits: server ? params.serverMaxWindowBits : params.clientMaxWindowBits,
      inflateWindowBits: server ? params.clientMaxWindowBits : params.serverMaxWindowBits,
      // RFC 7692 §7.1.1: "no context takeover" resets the sender's context after each message.
      deflateTakeover: !(server ? params.serverNoContextTakeover : params.clientNoContextTakeover),
      inflateTakeover: !(server ? params.clientNoContextTakeover : params.serverNoContextTakeover),
      level: options.level,
      memLevel: options.memLevel,
      maxOutput: maxPayload > 0 ? maxPayload : Number.POSITIVE_INFINITY,
      concurrencyLimit: options.concurrencyLimit,
    });
  }

  /**
   * Without context takeover in our direction each message is compressed alone, so the same
   * compressed bytes suit every connection with the same settings: this names them (undefined
   * with context takeover), for `compressAlone`.
   */
  get shared(): SharedCompression | undefined {
    return this.port.shared;
  }

  /**
   * Extension: compresses a message, or one fragment of it (`fin` false: more follows in the
   * same deflate stream).
   */
  encode(data: Uint8Array, fin: boolean, callback: ExtensionCallback): void {
    this.port.deflate(data, fin, (error, out) => {
      if (error !== null) {
        callback(error);
        return;
      }
      // An empty message is an empty stored block without its tail (RFC 7692 §7.2.3.6).
      if (out!.length === 0) {
        callback(null, fin ? EMPTY_BLOCK : EMPTY);
        return;
      }
      // Each flush ends with 00 00 ff ff; only the message's end is stripped (RFC 7692 §7.2.1).
      callback(null, fin && out!.length >= 4 ? out!.subarray(0, out!.length - 4) : out);
    });
  }

  /** Extension: decompresses a whole message (the payloads of its frames, joined), its tail restored. */
  decode(data: Buffer, callback: ExtensionCallback, budget?: DecodeBudget): void {
    this.port.inflate(data, TAIL, callback, budget);
  }

  /** An inflation paused by its budget goes on. */
  resumeDecoding(): void {
    this.port.resumeInflate();
  }

  /** Frees the port (the connection is over); a job running ends with an error. */
  close(): void {
    this.port.close();
  }
}
