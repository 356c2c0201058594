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

class HeartbeatGroup {
  readonly members = new Set<HeartbeatMember>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly key: string,
    private readonly options: HeartbeatOptions,
  ) {
    this.timer = setInterval(() => this.sweep(), options.interval);
    this.timer.unref();
  }

  private sweep(): void {
    for (const member of this.members) {
      if (!member._heartbeatTick(this.options.maxMissed)) this.members.delete(member);
    }
    if (this.members.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    groups.delete(this.key);
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
  group.members.add(member);
}

export function leaveHeartbeat(member: HeartbeatMember, options: HeartbeatOptions): void {
  const group = groups.get(`${options.interval}/${options.maxMissed}`);
  if (group === undefined) return;
  group.members.delete(member);
  if (group.members.size === 0) group.stop();
}
