/**
 * Heartbeat (the article's liveness check, done by the RFC): every `interval` ms a connection
 * that has been silent since the last sweep counts a missed beat; one that reaches `maxMissed`
 * is terminated; the others are pinged (RFC 6455 §5.5.2: any inbound frame proves liveness).
 * One timer sweeps every connection that shares a setting, not a timer per socket.
 */

export interface HeartbeatOptions {
  /** Milliseconds between pings. */
  interval: number;
  /** Pings in a row without any frame from the peer before the connection is terminated. */
  maxMissed: number;
}

/** About 30 s, as most proxies keep idle connections for at least a minute. */
export const DEFAULT_HEARTBEAT: Readonly<HeartbeatOptions> = { interval: 30_000, maxMissed: 2 };
/** The article's profile: a ping every 5 s, dead after 3 missed. */
export const FAST_HEARTBEAT: Readonly<HeartbeatOptions> = { interval: 5_000, maxMissed: 3 };

/** What a heartbeat sweeps. */
export interface HeartbeatMember {
  /** Called on each sweep; returns false when the member should leave the group. */
  _heartbeatTick(maxMissed: number): boolean;
}

/**
 * Slices of a sweep: the members are dealt round-robin into this many buckets, and one bucket
 * is swept every `interval / SLICES` ms. Each member is still swept once per interval, but
 * 10,000 connections get 1,000 pings at a time rather than 10,000 in one burst (which would
 * hold the event loop, and the peers', for tens of milliseconds every interval).
 */
const SLICES = 10;
/** Below this interval a sweep is not sliced (a timer finer than 10 ms would drift). */
const SLICED_FROM_MS = 100;

class HeartbeatGroup {
  private readonly buckets: Set<HeartbeatMember>[];
  private readonly timer: NodeJS.Timeout;
  /** The bucket swept next. */
  private turn = 0;
  /** The bucket the next member joins. */
  private deal = 0;
  /** Members in all buckets. */
  size = 0;

  constructor(
    private readonly key: string,
    private readonly options: HeartbeatOptions,
  ) {
    const slices = options.interval >= SLICED_FROM_MS ? SLICES : 1;
    this.buckets = Array.from({ length: slices }, () => new Set<HeartbeatMember>());
    this.timer = setInterval(() => this.sweep(), options.interval / slices);
    this.timer.unref();
  }

  add(member: HeartbeatMember): void {
    if (this.buckets.some((bucket) => bucket.has(member))) return;
    const bucket = this.buckets[this.deal]!;
    this.deal = (this.deal + 1) % this.buckets.length;
    bucket.add(member);
    this.size++;
  }

  delete(member: HeartbeatMember): void {
    for (const bucket of this.buckets) {
      if (bucket.delete(member)) {
        this.size--;
        return;
      }
    }
  }

  private sweep(): void {
    const bucket = this.buckets[this.turn]!;
    this.turn = (this.turn + 1) % this.buckets.length;
    for (const member of bucket) {
      // A member terminated by its tick may have left already (leaveHeartbeat).
      if (!member._heartbeatTick(this.options.maxMissed) && bucket.delete(member)) this.size--;
    }
    if (this.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    if (groups.get(this.key) === this) groups.delete(this.key);
  }
}

const groups = new Map<string, HeartbeatGroup>();

export function validateHeartbeat(options: HeartbeatOptions): HeartbeatOptions {
  const { interval, maxMissed } = options;
  if (!(Number.isFinite(interval) && interval > 0)) {
    throw new TypeError('heartbeat.interval must be a positive number of milliseconds');
  }
  if (!(Number.isInteger(maxMissed) && maxMissed > 0)) {
    throw new TypeError('heartbeat.maxMissed must be a positive integer');
  }
  return { interval, maxMissed };
}

export function joinHeartbeat(member: HeartbeatMember, options: HeartbeatOptions): void {
  const key = `${options.interval}/${options.maxMissed}`;
  let group = groups.get(key);
  if (group === undefined) {
    group = new HeartbeatGroup(key, options);
    groups.set(key, group);
  }
  group.add(member);
}

export function leaveHeartbeat(member: HeartbeatMember, options: HeartbeatOptions): void {
  const group = groups.get(`${options.interval}/${options.maxMissed}`);
  if (group === undefined) return;
  group.delete(member);
  if (group.size === 0) group.stop();
}
