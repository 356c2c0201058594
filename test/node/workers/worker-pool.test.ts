import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket, WorkerPool, type WorkerPoolOptions } from '../../../src/index.js';

const script = fileURLToPath(new URL('./pool-worker.js', import.meta.url));

async function startPool(t: TestContext, mode: string, options: Partial<WorkerPoolOptions> = {}) {
  const pool = new WorkerPool({
    workers: 2,
    script,
    args: [],
    execArgv: [],
    env: { ...process.env, POOL_MODE: mode },
    ...options,
  });
  // The workers listen on port 0 too: the pool's one socket for port 0.
  const port = await pool.listen(0, '127.0.0.1');
  t.after(() => pool.stop());
  return { pool, port };
}

async function hello(port: number): Promise<{ pid: number; fast: boolean }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const [data] = await once(ws, 'message');
  ws.close();
  return JSON.parse(String(data));
}

describe('WorkerPool', () => {
  it('N workers accept on one port, each on the fast path unless it is turned off', async (t) => {
    const { pool, port } = await startPool(t, 'serve');
    pool.start();
    await pool.ready();
    const pids = new Set<number>();
    for (let i = 0; i < 60 && pids.size < 2; i++) {
      const { pid, fast } = await hello(port);
      assert.equal(fast, process.env.TSWS_NO_FAST_PATH !== '1');
      pids.add(pid);
    }
    assert.deepEqual([...pids].sort(), [...pool.pids].sort());
    const result = await pool.stop();
    assert.deepEqual(result, { reason: 'stopped', clean: true });
  });

  it('gives up on a worker that keeps crashing, with doubling delays', async (t) => {
    const { pool } = await startPool(t, 'crash', {
      workers: 1,
      restartDelay: 10,
      maxRestarts: 3,
    });
    const delays: number[] = [];
    pool.on('restart', (_id, delay) => delays.push(delay));
    pool.start();
    const [result] = await once(pool, 'done');
    assert.deepEqual(delays, [10, 20, 40]);
    assert.deepEqual(result, { reason: 'failed', clean: false });
  });

  it('kills a worker that does not stop within stopTimeout (not clean)', async (t) => {
    const { pool } = await startPool(t, 'stubborn', { workers: 1, stopTimeout: 300 });
    pool.start();
    await pool.ready();
    const exits: (string | null)[] = [];
    pool.on('exit', (_id, _pid, _code, signal) => exits.push(signal));
    const result = await pool.stop();
    assert.deepEqual(exits, ['SIGKILL']);
    assert.deepEqual(result, { reason: 'stopped', clean: false });
  });
});
