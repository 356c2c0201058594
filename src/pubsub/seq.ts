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
  const [am, an] = parts(a);
  const [bm, bn] = parts(b);
  return am !== bm ? am - bm : an - bn;
}

function parts(seq: string): [number, number] {
  const dash = seq.indexOf('-');
  if (dash < 0) return [Number(seq), 0];
  return [Number(seq.slice(0, dash)), Number(seq.slice(dash + 1))];
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
