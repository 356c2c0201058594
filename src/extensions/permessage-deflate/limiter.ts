import { DEFAULT_CONCURRENCY_LIMIT } from './options.js';

/**
 * A process-wide limit on zlib jobs running at once (as ws's Limiter): zlib work runs on libuv's
 * thread pool (4 threads by default), and thousands of connections compressing at once would
 * queue there, each holding its buffers, and starve the pool's other users (fs, dns).
 *
 * The limit in force is the smallest one asked for by a live connection (`request`), so that
 * servers and clients in one process that set `concurrencyLimit` are all held to it whatever
 * the order they were created in; when none asks, the default (`setConcurrency`) applies.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Live requests: limit -> how many connections asked for it. */
  private readonly requests = new Map<number, number>();
  private concurrency: number;

  constructor(private defaultConcurrency: number) {
    this.concurrency = defaultConcurrency;
  }

  /** The limit in force now. */
  get limit(): number {
    return this.concurrency;
  }

  /** Runs `job` now or when a slot frees; `job` calls `done` when its zlib work is over. */
  run(job: (done: () => void) => void): void {
    if (this.running < this.concurrency) this.start(job);
    else this.waiting.push(() => this.start(job));
  }

  /** Sets the limit used while no connection asks for one. */
  setConcurrency(concurrency: number): void {
    this.defaultConcurrency = concurrency;
    this.update();
  }

  /** A connection asks for at most `concurrency` jobs at once, process-wide, while it lives. */
  request(concurrency: number): void {
    this.requests.set(concurrency, (this.requests.get(concurrency) ?? 0) + 1);
    this.update();
  }

  /** Withdraws one `request(concurrency)` (the connection is over). */
  withdraw(concurrency: number): void {
    const count = (this.requests.get(concurrency) ?? 0) - 1;
    if (count > 0) this.requests.set(concurrency, count);
    else this.requests.delete(concurrency);
    this.update();
  }

  private update(): void {
    let limit = Number.POSITIVE_INFINITY;
    for (const asked of this.requests.keys()) limit = Math.min(limit, asked);
    this.concurrency = this.requests.size === 0 ? this.defaultConcurrency : limit;
    // A higher limit lets waiting jobs start now.
    while (this.running < this.concurrency && this.waiting.length > 0) this.waiting.shift()!();
  }

  private start(job: (done: () => void) => void): void {
    this.running++;
    let finished = false;
    job(() => {
      if (finished) return;
      finished = true;
      this.running--;
      if (this.running < this.concurrency) this.waiting.shift()?.();
    });
  }
}

/** The limiter every connection shares. */
export const zlibLimiter = new Limiter(DEFAULT_CONCURRENCY_LIMIT);
