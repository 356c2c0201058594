// The memory budget under random load: random peers (compressed or not) send random messages
// (whole, or in fragments) to a server with a small budget and a random policy. Every message
// is delivered intact or its connection is closed with 1009; nothing hangs (a deadlock of
// paused peers would time out); the budget is back to 0 once every connection is closed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  WebSocket as Client,
  MemoryBudget,
  type WebSocket,
  WebSocketServer,
} from '../../../src/index.js';
import { runs } from '../../helpers/fuzz.js';
import { next, portOf, shutdown, until } from '../../helpers/node-util.js';

const KiB = 1024;

const peerArb = fc.record({
  compressed: fc.boolean(),
  messages: fc.array(
    fc.record({
      size: fc.integer({ min: 0, max: 768 * KiB }),
      fill: fc.integer({ min: 0, max: 255 }),
      fragments: fc.integer({ min: 1, max: 4 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

describe('memory budget under random load', () => {
  it('delivers intact or closes with 1009, never hangs, and gives every byte back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'pause' | 'refuse'>('pause', 'refuse'),
        fc.integer({ min: 256 * KiB, max: 2048 * KiB }),
        fc.array(peerArb, { minLength: 1, maxLength: 5 }),
        async (policy, limit, peers) => {
          const budget = new MemoryBudget(limit);
          const wss = new WebSocketServer({
            port: 0,
            host: '127.0.0.1',
            memoryBudget: budget,
            memoryBudgetPolicy: policy,
            perMessageDeflate: { threshold: 0 },
          });
          try {
            await next(wss, 'listening');
            const got = new Map<WebSocket, Buffer[]>();
            wss.on('connection', (ws) => {
              ws.on('error', () => {});
              const list: Buffer[] = [];
              got.set(ws, list);
              ws.on('message', (data) => {
                list.push(data as Buffer);
                ws.send(String(list.length));
              });
            });
            const url = `ws://127.0.0.1:${portOf(wss)}`;
            const outcomes = await Promise.all(
              peers.map(async (peer) => {
                const ws = new Client(url, {
                  perMessageDeflate: peer.compressed ? { threshold: 0 } : false,
                });
                ws.on('error', () => {});
                await next(ws, 'open');
                let acks = 0;
                ws.on('message', () => acks++);
                const closed = next<[number]>(ws, 'close', 30_000);
                for (const m of peer.messages) {
                  const data = Buffer.alloc(m.size, m.fill);
                  const step = Math.ceil(m.size / m.fragments) || 1;
                  for (let at = 0, i = 0; i < m.fragments; i++, at += step) {
                    ws.send(data.subarray(at, Math.min(at + step, m.size)), {
                      binary: true,
                      fin: i === m.fragments - 1,
                    });
                  }
                }
                let over: number | undefined;
                void closed.then(
                  ([code]) => {
                    over = code;
                  },
                  () => {},
                );
                await until(
                  () => acks === peer.messages.length || over !== undefined,
                  'every message acknowledged, or a close',
                  30_000,
                );
                const outcome = over ?? ('delivered' as const);
                ws.close();
                await closed.catch(() => {});
                return outcome;
              }),
            );
            for (const outcome of outcomes) {
              if (outcome !== 'delivered') {
                assert.equal(outcome, 1009);
                assert.equal(policy, 'refuse');
              }
            }
            for (const list of got.values()) {
              for (const data of list) assert.ok(data.every((x) => x === data[0]));
            }
            await until(() => (wss.clients?.size ?? 0) === 0, 'all closed', 10_000);
            await until(() => budget.used === 0 && budget.waiting === 0, 'budget back to 0');
          } finally {
            await shutdown(wss);
          }
        },
      ),
      { numRuns: runs(6), endOnFailure: true },
    );
  });
});
