/**
 * How the Redis adapter keeps and carries a message. Each publish runs one script (atomic in
 * Redis) that appends the message to the topic's stream (its log, trimmed to a window) with
 * the id of the message before it, remembers the new id as the topic's last, and publishes
 * the same on the topic's channel. All processes therefore see one order per topic: the order
 * of the stream ids.
 *
 * Channel message: `<seq>\n<prev>\n<origin>\n<token>\n<flags>\n<data>` (data: raw bytes).
 * Stream entry fields: p (prev), o (origin), t (token), f (flags), d (data).
 * flags: 1 binary, 2 may be compressed.
 */

export const FLAG_BINARY = 1;
export const FLAG_COMPRESS = 2;

/** A message read from Redis. */
export interface WireEntry {
  seq: string;
  prev: string;
  /** The process that published it, and its number there (to give back `except`). */
  origin: string;
  token: string;
  binary: boolean;
  compress: boolean;
  data: Buffer;
}

/**
 * KEYS: the stream, the last-id key. ARGV: origin, token, flags, data, max length, ttl (ms),
 * channel. Returns the new id.
 */
export const PUBLISH_SCRIPT = `
local prev = redis.call('GET', KEYS[2]) or '0-0'
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*',
  'p', prev, 'o', ARGV[1], 't', ARGV[2], 'f', ARGV[3], 'd', ARGV[4])
redis.call('SET', KEYS[2], id, 'PX', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[7],
  id .. '\\n' .. prev .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
return id
`;

export function flagsOf(binary: boolean, compress: boolean): number {
  return (binary ? FLAG_BINARY : 0) | (compress ? FLAG_COMPRESS : 0);
}

/** Reads a channel message; undefined when it is not one of ours. */
export function decodeChannelMessage(message: Buffer): WireEntry | undefined {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const end = message.indexOf(10, start);
    if (end < 0) return undefined;
    fields.push(message.toString('latin1', start, end));
    start = end + 1;
  }
  const [seq, prev, origin, token, flags] = fields as [string, string, string, string, string];
  return entry(seq, prev, origin, token, flags, message.subarray(start));
}

/** Reads a stream entry as XRANGE returns it (id, then field/value pairs). */
export function decodeStreamEntry(id: Buffer, fields: Buffer[]): WireEntry | undefined {
  const values: Record<string, Buffer> = {};
  for (let i = 0; i + 1 < fields.length; i += 2)
    values[fields[i]!.toString('latin1')] = fields[i + 1]!;
  const { p, o, t, f, d } = values;
  if (p === undefined || o === undefined || t === undefined || f === undefined || d === undefined) {
    return undefined;
  }
  return entry(
    id.toString('latin1'),
    p.toString('latin1'),
    o.toString('latin1'),
    t.toString('latin1'),
    f.toString('latin1'),
    d,
  );
}

function entry(
  seq: string,
  prev: string,
  origin: string,
  token: string,
  flags: string,
  data: Buffer,
): WireEntry {
  const bits = Number(flags);
  return {
    seq,
    prev,
    origin,
    token,
    binary: (bits & FLAG_BINARY) !== 0,
    compress: (bits & FLAG_COMPRESS) !== 0,
    data,
  };
}
