import { compareSeq, follows } from './seq.js';

/** What a feed step produced: messages to deliver now, in order, and gaps to report. */
export interface FeedOutput<T> {
  deliver: T[];
  gaps: { after: string; before: string }[];
}

/**
 * One topic's incoming messages on one process, put in order without repeats or silent gaps.
 * Messages come live (from a broker's fan-out) and from the topic's log (read after a gap, a
 * reconnection or at the start). Each message names its predecessor, so a live message that
 * does not follow the last one delivered shows that something was missed: the caller reads the
 * log after `last` and hands it to `synced`, meanwhile live messages are held. What the log no
 * longer has is reported as a gap. Pure: the caller does the I/O.
 */
export class TopicFeed<T extends { readonly seq: string; readonly prev: string }> {
  /** The last message delivered, or the starting point; undefined until the caller sets it. */
  last: string | undefined;
  /** Live messages wait while the log is read. */
  private syncing = true;
  private held: T[] = [];
  private heldWeight = 0;

  /**
   * @param maxHeld what may be held while the log is read, weighed by `weigh` (default: each
   *   entry weighs 1): beyond it the oldest held entries are let go (the log has them, or they
   *   are reported as a gap), so a flood of messages out of order cannot grow memory unbounded.
   */
  constructor(
    private readonly maxHeld = Number.POSITIVE_INFINITY,
    private readonly weigh: (entry: T) => number = () => 1,
  ) {}

  /** Whether live messages are held until `synced`. */
  get isSyncing(): boolean {
    return this.syncing;
  }

  /** A live message. Returns true when the log after `last` must be read (then call `synced`). */
  receive(entry: T, out: FeedOutput<T>): boolean {
    if (this.syncing) {
      this.hold(entry);
      return false;
    }
    const last = this.last;
    if (last !== undefined && compareSeq(entry.seq, last) <= 0) return false;
    if (last === undefined || follows(entry.prev, last)) {
      out.deliver.push(entry);
      this.last = entry.seq;
      return false;
    }
    this.syncing = true;
    this.hold(entry);
    return true;
  }

  private hold(entry: T): void {
    this.held.push(entry);
    this.heldWeight += this.weigh(entry);
    let drop = 0;
    while (this.heldWeight > this.maxHeld && drop < this.held.length) {
      this.heldWeight -= this.weigh(this.held[drop++]!);
    }
    if (drop > 0) this.held.splice(0, drop);
  }

  /** Holds live messages until the log is read again (after a reconnection). */
  resync(): void {
    this.syncing = true;
  }

  /**
   * The log after `last` (oldest first) was read: it and the live messages held meanwhile are
   * delivered together in order (the log may already be trimmed past held ones, and held ones
   * may be newer than the log).
   */
  synced(log: readonly T[], out: FeedOutput<T>): void {
    const held = this.held;
    this.held = [];
    this.heldWeight = 0;
    this.syncing = false;
    let i = 0;
    let j = 0;
    while (i < log.length || j < held.length) {
      const next =
        j >= held.length || (i < log.length && compareSeq(log[i]!.seq, held[j]!.seq) <= 0)
          ? log[i++]!
          : held[j++]!;
      this.take(next, out);
    }
  }

  private take(entry: T, out: FeedOutput<T>): void {
    const last = this.last;
    if (last !== undefined) {
      if (compareSeq(entry.seq, last) <= 0) return;
      if (!follows(entry.prev, last)) out.gaps.push({ after: last, before: entry.seq });
    }
    out.deliver.push(entry);
    this.last = entry.seq;
  }
}
