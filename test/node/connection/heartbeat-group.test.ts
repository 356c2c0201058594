import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type HeartbeatMember,
  joinHeartbeat,
  leaveHeartbeat,
} from '../../../src/node/connection/heartbeat.js';

/** A member that counts its ticks; `alive` false makes its tick leave (as a terminate does). */
class Member implements HeartbeatMember {
  ticks: number[] = [];
  alive = true;
  constructor(
    private readonly now: () => number,
    private readonly options: { interval: number; maxMissed: number },
  ) {}
  _heartbeatTick(): boolean {
    this.ticks.push(this.now());
    if (this.alive) return true;
    leaveHeartbeat(this, this.options); // what terminate() does, from inside the tick
    return false;
  }
}

describe('heartbeat sweep', () => {
  it('sweeps a tenth of the members every tenth of the interval, each once per interval', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const options = { interval: 1_000, maxMissed: 7 };
    const members = Array.from({ length: 100 }, () => new Member(Date.now, options));
    for (const m of members) joinHeartbeat(m, options);
    t.after(() => {
      for (const m of members) leaveHeartbeat(m, options);
    });
    for (let step = 1; step <= 10; step++) {
      t.mock.timers.tick(100);
      const swept = members.filter((m) => m.ticks.length === 1).length;
      assert.equal(swept, 10 * step, `after ${step * 100} ms`);
    }
    for (let step = 0; step < 20; step++) t.mock.timers.tick(100); // (one step per timer run)
    for (const m of members) {
      assert.equal(m.ticks.length, 3);
      assert.deepEqual([m.ticks[1]! - m.ticks[0]!, m.ticks[2]! - m.ticks[1]!], [1_000, 1_000]);
    }
  });

  it('does not slice short intervals: every member at each interval', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const options = { interval: 50, maxMissed: 7 };
    const members = Array.from({ length: 20 }, () => new Member(Date.now, options));
    for (const m of members) joinHeartbeat(m, options);
    t.after(() => {
      for (const m of members) leaveHeartbeat(m, options);
    });
    t.mock.timers.tick(49);
    assert.ok(members.every((m) => m.ticks.length === 0));
    t.mock.timers.tick(1);
    assert.ok(members.every((m) => m.ticks.length === 1));
  });

  it('members that leave from inside their tick are swept no more; the group ends when empty', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const options = { interval: 1_000, maxMissed: 6 };
    const members = Array.from({ length: 20 }, () => new Member(Date.now, options));
    for (const m of members) joinHeartbeat(m, options);
    for (const m of members.slice(0, 10)) m.alive = false;
    t.mock.timers.tick(1_000);
    t.mock.timers.tick(3_000);
    for (const m of members.slice(0, 10)) assert.equal(m.ticks.length, 1, 'left at its first');
    for (const m of members.slice(10)) assert.equal(m.ticks.length, 4);
    for (const m of members.slice(10)) m.alive = false;
    t.mock.timers.tick(1_000);
    // Every member gone: a newcomer starts a fresh group, swept within one interval.
    const late = new Member(Date.now, options);
    joinHeartbeat(late, options);
    t.after(() => leaveHeartbeat(late, options));
    t.mock.timers.tick(1_000);
    assert.equal(late.ticks.length, 1);
    for (const m of members.slice(10)) assert.equal(m.ticks.length, 5, 'none swept again');
  });

  it('a member that joins twice is swept once', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const options = { interval: 1_000, maxMissed: 5 };
    const m = new Member(Date.now, options);
    joinHeartbeat(m, options);
    joinHeartbeat(m, options);
    t.mock.timers.tick(1_000);
    assert.equal(m.ticks.length, 1);
    leaveHeartbeat(m, options);
    t.mock.timers.tick(1_000);
    assert.equal(m.ticks.length, 1, 'swept no more after leaving');
  });
});
