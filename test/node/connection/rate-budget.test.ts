import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { RateBudget } from '../../../src/node/connection/rate-budget.js';

describe('RateBudget (rateLimit)', () => {
  it('allows a burst of one second, then refills at the rate', () => {
    let now = 0;
    const clock = mock.method(performance, 'now', () => now);
    try {
      const budget = new RateBudget({ messages: 10, bytes: Number.POSITIVE_INFINITY });
      for (let i = 0; i < 10; i++) assert.equal(budget.charge(1), true, `message ${i}`);
      assert.equal(budget.charge(1), false, 'the 11th in the same instant');
      now = 1_000; // one second refills the whole burst, the overdraft included
      const fresh = new RateBudget({ messages: 10, bytes: Number.POSITIVE_INFINITY });
      now = 2_000;
      for (let i = 0; i < 10; i++) assert.equal(fresh.charge(1), true);
      now = 2_100; // a tenth of a second: one more message
      assert.equal(fresh.charge(1), true);
      assert.equal(fresh.charge(1), false);
    } finally {
      clock.mock.restore();
    }
  });

  it('counts bytes apart from messages, and never banks more than one second', () => {
    let now = 0;
    const clock = mock.method(performance, 'now', () => now);
    try {
      const budget = new RateBudget({ messages: 1_000, bytes: 1_000 });
      assert.equal(budget.charge(600), true);
      assert.equal(budget.charge(600), false);
      const idle = new RateBudget({ messages: 1_000, bytes: 1_000 });
      now = 60_000; // a minute idle still allows only one second's worth
      assert.equal(idle.charge(1_000), true);
      assert.equal(idle.charge(1), false);
    } finally {
      clock.mock.restore();
    }
  });
});
