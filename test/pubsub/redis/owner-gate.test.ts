import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnerGate } from '../../../src/pubsub/redis/owner-gate.js';

/** Sends that settle when the test says: each records where it went. */
function sends() {
  const sent: { name: string; node: string; settle: (ok: boolean) => void }[] = [];
  const done: string[] = [];
  const make = (name: string, node: () => string) => () =>
    new Promise<string>((resolve, reject) => {
      sent.push({
        name,
        node: node(),
        settle: (ok) => (ok ? resolve(name) : reject(new Error(name))),
      });
    }).finally(() => done.push(name));
  return { sent, done, make };
}

const turns = () => new Promise((resolve) => setImmediate(resolve));

describe('OwnerGate', () => {
  it('sends at once while the owner stays; all in flight together', () => {
    const gate = new OwnerGate(() => 'A');
    const { sent, make } = sends();
    for (const name of ['a', 'b', 'c'])
      void gate.run(
        't',
        make(name, () => 'A'),
      );
    assert.deepEqual(
      sent.map((s) => s.name),
      ['a', 'b', 'c'],
    );
  });

  it('an append to a new owner waits for those in flight to the old one, then goes in order', async () => {
    let owner = 'A';
    const gate = new OwnerGate(() => owner);
    const { sent, make } = sends();
    const results = [
      gate.run(
        't',
        make('a', () => owner),
      ),
      gate.run(
        't',
        make('b', () => owner),
      ),
    ];
    owner = 'B';
    results.push(
      gate.run(
        't',
        make('c', () => owner),
      ),
      gate.run(
        't',
        make('d', () => owner),
      ),
    );
    // Another topic is not held.
    results.push(
      gate.run(
        'u',
        make('x', () => owner),
      ),
    );
    assert.deepEqual(
      sent.map((s) => s.name),
      ['a', 'b', 'x'],
    );
    sent[0]!.settle(true);
    await turns();
    assert.equal(sent.length, 3, 'b is still in flight');
    sent[1]!.settle(false); // a failure settles it too
    await turns();
    assert.deepEqual(
      sent.map((s) => `${s.name}@${s.node}`),
      ['a@A', 'b@A', 'x@B', 'c@B', 'd@B'],
    );
    for (const s of sent.slice(2)) s.settle(true);
    const outcomes = await Promise.allSettled(results);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.equal(gate.size, 0, 'nothing kept once idle');
  });

  it('a later append queues behind waiting ones even if the owner changes back', async () => {
    let owner = 'A';
    const gate = new OwnerGate(() => owner);
    const { sent, make } = sends();
    void gate.run(
      't',
      make('a', () => owner),
    );
    owner = 'B';
    void gate.run(
      't',
      make('b', () => owner),
    );
    owner = 'A';
    void gate.run(
      't',
      make('c', () => owner),
    );
    assert.deepEqual(
      sent.map((s) => s.name),
      ['a'],
    );
    sent[0]!.settle(true);
    await turns();
    assert.deepEqual(
      sent.map((s) => s.name),
      ['a', 'b', 'c'],
    );
  });

  it('fails at once past maxWaiting', async () => {
    let owner = 'A';
    const gate = new OwnerGate(() => owner, 2);
    const { make } = sends();
    void gate.run(
      't',
      make('a', () => owner),
    );
    owner = 'B';
    void gate.run(
      't',
      make('b', () => owner),
    );
    void gate.run(
      't',
      make('c', () => owner),
    );
    await assert.rejects(
      gate.run(
        't',
        make('d', () => owner),
      ),
      /2 publishes to "t"/,
    );
  });

  it('a send that throws is a rejection, and releases the waiting', async () => {
    let owner = 'A';
    const gate = new OwnerGate(() => owner);
    const { sent, make } = sends();
    const first = gate.run('t', () => {
      throw new Error('boom');
    });
    owner = 'B';
    const second = gate.run(
      't',
      make('b', () => owner),
    );
    await assert.rejects(first, /boom/);
    await turns();
    assert.deepEqual(
      sent.map((s) => s.name),
      ['b'],
    );
    sent[0]!.settle(true);
    assert.equal(await second, 'b');
  });
});
