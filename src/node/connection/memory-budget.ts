/**
 * What happens to a connection whose message would take the budget past its limit: `'pause'`
 * stops reading from it (and inflating its message) until other messages release bytes;
 * `'refuse'` fails it with 1009 (`WS_ERR_MEMORY_BUDGET_EXCEEDED`).
 */
export type MemoryPolicy = 'pause' | 'refuse';

/** The default process budget: sized for a small server (a few hundred MiB of RAM to spare). */
export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024;

/**
 * A byte budget shared by connections (by default every server connection of the process):
 * bytes of messages being assembled from several reads, and of messages being inflated (their
 * compressed input and their output so far). `maxPayload` bounds one message; this bounds
 * their sum, so that ten peers inflating 100 MiB each cannot hold a gigabyte.
 *
 * Messages that arrive whole in one read and are not compressed are never counted: they cost
 * no memory beyond the read itself. Bytes are reserved as a message grows and released when it
 * is delivered, fails or its connection closes.
 *
 * With the `'pause'` policy a connection over the limit waits; when every connection holding
 * bytes waits (or waits for zlib), the oldest waiter is let through to finish its message, so
 * that paused connections can never hold each other up forever. The limit can thus be passed by
 * one message (`maxPayload`) plus one read (64 KiB) per waiting connection.
 */
export class MemoryBudget {
  readonly limit: number;
  private _used = 0;
  private _peak = 0;
  /** Accounts holding bytes. */
  private holders = 0;
  /** Accounts holding bytes that cannot make progress (waiting here, or for zlib). */
  private blocked = 0;
  private readonly waiters: MemoryAccount[] = [];

  constructor(limit: number = DEFAULT_MEMORY_BUDGET) {
    if (!(limit > 0)) throw new TypeError('memoryBudget must be a positive number of bytes');
    this.limit = limit;
  }

  /** Bytes reserved now. */
  get used(): number {
    return this._used;
  }

  /** The most bytes reserved at once so far. */
  get peak(): number {
    return this._peak;
  }

  /** Connections waiting for bytes to be released. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** @internal */
  _add(account: MemoryAccount, bytes: number): void {
    if (account.reserved === 0 && bytes > 0) {
      this.holders++;
      if (account._isBlocked) this.blocked++;
    }
    account.reserved += bytes;
    this._used += bytes;
    if (this._used > this._peak) this._peak = this._used;
  }

  /** @internal */
  _remove(account: MemoryAccount, bytes: number): void {
    const n = Math.min(bytes, account.reserved);
    if (n <= 0) return;
    account.reserved -= n;
    this._used -= n;
    if (account.reserved === 0) {
      this.holders--;
      if (account._isBlocked) this.blocked--;
      account._forced = false;
    }
    this._settle();
  }

  /** @internal An account starts or stops being unable to progress. */
  _blockedChanged(account: MemoryAccount, blocked: boolean): void {
    if (account.reserved > 0) this.blocked += blocked ? 1 : -1;
    if (blocked) this._settle();
  }

  /** @internal */
  _enqueue(account: MemoryAccount): void {
    this.waiters.push(account);
  }

  /** @internal */
  _dequeue(account: MemoryAccount): void {
    const i = this.waiters.indexOf(account);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Wakes waiters while there is room; when every holder is stuck, lets the oldest through. */
  _settle(): void {
    const waiters = this.waiters;
    while (waiters.length > 0) {
      if (this._used < this.limit) {
        waiters.shift()!._wake(false);
      } else if (this.holders > 0 && this.blocked >= this.holders) {
        waiters.shift()!._wake(true);
      } else {
        return;
      }
    }
  }
}

/** One connection's bytes in a MemoryBudget; `onRoom` is called when a `wait()` is over. */
export class MemoryAccount {
  /** Bytes this connection holds in the budget. */
  reserved = 0;
  /** @internal Let through past the limit until its bytes are all released. */
  _forced = false;
  private waitingRoom = false;
  private parked = false;

  constructor(readonly budget: MemoryBudget) {}

  /** Called when a `wait()` is over (override it). */
  protected onRoom(): void {}

  /** @internal */
  get _isBlocked(): boolean {
    return this.waitingRoom || this.parked;
  }

  /** Reserves `bytes` more if they fit under the limit; false (nothing reserved) if not. */
  tryReserve(bytes: number): boolean {
    const budget = this.budget;
    if (!this._forced && budget.used + bytes > budget.limit) return false;
    budget._add(this, bytes);
    return true;
  }

  /** Counts `bytes` that are held already, fitting or not. */
  charge(bytes: number): void {
    this.budget._add(this, bytes);
  }

  release(bytes: number): void {
    this.budget._remove(this, bytes);
  }

  /** Waits for room: `onRoom` is called once bytes are released (or this one is let through). */
  wait(): void {
    if (this.waitingRoom) return;
    this.setBlocked(() => {
      this.waitingRoom = true;
    });
    this.budget._enqueue(this);
    this.budget._settle();
  }

  /** Marks the account as stuck elsewhere (a message queued for zlib), or no longer. */
  park(parked: boolean): void {
    if (this.parked === parked) return;
    this.setBlocked(() => {
      this.parked = parked;
    });
  }

  /** The connection is over: gives everything back and stops waiting. */
  close(): void {
    if (this.waitingRoom) {
      this.budget._dequeue(this);
      this.setBlocked(() => {
        this.waitingRoom = false;
      });
    }
    this.park(false);
    this.budget._remove(this, this.reserved);
  }

  /** @internal */
  _wake(forced: boolean): void {
    this.setBlocked(() => {
      this.waitingRoom = false;
    });
    if (forced) this._forced = true;
    this.onRoom();
  }

  private setBlocked(change: () => void): void {
    const before = this._isBlocked;
    change();
    const after = this._isBlocked;
    if (before !== after) this.budget._blockedChanged(this, after);
  }
}

/** The budget every server connection shares unless given another one. */
export const processMemoryBudget = new MemoryBudget(DEFAULT_MEMORY_BUDGET);
