import {
  BUDGET_REFUSE,
  BUDGET_WAIT,
  type DecodeBudget,
  type Extension,
  type ExtensionCallback,
} from '../../src/protocol/index.js';

/** One decode the fake extension was asked for, answered by the test when it likes. */
export interface PendingDecode {
  data: Buffer;
  budget: DecodeBudget | undefined;
  callback: ExtensionCallback;
}

/**
 * A fake RSV1 extension for the core's tests. `mode`: 'sync' decodes at once (the payload,
 * reversed, so that a test sees it went through the extension), 'manual' keeps each decode in
 * `pending` for the test to answer.
 */
export class FakeExtension implements Extension {
  readonly name = 'x-fake';
  readonly rsv1 = true;
  readonly pending: PendingDecode[] = [];
  resumed = 0;
  closed = false;

  constructor(readonly mode: 'sync' | 'manual' = 'sync') {}

  decode(data: Buffer, callback: ExtensionCallback, budget?: DecodeBudget): void {
    if (this.mode === 'sync') {
      callback(null, reverse(data));
      return;
    }
    this.pending.push({ data: Buffer.from(data), budget, callback });
  }

  /** Answers the oldest pending decode: its payload reversed, or `error`. */
  answer(error: Error | null = null): void {
    const job = this.pending.shift();
    if (job === undefined) throw new Error('no decode pending');
    if (error !== null) job.callback(error);
    else job.callback(null, reverse(job.data));
  }

  resumeDecoding(): void {
    this.resumed++;
  }

  encode(data: Uint8Array, _fin: boolean, callback: ExtensionCallback): void {
    callback(null, reverse(Buffer.from(data)));
  }

  close(): void {
    this.closed = true;
  }
}

/** The fake's encoding: bytes reversed (its own inverse). */
export function reverse(data: Uint8Array): Buffer {
  return Buffer.from(data).reverse();
}

/** A budget that records what it is charged, answering `verdict` to each growth. */
export function recordingBudget(verdict: 'ok' | 'wait' | 'refuse' = 'ok') {
  const grown: number[] = [];
  let started = 0;
  let ended = 0;
  const budget: DecodeBudget = {
    started() {
      started++;
    },
    grow(bytes) {
      grown.push(bytes);
      return verdict === 'ok' ? 0 : verdict === 'wait' ? BUDGET_WAIT : BUDGET_REFUSE;
    },
    end() {
      ended++;
    },
  };
  return { budget, grown, started: () => started, ended: () => ended };
}
