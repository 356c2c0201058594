import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { Lifetimes } from '../../../src/node/server/lifetimes.js';
import type { WebSocket } from '../../../src/node/websocket.js';

function fakeSocket() {
  const closes: [number, string][] = [];
  const ws = { close: (code: number, reason: string) => closes.push([code, reason]) };
  return { ws: ws as unknown as WebSocket, closes };
}

describe('Lifetimes (maxLifetime)', () => {
  it('closes each connection with 1001 once its deadline passes, and only then', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
    const lifetimes = new Lifetimes(10_000, 0);
    const a = fakeSocket();
    const b = fakeSocket();
    lifetimes.add(a.ws);
    t.mock.timers.tick(5_000);
    lifetimes.add(b.ws);
    assert.equal(lifetimes.deadline(a.ws), 1_010_000);
    assert.equal(lifetimes.deadline(b.ws), 1_015_000);
    t.mock.timers.tick(4_000);
    assert.deepEqual(a.closes, []);
    t.mock.timers.tick(1_000);
    assert.deepEqual(a.closes, [[1001, 'maximum connection lifetime']]);
    assert.deepEqual(b.closes, []);
    assert.equal(lifetimes.deadline(a.ws), undefined);
    t.mock.timers.tick(5_000);
    assert.deepEqual(b.closes, [[1001, 'maximum connection lifetime']]);
    assert.equal(a.closes.length, 1, 'closed once');
  });

  it('forgets a connection that closed by itself', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const lifetimes = new Lifetimes(1_000, 0);
    const a = fakeSocket();
    lifetimes.add(a.ws);
    lifetimes.delete(a.ws);
    t.mock.timers.tick(5_000);
    assert.deepEqual(a.closes, []);
  });

  it('takes up to `jitter` of the lifetime off at random', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const random = mock.method(Math, 'random', () => 1);
    t.after(() => random.mock.restore());
    const lifetimes = new Lifetimes(10_000, 0.25);
    const a = fakeSocket();
    lifetimes.add(a.ws);
    assert.equal(lifetimes.deadline(a.ws), 7_500);
    random.mock.mockImplementation(() => 0);
    const b = fakeSocket();
    lifetimes.add(b.ws);
    assert.equal(lifetimes.deadline(b.ws), 10_000);
  });

  it('refuses a jitter outside 0-1', () => {
    assert.throws(() => new Lifetimes(1_000, -0.1), TypeError);
    assert.throws(() => new Lifetimes(1_000, 1.5), TypeError);
    assert.throws(() => new Lifetimes(1_000, Number.NaN), TypeError);
  });
});
