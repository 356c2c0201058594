// `tsws serve --chat`: rooms at /chat/ROOM in one process, and across processes through
// Redis (two `tsws serve --chat --redis` child processes on the shared Redis at 6379).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { joinChat } from '../../src/cli/chat.js';
import { WebSocket } from '../../src/index.js';
import { startServer, until, within } from '../helpers/node-util.js';
import { cliPath, type Run, run } from '../helpers/process.js';
import { REDIS_URL, redisClient } from '../helpers/redis.js';

interface Member {
  ws: WebSocket;
  log: string[];
}

async function join(url: string): Promise<Member> {
  const ws = new WebSocket(url);
  const log: string[] = [];
  ws.on('message', (data, isBinary) =>
    log.push(isBinary ? `<${(data as Buffer).toString('hex')}>` : String(data)),
  );
  await within(once(ws, 'open'), `open ${url}`, 10_000);
  return { ws, log };
}

async function serve(args: string[]): Promise<{ server: Run; port: number }> {
  const server = run([cliPath, 'serve', '--port', '0', '--host', '127.0.0.1', '--chat', ...args]);
  const port = Number((await server.line(/http:\/\/127\.0\.0\.1:(\d+)\//, 20_000))[1]);
  await server.line(/chat rooms: ws:\/\/127\.0\.0\.1:\d+\/chat\/ROOM/);
  return { server, port };
}

async function stop(server: Run | undefined): Promise<void> {
  if (server === undefined || server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(15_000), 0, server.stderr());
}

/** Sends probes from `from` until every member has seen one, then clears the logs. */
async function settle(from: Member, members: Member[]): Promise<void> {
  let n = 0;
  const timer = setInterval(() => from.ws.send(`probe ${n++}`), 50);
  try {
    await until(
      () => members.every((m) => m.log.some((x) => x.startsWith('probe'))),
      'rooms live',
      15_000,
    );
  } finally {
    clearInterval(timer);
  }
  from.ws.send('probe end');
  await until(() => members.every((m) => m.log.includes('probe end')), 'probes over', 15_000);
  for (const m of members) m.log.length = 0;
}

const room = () => `room-${randomBytes(4).toString('hex')}`;

describe('tsws serve --chat (one process)', () => {
  let server: Run | undefined;
  let base = '';

  before(async () => {
    const started = await serve([]);
    server = started.server;
    base = `ws://127.0.0.1:${started.port}`;
  });

  after(() => stop(server));

  it('every message sent to a room reaches every member, the sender too, in one order', async () => {
    const name = room();
    const members = await Promise.all([1, 2, 3].map(() => join(`${base}/chat/${name}`)));
    const outsider = await join(`${base}/chat/${room()}`);
    for (let i = 0; i < 20; i++) members[i % 3]!.ws.send(`${i % 3}: hello ${i}`);
    members[0]!.ws.send(Buffer.from([1, 2, 3]));
    await until(() => members.every((m) => m.log.length === 21), 'all messages', 10_000);
    for (const m of members) assert.deepEqual(m.log, members[0]!.log);
    assert.ok(members[0]!.log.includes('<010203>'), 'binary as binary');
    assert.deepEqual(
      members[0]!.log.filter((m) => m.startsWith('0:')),
      Array.from({ length: 7 }, (_, k) => `0: hello ${3 * k}`),
      'one sender’s messages in its order',
    );
    assert.deepEqual(outsider.log, [], 'another room hears nothing');
    for (const m of [...members, outsider]) m.ws.close();
  });

  it('other paths still echo', async () => {
    const echo = await join(`${base}/`);
    echo.ws.send('just me');
    await until(() => echo.log.length === 1, 'echo');
    assert.deepEqual(echo.log, ['just me']);
    echo.ws.close();
  });

  it('room names are decoded from the path; empty, long or odd ones are refused with 1008', async () => {
    const a = await join(`${base}/chat/caf%65.au_lait-2`);
    a.ws.send('x');
    await until(() => a.log.length === 1, 'message');
    a.ws.close();
    for (const [path, why] of [
      ['', /no room/],
      ['caf%C3%A9', /room names are 1-64 characters/],
      ['a%20b', /room names/],
      ['x'.repeat(65), /room names/],
      ['a%2Fb', /room names/],
    ] as const) {
      const refused = new WebSocket(`${base}/chat/${path}`);
      const [code, reason] = await once(refused, 'close');
      assert.equal(code, 1008, path);
      assert.match(String(reason), why);
    }
    await join(`${base}/chat/${'x'.repeat(64)}`).then((m) => m.ws.close());
  });

  it('messages are chat-sized by default: over 64 KiB closes with 1009', async () => {
    const a = await join(`${base}/chat/${room()}`);
    a.ws.send(Buffer.alloc(64 * 1024, 1));
    await until(() => a.log.length === 1, '64 KiB goes');
    a.ws.send(Buffer.alloc(64 * 1024 + 1, 1));
    const [code] = await once(a.ws, 'close');
    assert.equal(code, 1009);
  });

  it('a room keeps at most 256 KiB of history (and 1,000 messages)', async () => {
    const name = room();
    const a = await join(`${base}/chat/${name}`);
    for (let i = 0; i < 10; i++) a.ws.send(Buffer.alloc(60 * 1024, i));
    await until(() => a.log.length === 10, 'ten');
    const back = await join(`${base}/chat/${name}?since=0-0`);
    a.ws.send('live');
    await until(() => back.log.at(-1)?.includes('live') === true, 'replayed, then live');
    const replayed = back.log.slice(0, -1).map((m) => JSON.parse(m) as { data: string });
    assert.equal(replayed.length, 4, '4 x 60 KiB <= 256 KiB < 5 x 60 KiB');
    assert.deepEqual(
      replayed.map((m) => Buffer.from(m.data, 'base64')[0]),
      [6, 7, 8, 9],
      'the newest',
    );
    a.ws.close();
    back.ws.close();
  });

  it('?seq gives the sequenced form; ?since=SEQ replays what came after SEQ', async () => {
    const name = room();
    const a = await join(`${base}/chat/${name}?seq`);
    for (let i = 1; i <= 5; i++) a.ws.send(`m${i}`);
    await until(() => a.log.length === 5, 'five');
    const messages = a.log.map(
      (m) => JSON.parse(m) as { seq: string; prev: string; data: string; topic: string },
    );
    assert.deepEqual(
      messages.map((m) => m.data),
      ['m1', 'm2', 'm3', 'm4', 'm5'],
    );
    assert.equal(messages[0]!.topic, name);
    const back = await join(`${base}/chat/${name}?since=${messages[2]!.seq}`);
    await until(() => back.log.length === 2, 'replayed');
    a.ws.send('m6');
    await until(() => back.log.length === 3, 'then live');
    assert.deepEqual(
      back.log.map((m) => (JSON.parse(m) as { data: string }).data),
      ['m4', 'm5', 'm6'],
    );
    const bad = new WebSocket(`${base}/chat/${name}?since=yesterday`);
    assert.equal((await once(bad, 'close'))[0], 1008);
    a.ws.close();
    back.ws.close();
  });
});

describe('tsws serve --chat --redis (two processes, one chat)', () => {
  const servers: Run[] = [];
  const bases: string[] = [];
  const rooms: string[] = [];

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const { server, port } = await serve(['--redis', REDIS_URL]);
      servers.push(server);
      bases.push(`ws://127.0.0.1:${port}`);
    }
  });

  after(async () => {
    await Promise.all(servers.map(stop));
    const redis = redisClient();
    for (const name of rooms) await redis.del(`tsws:${name}:log`, `tsws:${name}:last`);
    await redis.quit();
  });

  it('members on both processes get every message once, in the same order, their own too', async () => {
    const name = room();
    rooms.push(name);
    const members: Member[] = [];
    for (let i = 0; i < 4; i++) members.push(await join(`${bases[i % 2]}/chat/${name}`));
    await settle(members[0]!, members);
    const N = 50;
    for (let i = 0; i < N; i++) for (const [k, m] of members.entries()) m.ws.send(`${k}:${i}`);
    await until(() => members.every((m) => m.log.length >= 4 * N), 'every message', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const m of members) {
      assert.equal(m.log.length, 4 * N, 'nothing twice');
      assert.deepEqual(m.log, members[0]!.log, 'one order for everyone');
    }
    for (const [k] of members.entries()) {
      const own = members[0]!.log.filter((x) => x.startsWith(`${k}:`));
      assert.deepEqual(
        own,
        Array.from({ length: N }, (_, i) => `${k}:${i}`),
        'each sender in its own order',
      );
    }
    for (const m of members) m.ws.close();
  });

  it('a member reconnecting to the other process catches up with ?since', async () => {
    const name = room();
    rooms.push(name);
    const a = await join(`${bases[0]}/chat/${name}?seq`);
    a.ws.send('one');
    await until(() => a.log.length === 1, 'one');
    const since = (JSON.parse(a.log[0]!) as { seq: string }).seq;
    a.ws.send('two');
    a.ws.send('three');
    await until(() => a.log.length === 3, 'three');
    const b = await join(`${bases[1]}/chat/${name}?since=${since}`);
    await until(() => b.log.length === 2, 'replayed from Redis');
    assert.deepEqual(
      b.log.map((m) => (JSON.parse(m) as { data: string }).data),
      ['two', 'three'],
    );
    a.ws.close();
    b.ws.close();
  });
});

describe('tsws serve --chat --redis: limits', () => {
  const servers: Run[] = [];
  const bases: string[] = [];
  const rooms: string[] = [];

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const { server, port } = await serve(['--redis', REDIS_URL, '--max-payload', '2M']);
      servers.push(server);
      bases.push(`ws://127.0.0.1:${port}`);
    }
  });

  after(async () => {
    await Promise.all(servers.map(stop));
    const redis = redisClient();
    for (const name of rooms) {
      await redis.del(`tsws:${name}:log`, `tsws:${name}:last`, `tsws:${name}:bytes`);
    }
    await redis.quit();
  });

  it('--max-payload over the adapter default raises it: a 1.5 MiB message crosses Redis', async () => {
    const name = room();
    rooms.push(name);
    const a = await join(`${bases[0]}/chat/${name}`);
    const b = await join(`${bases[1]}/chat/${name}`);
    await settle(a, [a, b]);
    a.ws.send(Buffer.alloc(1536 * 1024, 0xab));
    await until(() => b.log.length === 1, 'the big message on the other process', 15_000);
    assert.equal(b.log[0]!.length, 2 + 2 * 1536 * 1024);
    a.ws.close();
    b.ws.close();
  });

  it('the Redis stream of a room keeps at most 256 KiB', async () => {
    const name = room();
    rooms.push(name);
    const a = await join(`${bases[0]}/chat/${name}`);
    for (let i = 0; i < 10; i++) a.ws.send(Buffer.alloc(60 * 1024, i));
    await until(() => a.log.length === 10, 'ten', 15_000);
    const redis = redisClient();
    try {
      const entries = await redis.xrangeBuffer(`tsws:${name}:log`, '-', '+');
      assert.equal(entries.length, 4, '4 x 60 KiB <= 256 KiB < 5 x 60 KiB');
    } finally {
      await redis.quit();
    }
    a.ws.close();
  });
});

describe('chat rooms: the room cap', () => {
  it('a connection to a new room beyond maxRooms is closed with 1013; a room freed makes room', async (t) => {
    const { wss, url } = await startServer(t, { pubsub: { history: 10 } });
    wss.on('connection', (ws, req) => joinChat(wss, ws, req, { maxRooms: 2 }));
    const a = await join(`${url}/chat/a`);
    const b = await join(`${url}/chat/b`);
    const again = await join(`${url}/chat/a`);
    const c = new WebSocket(`${url}/chat/c`);
    const [code, reason] = await once(c, 'close');
    assert.equal(code, 1013);
    assert.match(String(reason), /too many rooms/);
    b.ws.close();
    await until(() => wss.clients!.size === 2, 'b left');
    const c2 = await join(`${url}/chat/c`);
    for (const m of [a, again, c2]) m.ws.close();
  });
});

describe('tsws serve --chat arguments', () => {
  it('--redis needs --chat (exit status 2)', async () => {
    const p = run([cliPath, 'serve', '--port', '0', '--redis', REDIS_URL]);
    assert.equal(await p.exit(), 2);
    assert.match(p.stderr(), /--redis needs --chat/);
  });
});
