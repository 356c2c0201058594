import type { LogEntry, LogRecord } from '../log-backend.js';
import {
  decodeChannelBatch,
  decodeChannelMessage,
  decodeStreamEntry,
  flagsOf,
  MAX_BATCH,
  packRecords,
} from './wire.js';

/**
 * What one Redis server (redis-log.ts) and a Redis Cluster (redis-cluster-log.ts) do the same
 * way with a topic's keys: the arguments of the append scripts (wire.ts), reading the stream,
 * and the entries of a channel message. Only where the keys live and how commands reach them
 * differ.
 */

/** A topic's keys, in the scripts' KEYS order: its stream, last id, byte count, sizes list. */
export type TopicKeys = readonly [log: string, last: string, bytes: string, sizes: string];

/** The history bounds every append applies (LogAdapter's settings). */
export interface AppendBounds {
  readonly historyLength: number;
  readonly historyTtl: number;
  readonly historyBytes: number;
}

/** The arguments of PUBLISH_SCRIPT for one record. */
export function appendArgs(
  keys: TopicKeys,
  channel: string,
  record: LogRecord,
  bounds: AppendBounds,
): (string | number | Buffer)[] {
  return [
    ...keys,
    record.origin,
    record.token,
    flagsOf(record.binary, record.compress),
    record.data,
    bounds.historyLength,
    bounds.historyTtl,
    channel,
    bounds.historyBytes,
  ];
}

/**
 * How a batch goes: the arguments of PUBLISH_MANY_SCRIPT, `'each'` when its records are of
 * several origins (they go one by one), or an error for a batch the script does not take.
 */
export function appendManyArgs(
  keys: TopicKeys,
  channel: string,
  records: readonly LogRecord[],
  bounds: AppendBounds,
): (string | number | Buffer)[] | 'each' | Error {
  const origin = records[0]?.origin;
  if (origin === undefined) return new RangeError('an empty batch');
  if (records.length > MAX_BATCH) return new RangeError(`a batch of over ${MAX_BATCH} messages`);
  if (records.some((record) => record.origin !== origin)) return 'each';
  return [
    ...keys,
    bounds.historyLength,
    bounds.historyTtl,
    channel,
    bounds.historyBytes,
    origin,
    records.length,
    packRecords(records),
  ];
}

type StreamPage = [id: Buffer, fields: Buffer[]][];

const PAGE = 1000;

/**
 * The entries of a stream after `after`, oldest first, a page at a time; an entry that is not
 * ours is left out and its size given to `malformed`.
 */
export async function readLog(
  xrange: (
    key: string,
    start: string,
    end: string,
    count: 'COUNT',
    n: number,
  ) => Promise<StreamPage>,
  key: string,
  after: string,
  maxMessage: number,
  malformed: (bytes: number) => void,
): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  let start = `(${after}`;
  for (;;) {
    const page = await xrange(key, start, '+', 'COUNT', PAGE);
    for (const [id, fields] of page) {
      const entry = decodeStreamEntry(id, fields, maxMessage);
      if (entry !== undefined) entries.push(entry);
      else malformed(fields.reduce((n, f) => n + f.length, 0));
    }
    if (page.length < PAGE) return entries;
    start = `(${page[page.length - 1]![0].toString('latin1')}`;
  }
}

/**
 * The entries a channel message carries: a batch (PUBLISH_MANY_SCRIPT, starting with `*`) or
 * one entry (starting with its id's digits); undefined when it is not ours.
 */
export function channelEntries(message: Buffer, maxMessage: number): LogEntry[] | undefined {
  if (message[0] === 0x2a) return decodeChannelBatch(message, maxMessage);
  const entry = decodeChannelMessage(message, maxMessage);
  return entry === undefined ? undefined : [entry];
}
