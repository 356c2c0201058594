import {
  BUDGET_OK,
  BUDGET_REFUSE,
  BUDGET_WAIT,
  type BudgetVerdict,
  CloseCode,
  type DecodeBudget,
  ErrorCode,
  PeerError,
} from '../../protocol/index.js';
import { MemoryAccount, type MemoryBudget, type MemoryPolicy } from './memory-budget.js';

/** What a connection does for its share of the memory budget (SocketBase implements it). */
export interface ReceiveMemoryHost {
  _failLocally(error: Error): void;
  /** Stop reading from the peer, or read again (unless something else holds reading). */
  _memoryPause(): void;
  _memoryResume(): void;
  readonly _deflate: { resumeDecoding(): void } | undefined;
}

/**
 * One connection's bytes in the memory budget: what its receiver holds for a message not
 * complete yet (synced after each read), and the message being inflated (its compressed input
 * and its output so far, charged by the codec as zlib produces it). Created on first need: an
 * idle connection, or one whose messages each arrive in one read, has none.
 */
export class ReceiveMemory extends MemoryAccount implements DecodeBudget {
  /** Reading is stopped until the budget has room. */
  readingHeld = false;
  private held = 0;
  private inflating = 0;
  private inflateHeld = false;

  constructor(
    budget: MemoryBudget,
    private readonly policy: MemoryPolicy,
    private readonly host: ReceiveMemoryHost,
  ) {
    super(budget);
  }

  /** The receiver now holds `held` bytes: reserve the growth, or pause / refuse. */
  sync(held: number): void {
    const delta = held - this.held;
    if (delta === 0) return;
    if (delta < 0) {
      this.held = held;
      this.release(-delta);
      return;
    }
    if (this.tryReserve(delta)) {
      this.held = held;
      return;
    }
    if (this.policy === 'refuse') {
      // The receiver stops on the failure and drops what it held.
      this.release(this.held);
      this.held = 0;
      this.host._failLocally(budgetError());
      return;
    }
    this.held = held;
    this.charge(delta);
    if (!this.readingHeld) {
      this.readingHeld = true;
      this.host._memoryPause();
      this.wait();
    }
  }

  /** A compressed message goes to zlib (maybe after waiting for the limiter). */
  inflateStart(bytes: number): void {
    this.inflating = bytes;
    this.charge(bytes);
    this.park(true);
  }

  /** The message is decoded or failed: its bytes are the application's now, or gone. */
  end(): void {
    this.inflateHeld = false;
    this.park(false);
    const bytes = this.inflating;
    this.inflating = 0;
    this.release(bytes);
  }

  started(): void {
    this.park(false);
  }

  grow(bytes: number): BudgetVerdict {
    this.inflating += bytes;
    if (this.tryReserve(bytes)) return BUDGET_OK;
    if (this.policy === 'refuse') {
      this.inflating -= bytes;
      return BUDGET_REFUSE;
    }
    this.charge(bytes);
    this.inflateHeld = true;
    this.wait();
    return BUDGET_WAIT;
  }

  /** The connection is over. */
  override close(): void {
    this.readingHeld = false;
    this.inflateHeld = false;
    this.held = 0;
    this.inflating = 0;
    super.close();
  }

  protected override onRoom(): void {
    if (this.readingHeld) {
      this.readingHeld = false;
      this.host._memoryResume();
    }
    if (this.inflateHeld) {
      this.inflateHeld = false;
      // The codec pauses zlib after grow() answers: resume after that, never before.
      process.nextTick(resumeInflating, this.host);
    }
  }
}

function resumeInflating(host: ReceiveMemoryHost): void {
  host._deflate?.resumeDecoding();
}

function budgetError(): PeerError {
  return new PeerError(
    ErrorCode.MemoryBudgetExceeded,
    CloseCode.MessageTooBig,
    'the process memory budget for incoming messages is spent',
  );
}
