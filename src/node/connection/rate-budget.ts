import type { RateLimit } from './options.js';

/**
 * A connection's message-rate and byte-rate budgets: token buckets refilled continuously, each
 * holding at most one second's worth (the burst).
 */
export class RateBudget {
  private messages: number;
  private bytes: number;
  private at = performance.now();

  constructor(private readonly limit: Readonly<Required<RateLimit>>) {
    this.messages = limit.messages;
    this.bytes = limit.bytes;
  }

  /** Charges one message (or control frame) of `bytes`; false when a budget is overdrawn. */
  charge(bytes: number): boolean {
    const limit = this.limit;
    const now = performance.now();
    const elapsed = (now - this.at) / 1000;
    this.at = now;
    // No refill within one clock tick: 0 × an unlimited rate (Infinity) would be NaN.
    if (elapsed > 0) {
      this.messages = Math.min(limit.messages, this.messages + elapsed * limit.messages);
      this.bytes = Math.min(limit.bytes, this.bytes + elapsed * limit.bytes);
    }
    this.messages -= 1;
    this.bytes -= bytes;
    return this.messages >= 0 && this.bytes >= 0;
  }
}
