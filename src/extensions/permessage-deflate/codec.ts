import * as zlib from 'node:zlib';
import { CloseCode } from '../../protocol/close-code.js';
import { ErrorCode, PeerError } from '../../protocol/errors.js';
import { zlibLimiter } from './limiter.js';
import type { DeflateParams } from './negotiation.js';
import type { ResolvedDeflateOptions } from './options.js';
import type { SharedCompression } from './shared-compression.js';

/** RFC 7692 §7.2.1: a message's compressed data ends with this empty stored block, removed on the wire. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

type Callback = (error: Error | null, result?: Buffer) => void;
type Role = 'server' | 'client';

/** A zlib stream with the state of the message being processed. */
interface Job {
  chunks: Buffer[];
  length: number;
  /** Output allowed (inflation); over it the job fails with 1009. */
  limit: number;
  error: Error | null;
  /** Ends the job once: from the flush callback, or from the stream's error. */
  finish(): void;
}

type ZlibStream = (zlib.DeflateRaw | zlib.InflateRaw) & { job?: Job };

/**
 * Streams with no context kept between messages are shared: a server with many connections
 * that agreed on no context takeover holds no zlib memory per connection (a deflate stream
 * costs about 256 KiB with windowBits 15 and memLevel 8, an inflate stream about 40 KiB).
 */
const pools = new Map<string, ZlibStream[]>();

/**
 * The permessage-deflate codec of one connection (RFC 7692 §7.2): compresses outgoing
 * messages and decompresses incoming ones, asynchronously on zlib's thread pool, under a
 * process-wide concurrency limit. Decompression stops as soon as the output passes
 * `maxPayload` (a compression bomb costs no more than the limit).
 */
export class PerMessageDeflate {
  /** False when the agreed window for our direction is 8 bits, which zlib cannot produce: we then send uncompressed (allowed, RFC 7692 §6). */
  readonly canCompress: boolean;
  readonly threshold: number;
  /**
   * Without context takeover in our direction each message is compressed alone, so the same
   * compressed bytes suit every connection with the same settings: this names them (undefined
   * with context takeover) and gives the zlib options to compress with (`compressAlone`).
   */
  readonly shared: SharedCompression | undefined;
  private readonly deflateOptions: zlib.ZlibOptions;
  private readonly inflateOptions: zlib.ZlibOptions;
  private readonly deflateTakeover: boolean;
  private readonly inflateTakeover: boolean;
  private readonly maxPayload: number;
  private deflater: ZlibStream | undefined;
  private inflater: ZlibStream | undefined;
  private closed = false;

  constructor(
    params: DeflateParams,
    role: Role,
    options: ResolvedDeflateOptions,
    maxPayload: number,
  ) {
    const ours = role === 'server' ? 'server' : 'client';
    const sendBits = ours === 'server' ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    const receiveBits = ours === 'server' ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    this.deflateTakeover = !(ours === 'server'
      ? params.serverNoContextTakeover
      : params.clientNoContextTakeover);
    this.inflateTakeover = !(ours === 'server'
      ? params.clientNoContextTakeover
      : params.serverNoContextTakeover);
    this.canCompress = sendBits >= 9;
    this.threshold = options.threshold;
    this.deflateOptions = {
      windowBits: Math.max(sendBits, 9),
      level: options.level,
      memLevel: options.memLevel,
    };
    this.shared =
      this.deflateTakeover || !this.canCompress
        ? undefined
        : { key: poolKey('d', this.deflateOptions), options: this.deflateOptions };
    // Inflating with a larger window than the peer's is always safe.
    this.inflateOptions = { windowBits: Math.max(receiveBits, 9) };
    this.maxPayload = maxPayload > 0 ? maxPayload : Number.POSITIVE_INFINITY;
  }

  /** Compresses a message, or one fragment of it (`fin` false: more follows in the same deflate stream). */
  compress(data: Uint8Array, fin: boolean, callback: Callback): void {
    zlibLimiter.run((done) => {
      if (this.closed) {
        done();
        callback(closedError());
        return;
      }
      const stream = this.deflater ?? this.takeDeflater();
      this.deflater = stream;
      const job = newJob(Number.POSITIVE_INFINITY, () => {
        stream.job = undefined;
        done();
        if (job.error !== null) {
          this.dropDeflater();
          callback(job.error);
          return;
        }
        let out = join(job.chunks, job.length);
        // Each flush ends with 00 00 ff ff; only the message's end is stripped (RFC 7692 §7.2.1).
        if (fin && out.length >= 4) out = out.subarray(0, out.length - 4);
        if (fin && !this.deflateTakeover) this.releaseDeflater();
        callback(null, out);
      });
      stream.job = job;
      stream.write(data);
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => job.finish());
    });
  }

  /** Decompresses a whole message (the payloads of its frames, joined). */
  decompress(data: Buffer, callback: Callback): void {
    zlibLimiter.run((done) => {
      if (this.closed) {
        done();
        callback(closedError());
        return;
      }
      const stream = this.inflater ?? this.takeInflater();
      this.inflater = stream;
      const job = newJob(this.maxPayload, () => {
        stream.job = undefined;
        done();
        if (job.error !== null) {
          // The stream's state is unknown after an error or a cut: never reuse it.
          this.dropInflater();
          callback(job.error);
          return;
        }
        if (!this.inflateTakeover) this.releaseInflater();
        callback(null, join(job.chunks, job.length));
      });
      stream.job = job;
      stream.write(data);
      stream.write(TAIL);
      stream.flush(() => job.finish());
    });
  }

  /** Frees the zlib streams (the connection is over). */
  close(): void {
    this.closed = true;
    this.dropDeflater();
    this.dropInflater();
  }

  private takeDeflater(): ZlibStream {
    if (!this.deflateTakeover) {
      const pooled = pools.get(poolKey('d', this.deflateOptions))?.pop();
      if (pooled !== undefined) return pooled;
    }
    return watch(zlib.createDeflateRaw(this.deflateOptions));
  }

  private takeInflater(): ZlibStream {
    if (!this.inflateTakeover) {
      const pooled = pools.get(poolKey('i', this.inflateOptions))?.pop();
      if (pooled !== undefined) return pooled;
    }
    return watch(zlib.createInflateRaw(this.inflateOptions));
  }

  /** A stream without context goes back to the shared pool, reset. */
  private releaseDeflater(): void {
    const stream = this.deflater;
    this.deflater = undefined;
    if (stream !== undefined) release(stream, poolKey('d', this.deflateOptions));
  }

  private releaseInflater(): void {
    const stream = this.inflater;
    this.inflater = undefined;
    if (stream !== undefined) release(stream, poolKey('i', this.inflateOptions));
  }

  private dropDeflater(): void {
    const stream = this.deflater;
    this.deflater = undefined;
    if (stream !== undefined && stream.job === undefined) stream.destroy();
  }

  private dropInflater(): void {
    const stream = this.inflater;
    this.inflater = undefined;
    if (stream !== undefined && stream.job === undefined) stream.destroy();
  }
}

function newJob(limit: number, end: () => void): Job {
  let ended = false;
  return {
    chunks: [],
    length: 0,
    limit,
    error: null,
    finish() {
      if (ended) return;
      ended = true;
      end();
    },
  };
}

const MAX_POOLED = 16;

function release(stream: ZlibStream, key: string): void {
  stream.reset();
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = [];
    pools.set(key, pool);
  }
  if (pool.length < MAX_POOLED) pool.push(stream);
  else stream.close();
}

function poolKey(kind: string, options: zlib.ZlibOptions): string {
  return `${kind}/${options.windowBits}/${options.level ?? ''}/${options.memLevel ?? ''}`;
}

/** Collects a stream's output into its current job, and cuts it at the job's limit. */
function watch(stream: ZlibStream): ZlibStream {
  stream.on('data', (chunk: Buffer) => {
    const job = stream.job;
    if (job === undefined || job.error !== null) return;
    job.length += chunk.length;
    if (job.length > job.limit) {
      job.error = new PeerError(
        ErrorCode.MessageTooBig,
        CloseCode.MessageTooBig,
        'the decompressed message is over maxPayload',
      );
      job.chunks = [];
      // Stop inflating now: the rest of a bomb is never produced.
      stream.reset();
      return;
    }
    job.chunks.push(chunk);
  });
  stream.on('error', (error: Error) => {
    const job = stream.job;
    if (job !== undefined && job.error === null) {
      // RFC 7692 §8: data that cannot be decompressed fails the connection (1007, as ws).
      job.error = new PeerError(
        ErrorCode.InvalidCompressedData,
        CloseCode.InvalidFramePayloadData,
        `invalid compressed data: ${error.message}`,
      );
    }
    // A failed zlib stream may never call back its flush.
    job?.finish();
  });
  return stream;
}

function join(chunks: Buffer[], length: number): Buffer {
  if (chunks.length === 1) return chunks[0]!;
  return Buffer.concat(chunks, length);
}

function closedError(): Error {
  return new Error('The connection is closed');
}
