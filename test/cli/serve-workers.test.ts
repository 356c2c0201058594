import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { cliPath, type Run, run } from '../helpers/process.js';

/** A chat member and the worker that took its connection (`X-Tsws-Worker: ID PID`). */
interface Member {
  ws: WebSocket;
  worker: string;
  pid: number;
  got: string[];
}

let joins = 0;

async function member(port: number, room: string): Promise<Member> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/${room}`);
  // 'open' follows 'upgrade' in the same turn: both are listened to at once.
  const [[res]] = (await Promise.all([once(ws, 'upgrade'), once(ws, 'open')])) as [
    [IncomingMessage],
    unknown,
  ];
  const [worker, pid] = String(res.headers['x-tsws-worker']).split(' ');
  const got: string[] = [];
  const joined = `join ${++joins}`;
  let live = false;
  ws.on('message', (data) => {
    const text = String(data);
    if (text === joined) live = true;
    // The members' join notes are left out of what the tests compare.
    else if (!text.startsWith('join ')) got.push(text);
  });
  // A subscription in a worker is made through the primary: once the member's own note comes
  // back, its subscription is live (a publish made before that may not reach it).
  ws.send(joined);
  await until(() => live);
  return { ws, worker: worker!, pid: Number(pid), got };
}

/** Members until both workers hold one; the others are closed. */
async function onBothWorkers(port: number, room: string): Promise<[Member, Member]> {
  const by = new Map<string, Member>();
  for (let i = 0; i < 50 && by.size < 2; i++) {
    const m = await member(port, room);
    if (by.has(m.worker)) m.ws.close();
    else by.set(m.worker, m);
  }
  assert.equal(by.size, 2, 'connections land on both workers');
  return [by.get('1')!, by.get('2')!];
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('tsws serve --workers', () => {
  let server: Run;
  let port: number;

  before(async () => {
    server = run([
      cliPath,
      'serve',
      '--workers',
      '2',
      '--chat',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--close-timeout',
      '3000',
    ]);
    const match = await server.line(/2 workers on 127\.0\.0\.1, port (\d+)/, 20_000);
    port = Number(match[1]);
  });

  after(async () => {
    if (server.child.exitCode === null) {
      // The workers stop by themselves when their primary is gone.
      server.child.kill('SIGKILL');
      await server.exit();
    }
  });

  it('connections land on both workers; a publish on one reaches the other once, in order', async () => {
    const [a, b] = await onBothWorkers(port, 'lobby');
    assert.notEqual(a.pid, b.pid);
    const sent = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const text of sent) a.ws.send(text);
    await until(() => a.got.length >= 30 && b.got.length >= 30).catch((e) => {
      throw new Error(`${e.message}: a ${a.got.length} b ${b.got.length}; ${server.stderr()}`);
    });
    // A little longer: nothing comes twice.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(b.got, sent, 'worker 2 gets every message of worker 1, once, in order');
    assert.deepEqual(a.got, sent, 'the sender too (the chat echoes to its room)');
    // Both ways, and the one order of the room for both.
    b.ws.send('from b');
    await until(() => a.got.length === 31 && b.got.length === 31);
    assert.equal(a.got[30], 'from b');
    a.ws.close();
    b.ws.close();
  });

  it('a worker that crashes is started again; the other keeps serving', async () => {
    const [a, b] = await onBothWorkers(port, 'crash');
    const closed = once(a.ws, 'close');
    process.kill(a.pid, 'SIGKILL');
    const [code] = await closed;
    assert.equal(code, 1006);
    const restarted = await server.line(
      new RegExp(`worker 1 listening \\(pid (?!${a.pid}\\))(\\d+)\\)`),
      10_000,
    );
    assert.match(server.stderr(), /worker 1 \(pid \d+\) exited \(SIGKILL\)/);
    assert.match(server.stderr(), /restarting worker 1 in \d+ ms/);
    assert.ok(alive(Number(restarted[1])));
    // The room goes on across the new worker 1 and the old worker 2.
    const [c, d] = await onBothWorkers(port, 'crash');
    assert.equal(c.pid, Number(restarted[1]));
    assert.equal(d.pid, b.pid);
    c.ws.send('after the crash');
    await until(() => b.got.includes('after the crash') && d.got.includes('after the crash'));
    for (const m of [b, c, d]) m.ws.close();
  });

  it('SIGTERM stops every worker: each peer gets 1001, the primary exits 0', async () => {
    const [a, b] = await onBothWorkers(port, 'bye');
    const closes = [a, b].map((m) => once(m.ws, 'close'));
    server.child.kill('SIGTERM');
    const codes = (await Promise.all(closes)).map(([code]) => code);
    assert.deepEqual(codes, [1001, 1001]);
    assert.equal(await server.exit(15_000), 0, server.stderr());
    assert.match(server.stdout(), /shutting down\n/);
    await until(() => !alive(a.pid) && !alive(b.pid), 3000);
  });
});

describe('tsws serve --workers: faults', () => {
  it('a bad count is a usage error (exit 2)', async () => {
    const p = run([cliPath, 'serve', '--workers', '0']);
    assert.equal(await p.exit(), 2);
    assert.match(p.stderr(), /--workers takes a whole number from 1 to 1024, not 0/);
  });

  it('a port in use is told once by the primary (exit 1), no worker started', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const p = run([
        cliPath,
        'serve',
        '--workers',
        '2',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
      ]);
      assert.equal(await p.exit(), 1);
      assert.match(p.stderr(), new RegExp(`port ${port} is in use`));
      assert.doesNotMatch(p.stdout(), /worker \d started/);
    } finally {
      taken.close();
    }
  });
});
