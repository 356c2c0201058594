/**
 * How the Redis adapter keeps and carries a message. Each publish runs one script (atomic in
 * Redis) that appends the message to the topic's stream (its log, trimmed to a window) with
 * the id of the message before it, remembers the new id as the topic's last, and publishes
 * the same on the topic's channel. All processes therefore see one order per topic: the order
 * of the stream ids.
 *
 * Channel message: `<seq>\n<prev>\n<origin>\n<token>\n<flags>\n<data>` (data: raw bytes).
 * Batch channel message (several entries appended by one script, PUBLISH_MANY_SCRIPT):
 * `*<n>\n` then n times `<seq>\n<prev>\n<origin>\n<token>\n<flags>\n<length>\n<data>`.
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

/** The most sizes a trim pops at once, and entries a rebuild of the sizes reads at once. */
const TRIM_PAGE = 256;

/**
 * Before an append, in both scripts: KEYS[4] lists the data size of each entry of the stream,
 * oldest first, so that a trim never reads entries (converting an entry to Lua is costly).
 * When the list does not match the stream (a key lost, entries appended by a version that
 * kept no list), it is made again from the stream, once.
 */
const SIZES = `local len = redis.call('XLEN', KEYS[1])
if redis.call('LLEN', KEYS[4]) ~= len then
  redis.call('DEL', KEYS[4])
  local start = '-'
  while true do
    local page = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', ${TRIM_PAGE})
    if #page == 0 then break end
    local sizes = {}
    for _, entry in ipairs(page) do
      local size = 0
      local fields = entry[2]
      for j = 1, #fields, 2 do
        if fields[j] == 'd' then size = #fields[j + 1] end
      end
      sizes[#sizes + 1] = size
      start = '(' .. entry[1]
    end
    redis.call('RPUSH', KEYS[4], unpack(sizes))
  end
end
`;

/**
 * Trims a log after an append, in both scripts: given `len` (XLEN), `over` (entries past the
 * max length), `bytes` (the byte count after the append) and `maxBytes`, the sizes of the
 * oldest entries past either bound are popped from KEYS[4] and the entries cut with one exact
 * XTRIM MAXLEN.
 */
const TRIM = `if over > 0 or bytes > maxBytes then
  local removed = 0
  while over > 0 or bytes > maxBytes do
    local count = over
    if count < 1 then count = 1 end
    if count > ${TRIM_PAGE} then count = ${TRIM_PAGE} end
    local sizes = redis.call('LPOP', KEYS[4], count)
    if not sizes then break end
    for _, size in ipairs(sizes) do
      bytes = bytes - tonumber(size)
      over = over - 1
      removed = removed + 1
    end
  end
  if removed >= len then
    redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)
    redis.call('DEL', KEYS[4])
    bytes = 0
  else
    redis.call('XTRIM', KEYS[1], 'MAXLEN', len - removed)
  end
  if bytes < 0 then bytes = 0 end
  redis.call('SET', KEYS[3], bytes)
end
`;

/**
 * KEYS: the stream, the last-id key, the stream's byte count, the list of its entries' sizes
 * (SIZES). ARGV: origin, token, flags, data,
 * max length, ttl (ms), channel, max bytes. Returns the new id.
 *
 * The log is trimmed to `max length` entries and `max bytes` of data, oldest first: the bytes
 * key counts the data in the stream (XTRIM by count alone would let 1,000 messages of 1 MiB pin
 * 1 GiB for the TTL). Each publish trims about what it added (TRIM).
 */
export const PUBLISH_SCRIPT = `
${SIZES}local prev = redis.call('GET', KEYS[2]) or '0-0'
local id = redis.call('XADD', KEYS[1], '*',
  'p', prev, 'o', ARGV[1], 't', ARGV[2], 'f', ARGV[3], 'd', ARGV[4])
redis.call('RPUSH', KEYS[4], #ARGV[4])
len = len + 1
local bytes = redis.call('INCRBY', KEYS[3], #ARGV[4])
local over = len - tonumber(ARGV[5])
local maxBytes = tonumber(ARGV[8])
${TRIM}redis.call('SET', KEYS[2], id, 'PX', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('PEXPIRE', KEYS[4], ARGV[6])
redis.call('PUBLISH', ARGV[7],
  id .. '\\n' .. prev .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
return id
`;

/**
 * PUBLISH_SCRIPT for several messages of one topic at once (one process's publishes of a
 * tick): they are appended in order, each naming the one before it, the log is trimmed once,
 * and one channel message carries them all (the batch format above). KEYS: as PUBLISH_SCRIPT.
 * ARGV: max length, ttl (ms), channel, max bytes, origin, n, then the records packed in one
 * argument (packRecords: one argument costs ioredis far less than three per record).
 * Returns the last one's id (the others are in the channel message).
 *
 * Trimming reads only the entries it removes (converting an entry to Lua is most of a trim's
 * cost), at most TRIM_PAGE at a time, and cuts them with one exact XTRIM MAXLEN.
 */
export const PUBLISH_MANY_SCRIPT = `
local maxLength = tonumber(ARGV[1])
local maxBytes = tonumber(ARGV[4])
local origin = ARGV[5]
local n = tonumber(ARGV[6])
${SIZES}local prev = redis.call('GET', KEYS[2]) or '0-0'
local parts = {'*' .. n .. '\\n'}
local sizes = {}
local added = 0
local packed = ARGV[7]
local pos = 1
for i = 0, n - 1 do
  local a = string.find(packed, '\\n', pos, true)
  local token = string.sub(packed, pos, a - 1)
  local flags = string.sub(packed, a + 1, a + 1)
  local b = string.find(packed, '\\n', a + 3, true)
  local size = tonumber(string.sub(packed, a + 3, b - 1))
  local data = string.sub(packed, b + 1, b + size)
  pos = b + size + 1
  local id = redis.call('XADD', KEYS[1], '*', 'p', prev, 'o', origin, 't', token, 'f', flags, 'd', data)
  parts[#parts + 1] = id .. '\\n' .. prev .. '\\n' .. origin .. '\\n' .. token .. '\\n' .. flags .. '\\n' .. #data .. '\\n'
  parts[#parts + 1] = data
  sizes[i + 1] = #data
  added = added + #data
  prev = id
end
redis.call('RPUSH', KEYS[4], unpack(sizes))
len = len + n
local bytes = redis.call('INCRBY', KEYS[3], added)
local over = len - maxLength
${TRIM}redis.call('SET', KEYS[2], prev, 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
redis.call('PUBLISH', ARGV[3], table.concat(parts))
return prev
`;

/**
 * A batch's records as PUBLISH_MANY_SCRIPT takes them: `<token>\n<flag digit>\n<length>\n<data>`
 * each, one after the other. Tokens are the adapter's numbers (no newline).
 */
export function packRecords(
  records: readonly { token: string; binary: boolean; compress: boolean; data: Buffer }[],
): Buffer {
  const heads: string[] = [];
  let total = 0;
  for (const record of records) {
    const head = `${record.token}\n${flagsOf(record.binary, record.compress)}\n${record.data.length}\n`;
    heads.push(head);
    total += head.length + record.data.length;
  }
  const packed = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < records.length; i++) {
    offset += packed.write(heads[i]!, offset, 'latin1');
    offset += records[i]!.data.copy(packed, offset);
  }
  return packed;
}

export function flagsOf(binary: boolean, compress: boolean): number {
  return (binary ? FLAG_BINARY : 0) | (compress ? FLAG_COMPRESS : 0);
}

/** The most a header field (origin, token) of ours takes: longer ones are not ours. */
const MAX_FIELD = 64;
const SEQ = /^\d{1,16}-\d{1,16}$/;
/** The most entries a batch channel message of ours carries (RedisLog sends fewer). */
export const MAX_BATCH = 4096;

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

/**
 * Reads a batch channel message (PUBLISH_MANY_SCRIPT); undefined when it is not one of ours,
 * as decodeChannelMessage (each entry's data within `maxData`), or names more than `maxCount`
 * entries. Never throws.
 */
export function decodeChannelBatch(
  message: Buffer,
  maxData = Number.POSITIVE_INFINITY,
  maxCount = MAX_BATCH,
): WireEntry[] | undefined {
  const header = readLine(message, 0);
  if (header === undefined || message[0] !== 0x2a) return undefined;
  const count = header.text.slice(1);
  if (!/^[1-9]\d{0,5}$/.test(count) || Number(count) > maxCount) return undefined;
  const entries: WireEntry[] = [];
  let start = header.next;
  for (let n = Number(count); n > 0; n--) {
    const fields: string[] = [];
    for (let i = 0; i < 6; i++) {
      const line = readLine(message, start);
      if (line === undefined) return undefined;
      fields.push(line.text);
      start = line.next;
    }
    const [seq, prev, origin, token, flags, size] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (!/^(0|[1-9]\d{0,15})$/.test(size)) return undefined;
    const length = Number(size);
    if (length > maxData || length > message.length - start) return undefined;
    const decoded = entry(seq, prev, origin, token, flags, message.subarray(start, start + length));
    if (decoded === undefined) return undefined;
    entries.push(decoded);
    start += length;
  }
  return start === message.length ? entries : undefined;
}

/** What PUBLISH_MANY_SCRIPT publishes, written in JS (for tests and backends without Lua). */
export function encodeChannelBatch(entries: readonly WireEntry[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${entries.length}\n`, 'latin1')];
  for (const e of entries) {
    const flags = flagsOf(e.binary, e.compress);
    const head = `${e.seq}\n${e.prev}\n${e.origin}\n${e.token}\n${flags}\n${e.data.length}\n`;
    parts.push(Buffer.from(head, 'latin1'), e.data);
  }
  return Buffer.concat(parts);
}

/**
 * A header line starting at `start`: header lines are short, a longer one is not ours (the
 * search stops at the first newline, so a message is scanned about once in all).
 */
function readLine(message: Buffer, start: number): { text: string; next: number } | undefined {
  const end = message.indexOf(10, start);
  if (end < 0 || end - start >= 2 * MAX_FIELD) return undefined;
  return { text: message.toString('latin1', start, end), next: end + 1 };
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
