import * as zlib from 'node:zlib';
import { zlibLimiter } from './limiter.js';

/**
 * Compression settings that connections share when none of them keeps a compression context
 * between messages (server_no_context_takeover, RFC 7692 §7.1.1.1): a message compressed alone
 * with these options is valid on each of them, so it is compressed once for all.
 */
export interface SharedCompression {
  /** Equal keys, equal options: the window bits, level and memLevel. */
  readonly key: string;
  readonly options: Readonly<zlib.ZlibOptions>;
}

/**
 * Compresses one whole message alone (no context before or after it), as permessage-deflate
 * sends it: a sync flush with its 00 00 ff ff tail removed (RFC 7692 §7.2.1). Runs under the
 * process-wide zlib limiter.
 */
export function compressAlone(
  data: Uint8Array,
  shared: SharedCompression,
  callback: (error: Error | null, compressed?: Buffer) => void,
): void {
  zlibLimiter.run((done) => {
    zlib.deflateRaw(
      data,
      { ...shared.options, finishFlush: zlib.constants.Z_SYNC_FLUSH },
      (error, out) => {
        done();
        if (error !== null) callback(error);
        else callback(null, out.length >= 4 ? out.subarray(0, out.length - 4) : out);
      },
    );
  });
}
