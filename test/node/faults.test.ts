/**
 * Fault tests (issue 6): peers that vanish without FIN or RST (a stopped process, a link cut in
 * a network namespace), peers that half-close, and a server killed in the middle of a message.
 * What is checked: the outcome is detected and reported with the right close code, nothing
 * received whole is lost, nothing partial is delivered, and nothing hangs.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { WebSocket as WhatwgWebSocket } from '../../src/whatwg/index.js';
import {
  createVethPair,
  FaultPeer,
  netnsUnavailable,
  type VethPair,
} from '../helpers/fault-process.js';
import { closePayload, encodeFrame } from '../helpers/frames.js';
import { acceptKey, rawPair, rawServer, readHead, requestHeader } from '../helpers/node-raw.js';
import {
  client,
  defer,
  messages,
  next,
  nextClose,
  nextMessage,
  startServer,
  within,
} from '../helpers/node-util.js';

/** Generous for a loaded 2-core machine: a live peer always answers within 250 ms. */
const beat = { interval: 250, maxMissed: 2 };
const beatArg = `${beat.interval},${beat.maxMissed}`;
/** Detection takes at most (maxMissed + 1) intervals; the rest is slack. */
const DETECT = 10_000;

function peer(t: { after(fn: () => unknown): void }, args: string[], netns?: string): FaultPeer {
  const p = new FaultPeer(args, netns);
  t.after(() => p.kill());
  return p;
}

describe('a peer that vanishes without FIN or RST', () => {
  it('a client process stopped with SIGSTOP: the server heartbeat ends it with 1006 "heartbeat timeout"; resumed, the client finds the connection gone', async (t) => {
    const { wss, url } = await startServer(t, { heartbeat: beat });
    const connection = next<[WebSocket]>(wss, 'connection', DETECT);
    const p = peer(t, ['client', url]);
    const [server] = await connection;
    await p.event('open');
    // Alive: a round trip through the other process.
    const got = nextMessage(server, DETECT);
    p.command({ op: 'send', text: 'still here' });
    assert.equal(((await got).data as Buffer).toString(), 'still here');

    const closed = nextClose(server, DETECT);
    assert.equal(server.readyState, WebSocket.OPEN, 'open when the peer stops');
    p.signal('SIGSTOP');
    assert.deepEqual([(await closed).code, (await closed).reason], [1006, 'heartbeat timeout']);
    assert.equal(wss.clients?.size, 0, 'the server forgot the dead connection');

    // The kernel kept the connection for the stopped process; once it runs again, it reads the
    // pings and then the end of a connection that was never closed with a close frame.
    p.signal('SIGCONT');
    const atPeer = await p.event('close', DETECT);
    assert.equal(atPeer.code, 1006);
  });

  it('a server process stopped with SIGSTOP: the client heartbeat ends it with 1006 "heartbeat timeout"', async (t) => {
    const p = peer(t, ['server', '127.0.0.1']);
    const { port } = await p.event('listening');
    const ws = client(t, `ws://127.0.0.1:${port}/`, { heartbeat: beat });
    await next(ws, 'open', DETECT);
    await p.event('open');
    const got = nextMessage(ws, DETECT);
    p.command({ op: 'send', text: 'hello from the server' });
    assert.equal(((await got).data as Buffer).toString(), 'hello from the server');

    const closed = nextClose(ws, DETECT);
    p.signal('SIGSTOP');
    const { code, reason } = await closed;
    assert.deepEqual([code, reason], [1006, 'heartbeat timeout']);
  });

  describe('a link cut in a network namespace (packets dropped, nothing else)', () => {
    const unavailable = netnsUnavailable();
    let pair: VethPair | undefined;
    afterEach(() => {
      pair?.remove();
      pair = undefined;
    });

    it('both heartbeats end the connection with 1006 "heartbeat timeout"', {
      skip: unavailable,
    }, async (t) => {
      pair = createVethPair();
      const server = peer(t, ['server', pair.addressA, beatArg], pair.a);
      const { port } = await server.event('listening');
      const clientPeer = peer(t, ['client', `ws://${pair.addressA}:${port}/`, beatArg], pair.b);
      await Promise.all([server.event('open'), clientPeer.event('open')]);
      clientPeer.command({ op: 'send', text: 'across the link' });
      assert.equal((await server.event('message')).text, 'across the link');

      pair.cut();
      const [atServer, atClient] = await Promise.all([
        server.event('close', DETECT),
        clientPeer.event('close', DETECT),
      ]);
      assert.deepEqual([atServer.code, atServer.reason], [1006, 'heartbeat timeout']);
      assert.deepEqual([atClient.code, atClient.reason], [1006, 'heartbeat timeout']);
    });
  });
});

describe('a peer that half-closes (FIN without a close frame)', () => {
  it('server side: the messages before the FIN are delivered, then 1006, and the server ends its side', async (t) => {
    const { server, peer: raw } = await rawPair(t);
    const got = messages(server, 3);
    const closed = nextClose(server);
    for (const text of ['one', 'two', 'three']) {
      raw.send({ opcode: 0x1, payload: Buffer.from(text), mask: true });
    }
    raw.socket.end();
    assert.deepEqual(
      (await got).map((m) => m.data.toString()),
      ['one', 'two', 'three'],
    );
    assert.equal((await closed).code, 1006);
    await within(raw.end, 'the server ends its side');
  });

  it('server side: a FIN in the middle of a frame delivers nothing partial (1006)', async (t) => {
    const { server, peer: raw } = await rawPair(t);
    const seen: unknown[] = [];
    server.on('message', (data) => seen.push(data));
    const closed = nextClose(server);
    const frame = encodeFrame({ opcode: 0x2, payload: Buffer.alloc(10_000, 7), mask: true });
    raw.socket.end(frame.subarray(0, 6_000));
    assert.equal((await closed).code, 1006);
    assert.deepEqual(seen, []);
  });

  it('server side: a FIN after the first fragment of a message delivers nothing partial (1006)', async (t) => {
    const { server, peer: raw } = await rawPair(t);
    const seen: unknown[] = [];
    server.on('message', (data) => seen.push(data));
    const closed = nextClose(server);
    raw.send({ opcode: 0x1, fin: false, payload: Buffer.from('the first half '), mask: true });
    raw.socket.end();
    assert.equal((await closed).code, 1006);
    assert.deepEqual(seen, []);
  });

  it('server side: a close frame and the FIN at once: the code is reported, the close echoed, then TCP ends', async (t) => {
    const { server, peer: raw } = await rawPair(t);
    const closed = nextClose(server);
    raw.send({ opcode: 0x8, payload: closePayload(4001, 'bye'), mask: true });
    raw.socket.end();
    const echo = await raw.nextFrame();
    assert.deepEqual([echo.opcode, echo.payload.readUInt16BE(0)], [0x8, 4001]);
    await within(raw.end, 'the server ends TCP');
    const { code, reason } = await closed;
    assert.deepEqual([code, reason], [4001, 'bye']);
  });

  it('client side: a server that sends a message then FIN: the message arrives, then 1006, and the client ends its side', async (t) => {
    let clientEnded: Promise<void> = Promise.resolve();
    const { port } = await rawServer(t, async (socket) => {
      const { head } = await readHead(socket);
      clientEnded = new Promise((resolve) => socket.once('end', () => resolve()));
      socket.resume();
      const key = requestHeader(head, 'sec-websocket-key') ?? '';
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
      );
      socket.end(encodeFrame({ opcode: 0x1, payload: Buffer.from('last words'), mask: false }));
    });
    const ws = client(t, `ws://127.0.0.1:${port}/`);
    const got = nextMessage(ws);
    const closed = nextClose(ws);
    assert.equal(((await got).data as Buffer).toString(), 'last words');
    assert.equal((await closed).code, 1006);
    await within(clientEnded, 'the client ends its side');
  });
});

describe('a server killed in the middle of a message', () => {
  it('after the first fragment went out: the tsws client reports 1006 and no message', async (t) => {
    const p = peer(t, ['server', '127.0.0.1']);
    const { port } = await p.event('listening');
    const ws = client(t, `ws://127.0.0.1:${port}/`);
    const seen: unknown[] = [];
    ws.on('message', (data) => seen.push(data));
    await next(ws, 'open', DETECT);
    await p.event('open');
    const closed = nextClose(ws, DETECT);
    p.command({ op: 'fragment', size: 1000 });
    await p.event('sent');
    p.signal('SIGKILL');
    assert.equal((await closed).code, 1006);
    assert.deepEqual(seen, []);
  });

  it('inside one large frame (the client is paused while the server writes 32 MiB): 1006 and no message', async (t) => {
    const p = peer(t, ['server', '127.0.0.1']);
    const { port } = await p.event('listening');
    const ws = client(t, `ws://127.0.0.1:${port}/`);
    const seen: unknown[] = [];
    ws.on('message', (data) => seen.push(data));
    await next(ws, 'open', DETECT);
    await p.event('open');
    ws.pause();
    p.command({ op: 'big', size: 32 * 1024 * 1024 });
    await p.event('sent', DETECT);
    p.signal('SIGKILL');
    await new Promise((resolve) => p.child.once('exit', resolve));
    const closed = nextClose(ws, DETECT);
    ws.resume();
    assert.equal((await closed).code, 1006);
    assert.deepEqual(seen, []);
  });

  it('the WHATWG WebSocket: close 1006, wasClean false, no message', async (t) => {
    const p = peer(t, ['server', '127.0.0.1']);
    const { port } = await p.event('listening');
    const ws = new WhatwgWebSocket(`ws://127.0.0.1:${port}/`);
    defer(t, () => ws.close());
    const seen: unknown[] = [];
    ws.onmessage = (event) => seen.push((event as MessageEvent).data);
    await within(
      new Promise((resolve) => ws.addEventListener('open', resolve, { once: true })),
      'open',
      DETECT,
    );
    await p.event('open');
    const closed = new Promise<CloseEvent>((resolve) =>
      ws.addEventListener('close', (event) => resolve(event as CloseEvent), { once: true }),
    );
    p.command({ op: 'fragment', size: 1000 });
    await p.event('sent');
    p.signal('SIGKILL');
    const event = await within(closed, 'close', DETECT);
    assert.deepEqual([event.code, event.wasClean, ws.readyState], [1006, false, 3]);
    assert.deepEqual(seen, []);
  });
});
