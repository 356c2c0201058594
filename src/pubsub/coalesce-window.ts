import { ErrorCode, UsageError } from '../protocol/index.js';

/**
 * The `pubsub.coalesce` option: published frames wait per subscriber, up to a bound, so that
 * what several publishes send a subscriber goes in one write (one system call) instead of one
 * each. Throughput for latency: off by default.
 */
export interface CoalesceOptions {
  /**
   * Microseconds a published frame may wait for more (default 0: until the end of the event
   * loop's turn, so that publishes made from several I/O callbacks of one turn go together).
   */
  delay?: number;
  /** A subscriber's held frames are written once this many wait (default 64). */
  messages?: number;
}

/** What a window holds frames for: a connection that writes what it holds when told. */
export interface WindowMember {
  /** @internal The window ended: write what is held now (nothing if it was written meanwhile). */
  _endWindow(): void;
}

/**
 * One window shared by every subscriber of a server: members in the order they began to hold
 * (so in deadline order), one timer for the oldest. A timer has a millisecond's grain: the
 * whole milliseconds left are waited by a timer, what is left after it (under a millisecond:
 * a sub-millisecond delay, or a timer that fired early) by `setImmediate` turns, so a frame
 * never waits past the delay by more than a turn of the event loop (the loop spins meanwhile,
 * polling I/O, for at most that fraction of a millisecond).
 */
export class CoalesceWindow {
  /** Held frames of one member after which they go at once. */
  readonly messages: number;
  private readonly delayNs: bigint;
  private members: WindowMember[] = [];
  private deadlines: bigint[] = [];
  /** Index of the first member still waiting (the arrays are compacted when it is drained). */
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  constructor(options: CoalesceOptions) {
    const delay = options.delay ?? 0;
    const messages = options.messages ?? 64;
    if (!(Number.isFinite(delay) && delay >= 0)) {
      throw new UsageError(ErrorCode.InvalidArgument, `pubsub.coalesce.delay: ${delay}`);
    }
    if (!(Number.isInteger(messages) && messages >= 1)) {
      throw new UsageError(ErrorCode.InvalidArgument, `pubsub.coalesce.messages: ${messages}`);
    }
    this.messages = messages;
    this.delayNs = BigInt(Math.round(delay * 1000));
  }

  /** `member` began to hold frames: it is told to write them at most the delay from now. */
  hold(member: WindowMember): void {
    this.members.push(member);
    this.deadlines.push(process.hrtime.bigint() + this.delayNs);
    if (this.timer === undefined && this.immediate === undefined) this.arm();
  }

  /** Ends every window now (the server closes). */
  flush(): void {
    this.clear();
    this.end(undefined);
  }

  private arm(): void {
    const left = Number(this.deadlines[this.head]! - process.hrtime.bigint()) / 1000;
    if (left >= 1000) {
      this.timer = setTimeout(onTimer, Math.floor(left / 1000), this);
    } else {
      this.immediate = setImmediate(onTimer, this);
    }
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** @internal Ends the windows due by `now` (all of them when undefined), re-arms for the rest. */
  _fire(): void {
    this.timer = undefined;
    this.immediate = undefined;
    this.end(process.hrtime.bigint());
    if (this.head < this.members.length) this.arm();
  }

  private end(now: bigint | undefined): void {
    const { members, deadlines } = this;
    let i = this.head;
    // A member told to write may hold again (and be pushed) meanwhile: its new entry waits.
    const stop = members.length;
    while (i < stop && (now === undefined || deadlines[i]! <= now)) {
      const member = members[i]!;
      i++;
      this.head = i;
      member._endWindow();
    }
    if (this.head === members.length) {
      this.members = [];
      this.deadlines = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > members.length) {
      this.members = members.slice(this.head);
      this.deadlines = deadlines.slice(this.head);
      this.head = 0;
    }
  }
}

function onTimer(window: CoalesceWindow): void {
  window._fire();
}
