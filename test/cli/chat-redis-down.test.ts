// `tsws serve --chat --redis URL` with a Redis that does not answer: one line on stderr at
// once, the server serves meanwhile, a line when it connects (or loses Redis again), and chat
// through Redis once it answers. A private redis-server on a free port (never the shared one).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { after, describe, it, type TestContext } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { until, within } from '../helpers/node-util.js';
import { cliPath, type Run, run } from '../helpers/process.js';
import { PrivateRedis, redisClient } from '../helpers/redis.js';

/** `tsws serve --chat --redis URL` on a free port; SIGKILLed after the test if still running. */
async function serve(t: TestContext, url: string): Promise<{ server: Run; base: string }> {
  const server = run([
    cliPath,
    'serve',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--chat',
    '--redis',
    url,
  ]);
  t.after(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exit();
    }
  });
  const port = Number((await server.line(/http:\/\/127\.0\.0\.1:(\d+)\//, 20_000))[1]);
  return { server, base: `127.0.0.1:${port}` };
}

/** Resolves with the first stderr line matching `pattern`. */
async function stderrLine(server: Run, pattern: RegExp, ms = 15_000): Promise<string> {
  await until(() => pattern.test(server.stderr()), `stderr line ${pattern}`, ms).catch(
    (error: Error) => {
      throw new Error(`${error.message}; stderr: ${server.stderr()}`);
    },
  );
  return server.stderr().match(pattern)![0];
}

/** Every stderr line is one of ours: no stack trace, no unhandled rejection, no ioredis noise. */
function onlyOurLines(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  for (const line of stderr.trimEnd().split('\n').filter(Boolean)) {
    assert.match(line, /^tsws: /, stderr);
  }
}

/** The server answers: the demo page over HTTP, and an echo. */
async function serving(base: string): Promise<void> {
  const page = await fetch(`http://${base}/`);
  assert.equal(page.status, 200);
  await page.text();
  const ws = new WebSocket(`ws://${base}/echo`);
  await within(once(ws, 'open'), 'echo open');
  ws.send('still here');
  const [data] = await within(once(ws, 'message'), 'echo');
  assert.equal(String(data), 'still here');
  ws.close();
}

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('tsws serve --chat --redis: a Redis that does not answer', () => {
  const redises: PrivateRedis[] = [];
  after(() => Promise.all(redises.map((redis) => redis.kill())));

  it('nothing listening: one line at once, the server serves, then "connected" and chat through Redis', async (t) => {
    const redis = await PrivateRedis.stopped();
    redises.push(redis);
    const { server, base } = await serve(t, redis.url);
    const at = literal(`tsws: Redis at ${redis.url}`);
    await stderrLine(
      server,
      new RegExp(`^${at} does not answer \\(ECONNREFUSED\\); retrying every 2 s$`, 'm'),
    );
    await serving(base);

    // A member may join while Redis is down; what it sends meanwhile is not delivered (told).
    const room = `down-${process.pid}`;
    const member = new WebSocket(`ws://${base}/chat/${room}`);
    const log: string[] = [];
    member.on('message', (data) => log.push(String(data)));
    await within(once(member, 'open'), 'join while Redis is down');
    member.send('lost');
    await stderrLine(
      server,
      new RegExp(
        `^tsws: undelivered \\(publish-failed\\) in room ${room}: not connected to Redis`,
        'm',
      ),
    );

    await redis.resume();
    await stderrLine(server, new RegExp(`^${at} connected$`, 'm'));
    // The member's room is subscribed once Redis answers: what it sends now goes round Redis.
    let n = 0;
    const probe = setInterval(() => member.send(`hello ${n++}`), 100);
    try {
      await until(() => log.some((m) => m.startsWith('hello')), 'chat through Redis', 15_000);
    } finally {
      clearInterval(probe);
    }
    assert.ok(!log.includes('lost'), 'nothing was queued while Redis was down');
    const client = redisClient(redis.url);
    try {
      assert.ok((await client.xlen(`tsws:${room}:log`)) >= 1, "the room's Redis stream has it");
    } finally {
      client.disconnect();
    }

    // Redis lost again: told, and told again when it is back.
    await redis.kill();
    await stderrLine(
      server,
      new RegExp(
        `^${at} connection lost( \\(.+\\))?: chat messages sent meanwhile are not delivered; retrying every 2 s$`,
        'm',
      ),
    );
    await serving(base);
    await redis.resume();
    await until(
      () => server.stderr().split(`${redis.url} connected`).length === 3,
      'connected again',
      15_000,
    );

    member.close();
    server.child.kill('SIGTERM');
    assert.equal(await server.exit(15_000), 0, server.stderr());
    onlyOurLines(server.stderr());
  });

  it('a port that accepts and never answers: one line within seconds; the server serves', async (t) => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const url = `redis://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const { server, base } = await serve(t, url);
    await stderrLine(
      server,
      new RegExp(
        `^tsws: Redis at ${literal(url)} does not answer \\(no reply within 3 s\\); retrying every 2 s$`,
        'm',
      ),
    );
    await serving(base);
    server.child.kill('SIGTERM');
    assert.equal(await server.exit(15_000), 0, server.stderr());
    onlyOurLines(server.stderr());
  });

  it('a host that does not resolve: one line; the server serves', async (t) => {
    const url = 'redis://no-such-host.invalid:6379';
    const { server, base } = await serve(t, url);
    await stderrLine(
      server,
      new RegExp(
        `^tsws: Redis at ${literal(url)} does not answer \\(.+\\); retrying every 2 s$`,
        'm',
      ),
      20_000,
    );
    await serving(base);
    server.child.kill('SIGTERM');
    assert.equal(await server.exit(15_000), 0, server.stderr());
    onlyOurLines(server.stderr());
  });

  it('--redis takes a redis:// URL (exit status 2)', async () => {
    const p = run([cliPath, 'serve', '--port', '0', '--chat', '--redis', '127.0.0.1:6379']);
    assert.equal(await p.exit(), 2);
    assert.match(p.stderr(), /^tsws: --redis takes a redis:\/\/ or rediss:\/\/ URL/);
  });
});
