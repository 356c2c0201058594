/**
 * Keeps sends in order around asynchronous ones (a Blob being read, a message streamed from
 * an async source): while one holds the line, later sends wait here and run in order after it.
 */
export class SendQueue {
  /** An asynchronous send holds the line: callers must queue with `run`. */
  busy = false;
  private waiting: (() => void)[] | undefined;

  /** Runs `send` now, or after the asynchronous send holding the line. */
  run(send: () => void): void {
    if (!this.busy) send();
    else if (this.waiting === undefined) this.waiting = [send];
    else this.waiting.push(send);
  }

  /** Runs `task` once the line is free, holding it until the task settles. */
  exclusive(task: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.run(() => {
        this.busy = true;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.busy = false;
            this.release();
          });
      });
    });
  }

  private release(): void {
    const waiting = this.waiting;
    while (!this.busy && waiting !== undefined && waiting.length > 0) waiting.shift()!();
  }
}
