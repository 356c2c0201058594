import { CloseCode } from '../../protocol/index.js';
import type { WebSocket } from '../websocket.js';

/**
 * The server's `maxLifetime`: each connection is closed with 1001 (Going Away) after the
 * lifetime minus up to `jitter` of it at random (so that the clients of a rolling deploy do not
 * all reconnect at once). One timer sweeps all of them, and runs only while some are tracked.
 */
export class Lifetimes {
  private readonly deadlines = new Map<WebSocket, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly lifetime: number,
    private readonly jitter: number,
  ) {
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new TypeError('maxLifetimeJitter must be between 0 and 1');
    }
  }

  add(ws: WebSocket): void {
    this.deadlines.set(ws, Date.now() + this.lifetime * (1 - this.jitter * Math.random()));
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), Math.min(1000, this.lifetime / 4));
      this.timer.unref();
    }
  }

  /** When `ws` will be closed (ms since the epoch), if it is tracked. */
  deadline(ws: WebSocket): number | undefined {
    return this.deadlines.get(ws);
  }

  delete(ws: WebSocket): void {
    this.deadlines.delete(ws);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [ws, deadline] of this.deadlines) {
      if (deadline <= now) {
        this.deadlines.delete(ws);
        ws.close(CloseCode.GoingAway, 'maximum connection lifetime');
      }
    }
    if (this.deadlines.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
