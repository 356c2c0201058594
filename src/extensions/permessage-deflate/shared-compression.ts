/**
 * Compression settings that connections share when none of them keeps a compression context
 * between messages (server_no_context_takeover, RFC 7692 §7.1.1.1): a message compressed alone
 * with these settings is valid on each of them, so it is compressed once for all. Made by the
 * binding's DeflatePort.
 */
export interface SharedCompression {
  /** Equal keys, equal settings: the window bits, level and memLevel. */
  readonly key: string;
  /** Compresses one whole message alone with a sync flush (the output ends with 00 00 ff ff). */
  deflateAlone(data: Uint8Array, callback: (error: Error | null, out?: Buffer) => void): void;
}

/**
 * Compresses one whole message alone (no context before or after it), as permessage-deflate
 * sends it: a sync flush with its 00 00 ff ff tail removed (RFC 7692 §7.2.1).
 */
export function compressAlone(
  data: Uint8Array,
  shared: SharedCompression,
  callback: (error: Error | null, compressed?: Buffer) => void,
): void {
  shared.deflateAlone(data, (error, out) => {
    if (error !== null) callback(error);
    else callback(null, out!.length >= 4 ? out!.subarray(0, out!.length - 4) : out);
  });
}
