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
 * KEYS: the stream, the last-id key, the stream's byte count. ARGV: origin, token, flags, data,
 * max length, ttl (ms), channel, max bytes. Returns the new id.
 *
 * The log is trimmed to `max length` entries and `max bytes` of data, oldest first: the bytes
 * key counts the data in the stream (XTRIM by count alone would let 1,000 messages of 1 MiB pin
 * 1 GiB for the TTL). The oldest entries past either bound are found with XRANGE and cut with
 * one XTRIM MINID (whole nodes freed), so each publish trims about what it added.
 */
export const PUBLISH_SCRIPT = `
local prev = redis.call('GET', KEYS[2]) or '0-0'
local id = redis.call('XADD', KEYS[1], '*',
  'p', prev, 'o', ARGV[1], 't', ARGV[2], 'f', ARGV[3], 'd', ARGV[4])
local bytes = redis.call('INCRBY', KEYS[3], #ARGV[4])
local over = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[5])
local maxBytes = tonumber(ARGV[8])
if over > 0 or bytes > maxBytes then
  local start = '-'
  local cut = nil
  while cut == nil do
    local page = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 64)
    if #page == 0 then break end
    for _, entry in ipairs(page) do
      if over <= 0 and bytes <= maxBytes then
        cut = entry[1]
        break
      end
      local fields = entry[2]
      for i = 1, #fields, 2 do
        if fields[i] == 'd' then bytes = bytes - #fields[i + 1] end
      end
      over = over - 1
      start = '(' .. entry[1]
    end
  end
  if cut == nil then
    redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)
    bytes = 0
  else
    redis.call('XTRIM', KEYS[1], 'MINID', cut)
  end
  if bytes < 0 then bytes = 0 end
  redis.call('SET', KEYS[3], bytes)
end
redis.call('SET', KEYS[2], id, 'PX', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('PUBLISH', ARGV[7],
  id .. '\\n' .. prev .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
return id
`;

export function flagsOf(binary: boolean, compress: boolean): number {
  return (binary ? FLAG_BINARY : 0) | (compress ? FLAG_COMPRESS : 0);
}

/** The most a header field (origin, token) of ours takes: longer ones are not ours. */
const MAX_FIELD = 64;
const SEQ = /^\d{1,16}-\d{1,16}$/;

/**
 * Reads a channel message; undefined when it is not one of ours (a forged or damaged one):
 * ids that are not stream ids, flags that are not ours, header fields too long, data over
 * `maxData` bytes. Never throws.
 */
export function decodeChannelMessage(
  message: Buffer,
  maxData = Number.POSITIVE_INFINITY,
): WireEntry | undefined {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < 5; i++) {
    // Header lines are short: a newline is looked for in the first bytes only.
    const end = message.subarray(start, start + 2 * MAX_FIELD).indexOf(10);
    if (end < 0) return undefined;
    fields.push(message.toString('latin1', start, start + end));
    start += end + 1;
  }
  if (message.length - start > maxData) return undefined;
  const [seq, prev, origin, token, flags] = fields as [string, string, string, string, string];
  return entry(seq, prev, origin, token, flags, message.subarray(start));
}

/** Reads a stream entry as XRANGE returns it (id, then field/value pairs); undefined if not ours. */
export function decodeStreamEntry(
  id: Buffer,
  fields: Buffer[],
  maxData = Number.POSITIVE_INFINITY,
): WireEntry | undefined {
  if (!Buffer.isBuffer(id) || !Array.isArray(fields)) return undefined;
  let p: Buffer | undefined;
  let o: Buffer | undefined;
  let t: Buffer | undefined;
  let f: Buffer | undefined;
  let d: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    if (!Buffer.isBuffer(name) || !Buffer.isBuffer(value) || name.length !== 1) continue;
    const key = name[0];
    if (key === 0x70) p = value;
    else if (key === 0x6f) o = value;
    else if (key === 0x74) t = value;
    else if (key === 0x66) f = value;
    else if (key === 0x64) d = value;
  }
  if (p === undefined || o === undefined || t === undefined || f === undefined || d === undefined) {
    return undefined;
  }
  if (d.length > maxData) return undefined;
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
): WireEntry | undefined {
  if (!SEQ.test(seq) || !(SEQ.test(prev) || prev === '0-0')) return undefined;
  if (origin.length > MAX_FIELD || token.length > MAX_FIELD) return undefined;
  if (!/^[0-3]$/.test(flags)) return undefined;
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
