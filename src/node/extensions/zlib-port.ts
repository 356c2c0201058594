import * as zlib from 'node:zlib';
import type {
  DeflatePort,
  DeflatePortSettings,
  PortCallback,
} from '../../extensions/permessage-deflate/deflate-port.js';
import { zlibLimiter } from '../../extensions/permessage-deflate/limiter.js';
import type { SharedCompression } from '../../extensions/permessage-deflate/shared-compression.js';
import {
  BUDGET_OK,
  BUDGET_REFUSE,
  BUDGET_WAIT,
  CloseCode,
  type DecodeBudget,
  ErrorCode,
  PeerError,
  UsageError,
} from '../../protocol/index.js';

const EMPTY = Buffer.alloc(0);
/** Inputs up to this size get the tail appended by a copy (one zlib pass). */
const JOIN_TAIL_BELOW = 64 * 1024;

/** A zlib stream with the state of the message being processed. */
interface Job {
  chunks: Buffer[];
  length: number;
  /** Output allowed (inflation); over it the job fails with 1009. */
  limit: number;
  /** Where inflated output is charged, if anywhere. */
  budget: DecodeBudget | undefined;
  error: Error | null;
  /** zlib has taken all of the job's input (its write called back). */
  inputDone: boolean;
  /** Ends the job once: when its output is all read (see `settle`), or on an error. */
  finish(): void;
}

type ZlibStream = (zlib.DeflateRaw | zlib.InflateRaw) & { job?: Job };

/**
 * The zlib options of one kind of stream and its pool, shared by every connection with the
 * same settings. Streams with no context kept between messages are pooled: a server with many
 * connections that agreed on no context takeover holds no zlib memory per idle connection (a
 * deflate stream costs about 256 KiB with windowBits 15 and memLevel 8, an inflate stream
 * about 40 KiB; see the README's table).
 */
class StreamKind implements SharedCompression {
  readonly pool: ZlibStream[] = [];
  constructor(
    readonly key: string,
    readonly inflate: boolean,
    readonly options: Readonly<zlib.ZlibOptions>,
  ) {}

  /** SharedCompression: one whole message, alone, under the process-wide limiter. */
  deflateAlone(data: Uint8Array, callback: PortCallback): void {
    zlibLimiter.run((done) => {
      zlib.deflateRaw(
        data,
        { ...this.options, finishFlush: zlib.constants.Z_SYNC_FLUSH },
        (error, out) => {
          done();
          if (error !== null) callback(error);
          else callback(null, out);
        },
      );
    });
  }
}

const kinds = new Map<string, StreamKind>();

function streamKind(inflate: boolean, options: zlib.ZlibOptions): StreamKind {
  const key = `${inflate}/${options.windowBits}/${options.level}/${options.memLevel}`;
  let kind = kinds.get(key);
  if (kind === undefined) {
    kind = new StreamKind(key, inflate, Object.freeze(options));
    kinds.set(key, kind);
  }
  return kind;
}

/** The DeflatePort of the Node binding: node:zlib streams, pooled, under `zlibLimiter`. */
export function nodeDeflatePort(settings: DeflatePortSettings): DeflatePort {
  return new ZlibPort(settings);
}

/**
 * One connection's zlib streams, asynchronous on zlib's thread pool under a process-wide
 * concurrency limit. Inflation stops as soon as the output passes `maxOutput` (a compression
 * bomb costs no more than the limit).
 */
class ZlibPort implements DeflatePort {
  readonly shared: SharedCompression | undefined;
  private readonly deflateKind: StreamKind;
  private readonly inflateKind: StreamKind;
  private readonly deflateTakeover: boolean;
  private readonly inflateTakeover: boolean;
  private readonly maxOutput: number;
  /** The process-wide limit this connection asked for (withdrawn on close). */
  private readonly concurrencyLimit: number | undefined;
  private deflater: ZlibStream | undefined;
  private inflater: ZlibStream | undefined;
  private closed = false;

  constructor(settings: DeflatePortSettings) {
    this.deflateTakeover = settings.deflateTakeover;
    this.inflateTakeover = settings.inflateTakeover;
    // zlib's raw deflate takes 9 bits at least; with 9 its matches reach back at most
    // 2^9 - 262 = 250 bytes, so its output fits an agreed 8-bit (256-byte) window too.
    this.deflateKind = streamKind(false, {
      windowBits: Math.max(settings.deflateWindowBits, 9),
      level: settings.level,
      memLevel: settings.memLevel,
    });
    // A stream kind is shared by every connection with the same settings: its key names them.
    this.shared = this.deflateTakeover ? undefined : this.deflateKind;
    // Inflating with a larger window than the peer's is always safe.
    this.inflateKind = streamKind(true, { windowBits: Math.max(settings.inflateWindowBits, 9) });
    this.maxOutput = settings.maxOutput;
    this.concurrencyLimit = settings.concurrencyLimit;
    if (this.concurrencyLimit !== undefined) zlibLimiter.request(this.concurrencyLimit);
  }

  deflate(data: Uint8Array, end: boolean, callback: PortCallback): void {
    // zlib would write nothing for a flush with no new input (Z_BUF_ERROR).
    if (data.length === 0) {
      process.nextTick(() => this.deflateNothing(end, callback));
      return;
    }
    zlibLimiter.run((done) => {
      if (this.closed) {
        done();
        callback(closedError());
        return;
      }
      const stream = this.deflater ?? take(this.deflateKind);
      this.deflater = stream;
      const job = newJob(Number.POSITIVE_INFINITY, () => {
        stream.job = undefined;
        done();
        if (job.error !== null || this.closed) {
          // The stream's state is unknown after an error: never reuse it.
          this.dropDeflater(stream);
          callback(job.error ?? closedError());
          return;
        }
        if (end && !this.deflateTakeover) {
          this.deflater = undefined;
          release(stream, this.deflateKind);
        }
        callback(null, join(job.chunks, job.length));
      });
      stream.job = job;
      // The stream flushes every write (Z_SYNC_FLUSH): one pass on zlib's thread, not two.
      stream.write(data, () => inputDone(stream, job));
    });
  }

  private deflateNothing(end: boolean, callback: PortCallback): void {
    if (this.closed) {
      callback(closedError());
      return;
    }
    const stream = this.deflater;
    if (end && !this.deflateTakeover && stream !== undefined) {
      this.deflater = undefined;
      release(stream, this.deflateKind);
    }
    callback(null, EMPTY);
  }

  inflate(data: Buffer, tail: Buffer, callback: PortCallback, budget?: DecodeBudget): void {
    zlibLimiter.run((done) => {
      budget?.started();
      if (this.closed) {
        done();
        callback(closedError());
        return;
      }
      // A message that ended with a BFINAL block ended the peer's DEFLATE stream (RFC 7692
      // §7.2.3.4): the next message starts a new one.
      if (this.inflater?.readableEnded) this.dropInflater(this.inflater);
      const stream = this.inflater ?? take(this.inflateKind);
      this.inflater = stream;
      const job = newJob(this.maxOutput, () => {
        stream.job = undefined;
        done();
        if (job.error !== null || this.closed) {
          // The stream's state is unknown after an error or a cut: never reuse it.
          this.dropInflater(stream);
          callback(job.error ?? closedError());
          return;
        }
        if (stream.readableEnded) this.dropInflater(stream);
        else if (!this.inflateTakeover) {
          this.inflater = undefined;
          release(stream, this.inflateKind);
        }
        callback(null, join(job.chunks, job.length));
      });
      job.budget = budget;
      stream.job = job;
      // One write where the copy is cheap: each write is a pass on zlib's thread.
      if (data.length <= JOIN_TAIL_BELOW) {
        stream.write(Buffer.concat([data, tail]), () => inputDone(stream, job));
      } else {
        stream.write(data);
        stream.write(tail, () => inputDone(stream, job));
      }
    });
  }

  resumeInflate(): void {
    const stream = this.inflater;
    const job = stream?.job;
    if (job === undefined) return;
    stream!.resume();
    settle(stream!, job);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.concurrencyLimit !== undefined) zlibLimiter.withdraw(this.concurrencyLimit);
    // An inflation paused by its budget would never finish by itself: end it now.
    const paused = this.inflater;
    if (paused?.job !== undefined && paused.isPaused()) {
      const job = paused.job;
      job.error ??= closedError();
      this.dropInflater(paused);
      job.finish();
    }
    if (this.deflater?.job === undefined) this.dropDeflater(this.deflater);
    if (this.inflater?.job === undefined) this.dropInflater(this.inflater);
  }

  private dropDeflater(stream: ZlibStream | undefined): void {
    if (this.deflater === stream) this.deflater = undefined;
    stream?.destroy();
  }

  private dropInflater(stream: ZlibStream | undefined): void {
    if (this.inflater === stream) this.inflater = undefined;
    stream?.destroy();
  }
}

function take(kind: StreamKind): ZlibStream {
  const pooled = kind.pool.pop();
  if (pooled !== undefined) return pooled;
  return watch(
    kind.inflate
      ? zlib.createInflateRaw({ ...kind.options, flush: zlib.constants.Z_SYNC_FLUSH })
      : zlib.createDeflateRaw({ ...kind.options, flush: zlib.constants.Z_SYNC_FLUSH }),
  );
}

function newJob(limit: number, end: () => void): Job {
  let ended = false;
  return {
    chunks: [],
    length: 0,
    limit,
    budget: undefined,
    error: null,
    inputDone: false,
    finish() {
      if (ended) return;
      ended = true;
      end();
    },
  };
}

const MAX_POOLED = 16;

/** A stream without context goes back to its kind's pool, reset. */
function release(stream: ZlibStream, kind: StreamKind): void {
  stream.reset();
  if (kind.pool.length < MAX_POOLED) kind.pool.push(stream);
  else stream.close();
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
      // Stop inflating now: a destroyed stream processes no more of its input, so the rest
      // of a bomb is never produced. The job ends here (no flush callback will come).
      stream.destroy();
      job.finish();
      return;
    }
    const verdict = job.budget === undefined ? BUDGET_OK : job.budget.grow(chunk.length);
    if (verdict === BUDGET_REFUSE) {
      job.error = new PeerError(
        ErrorCode.MemoryBudgetExceeded,
        CloseCode.MessageTooBig,
        'the process memory budget for incoming messages is spent',
      );
      job.chunks = [];
      stream.destroy();
      job.finish();
      return;
    }
    job.chunks.push(chunk);
    // zlib produces nothing more while its output is not read (Node's zlib backpressure).
    if (verdict === BUDGET_WAIT) stream.pause();
    else settle(stream, job);
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

/** zlib has consumed a job's input: the job ends once its output is read too. */
function inputDone(stream: ZlibStream, job: Job): void {
  job.inputDone = true;
  settle(stream, job);
}

/**
 * Ends a job whose input zlib has consumed once none of its output waits unread. A paused
 * stream (the memory budget) calls its write back as soon as the rest of its output fits in its
 * readable buffer (16 KiB on Node 20, 64 KiB from Node 22): ending then would cut the message
 * and hand a paused stream with stale output to the pool.
 */
function settle(stream: ZlibStream, job: Job): void {
  if (job.inputDone && stream.readableLength === 0 && !stream.isPaused()) job.finish();
}

function join(chunks: Buffer[], length: number): Buffer {
  if (chunks.length === 1) return chunks[0]!;
  if (chunks.length === 0) return EMPTY;
  return Buffer.concat(chunks, length);
}

/** A job given to (or still queued in) a port that was closed with its connection. */
function closedError(): UsageError {
  return new UsageError(ErrorCode.InvalidState, 'The connection is closed');
}
