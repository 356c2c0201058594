/**
 * Sequence ids of published messages: `<ms>-<n>`, the shape of Redis stream ids, ordered by
 * `ms` then `n`. Every message of a topic has one, greater than the one before it, and carries
 * the id of the message before it (`prev`, `0-0` for the first): a receiver that knows the
 * last id it saw can tell whether anything came in between.
 */
export const FIRST_PREV = '0-0';

const SEQ = /^(\d{1,16})(?:-(\d{1,16}))?$/;

/** Whether `value` is a sequence id (`<ms>-<n>`, or `<ms>` for `<ms>-0`). */
export function isSeq(value: unknown): value is string {
  return typeof value === 'string' && SEQ.test(value);
}

/** Negative, zero or positive as `a` is before, equal to, or after `b`. */
export function compareSeq(a: string, b: string): number {
  if (a === b) return 0;
  // Parsed in place: this runs for every message delivered (no substrings to collect).
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const am = digits(a, 0, da < 0 ? a.length : da);
  const bm = digits(b, 0, db < 0 ? b.length : db);
  if (am !== bm) return am - bm;
  return (da < 0 ? 0 : digits(a, da + 1, a.length)) - (db < 0 ? 0 : digits(b, db + 1, b.length));
}

/** The number written in `text` from `start` to `end` (sequence ids' parts: digits only). */
function digits(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

/**
 * Whether a message whose predecessor is `prev` comes right after `last` (nothing in between):
 * its predecessor is `last`, or is older than `last` (no message between them). A message
 * whose predecessor is `0-0` starts a topic's log: after any other `last`, the log was started
 * over (a broker that lost its data) and what came after `last` is unknown.
 */
export function follows(prev: string, last: string): boolean {
  if (prev === last) return true;
  const order = compareSeq(prev, last);
  return order === 0 || (order < 0 && compareSeq(prev, FIRST_PREV) !== 0);
}

/**
 * Whether a replay after `since` missed nothing: its first message follows `since`. With no
 * message to replay, `firstPrev` is the topic's last id (or undefined when nothing is known).
 */
export function replayComplete(since: string, firstPrev: string | undefined): boolean {
  return firstPrev === undefined || follows(firstPrev, since);
}
