/**
 * A process-wide limit on zlib jobs running at once (as ws's Limiter): zlib work runs on libuv's
 * thread pool (4 threads by default), and thousands of connections compressing at once would
 * queue there, each holding its buffers, and starve the pool's other users (fs, dns).
 */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private concurrency: number) {}

  /** Runs `job` now or when a slot frees; `job` calls `done` when its zlib work is over. */
  run(job: (done: () => void) => void): void {
    if (this.running < this.concurrency) this.start(job);
    else this.waiting.push(() => this.start(job));
  }

  setConcurrency(concurrency: number): void {
    this.concurrency = concurrency;
  }

  private start(job: (done: () => void) => void): void {
    this.running++;
    let finished = false;
    job(() => {
      if (finished) return;
      finished = true;
      this.running--;
      const next = this.waiting.shift();
      if (next !== undefined) next();
    });
  }
}

/** The limiter every connection shares. */
export const zlibLimiter = new Limiter(10);
