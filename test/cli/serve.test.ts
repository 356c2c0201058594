import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it, type TestContext } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { type DecodedFrame, encodeFrame } from '../helpers/frames.js';
import {
  type FrameReader,
  httpExchange,
  rawConnect,
  rawUpgrade,
  upgradeRequest,
} from '../helpers/node-raw.js';
import { client, next, nextClose, nextMessage, until, within } from '../helpers/node-util.js';
import { cliPath, type Run, run } from '../helpers/process.js';

describe('tsws serve', () => {
  let server: Run;
  let port: number;

  before(async () => {
    server = run([cliPath, 'serve', '--port', '0', '--host', '127.0.0.1']);
    const match = await server.line(/http:\/\/127\.0\.0\.1:(\d+)\//);
    port = Number(match[1]);
  });

  after(async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exit();
    }
  });

  it('serves the demo page: a text box, a Send button and a log', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<input id="message"/);
    assert.match(html, /<button id="send"[^>]*>Send<\/button>/);
    assert.match(html, /id="log"/);
    assert.match(html, /new WebSocket\(/);
    const head = await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' })).status, 405);
  });

  it('echoes text and binary messages with their type, on any path', async () => {
    for (const path of ['/', '/any/path?x=1']) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      await once(ws, 'open');
      const got: [string, boolean][] = [];
      ws.on('message', (data, isBinary) => got.push([(data as Buffer).toString('hex'), isBinary]));
      ws.send('héllo');
      ws.send(Buffer.from([0, 255]));
      ws.send('');
      while (got.length < 3) await once(ws, 'message');
      assert.deepEqual(got, [
        [Buffer.from('héllo').toString('hex'), false],
        ['00ff', true],
        ['', false],
      ]);
      ws.close(1000);
      const [code] = await once(ws, 'close');
      assert.equal(code, 1000);
    }
  });

  it('shuts down on SIGTERM: open clients get 1001 and the process exits 0', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, 'open');
    const closed = once(ws, 'close');
    server.child.kill('SIGTERM');
    const [code] = await closed;
    assert.equal(code, 1001);
    assert.equal(await server.exit(), 0);
  });
});

describe('tsws serve arguments', () => {
  it('refuses a bad port with exit status 2', async () => {
    const p = run([cliPath, 'serve', '--port', 'abc']);
    assert.equal(await p.exit(), 2);
    assert.match(p.stderr(), /invalid port/);
  });

  it('prints usage for --help and exits 0; an unknown command exits 2', async () => {
    const help = run([cliPath, '--help']);
    assert.equal(await help.exit(), 0);
    assert.match(help.stdout(), /tsws serve/);
    assert.match(help.stdout(), /tsws connect/);
    const unknown = run([cliPath, 'frobnicate']);
    assert.equal(await unknown.exit(), 2);
  });
});

/** `tsws serve` on 127.0.0.1 and a free port with `flags`, killed after the test. */
async function serve(
  t: TestContext,
  flags: string[],
): Promise<{ server: Run; port: number; url: string }> {
  const server = run([cliPath, 'serve', '--port', '0', '--host', '127.0.0.1', ...flags]);
  t.after(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exit();
    }
  });
  const match = await server.line(/http:\/\/127\.0\.0\.1:(\d+)\//);
  const port = Number(match[1]);
  return { server, port, url: `ws://127.0.0.1:${port}/` };
}

/** Reads frames until a close frame; returns it and the frames before it. */
async function untilClose(
  peer: FrameReader,
): Promise<{ close: DecodedFrame; before: DecodedFrame[] }> {
  const before: DecodedFrame[] = [];
  for (;;) {
    const frame = await peer.nextFrame(30_000);
    if (frame.opcode === 0x8) return { close: frame, before };
    before.push(frame);
  }
}

/**
 * Resolves once the server has taken all the peer wrote: far more than the kernel's buffers
 * hold, so the server has read (and echoed) most of it meanwhile.
 */
function written(peer: FrameReader): Promise<void> {
  return until(() => peer.socket.writableLength === 0, 'the server to read it all', 30_000);
}

describe('tsws serve flags, observed on the wire', () => {
  it('--max-payload: a larger message is refused with 1009, one of that size is echoed', async (t) => {
    const { url } = await serve(t, ['--max-payload', '1000']);
    const ws = client(t, url);
    await next(ws, 'open');
    ws.send(Buffer.alloc(1000, 1));
    assert.equal(((await nextMessage(ws)).data as Buffer).length, 1000);
    ws.send(Buffer.alloc(1001, 1));
    assert.equal((await nextClose(ws)).code, 1009);
  });

  it('--heartbeat MS,MISSED: pings every MS; a peer that never answers is dropped', async (t) => {
    const { port } = await serve(t, ['--heartbeat', '50,2']);
    const peer = await rawUpgrade(t, port);
    for (let i = 0; i < 2; i++) assert.equal((await peer.nextFrame()).opcode, 0x9);
    await within(peer.closed, 'the silent peer dropped');
  });

  it('--heartbeat off: no pings', async (t) => {
    const { port } = await serve(t, ['--heartbeat', 'off', '--max-payload', '10']);
    const peer = await rawUpgrade(t, port);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The only frame: the answer to an oversized message (proves the server is there).
    peer.send({ opcode: 0x2, payload: Buffer.alloc(11), mask: true });
    const { close, before } = await untilClose(peer);
    assert.deepEqual(before, []);
    assert.equal(close.payload.readUInt16BE(0), 1009);
  });

  it('--handshake-timeout: a client that sends nothing gets 408 and is cut off', async (t) => {
    const { port } = await serve(t, ['--handshake-timeout', '150']);
    const silent = await rawConnect(t, port);
    const chunks: Buffer[] = [];
    silent.on('data', (chunk: Buffer) => chunks.push(chunk));
    silent.on('error', () => {});
    await within(
      new Promise((resolve) => silent.once('close', resolve)),
      'the silent client cut off',
    );
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 408 /);
  });

  it('--max-connections: one more gets 503 before the upgrade', async (t) => {
    const { port, url } = await serve(t, ['--max-connections', '1']);
    const ws = client(t, url);
    await next(ws, 'open');
    const refused = await httpExchange(t, port, upgradeRequest().text);
    assert.equal(refused.status, 503);
  });

  it('--max-connections-per-ip: counted per client address', async (t) => {
    const { url } = await serve(t, ['--max-connections-per-ip', '1']);
    const a = client(t, url, { localAddress: '127.0.0.1' });
    await next(a, 'open');
    const b = client(t, url, { localAddress: '127.0.0.1' });
    const [, res] = await next<[unknown, { statusCode: number }]>(b, 'unexpected-response');
    assert.equal(res.statusCode, 503);
    const c = client(t, url, { localAddress: '127.0.0.2' });
    await next(c, 'open');
  });

  it('--max-backpressure with --backpressure-policy close: echoes to a peer that does not read end in 1008', async (t) => {
    const { port } = await serve(t, [
      '--max-backpressure',
      '64K',
      '--backpressure-policy',
      'close',
    ]);
    const peer = await rawUpgrade(t, port);
    peer.socket.pause();
    const message = encodeFrame({ opcode: 0x2, payload: Buffer.alloc(16 * 1024), mask: true });
    for (let i = 0; i < 2000; i++) peer.socket.write(message);
    await written(peer);
    peer.socket.resume();
    const { close } = await untilClose(peer);
    assert.equal(close.payload.readUInt16BE(0), 1008);
  });

  it('--backpressure-policy drop-newest: echoes are dropped, the connection stays open', async (t) => {
    const { port } = await serve(t, [
      '--max-backpressure',
      '64K',
      '--backpressure-policy',
      'drop-newest',
    ]);
    const peer = await rawUpgrade(t, port);
    peer.socket.pause();
    const sent = 2000;
    const message = encodeFrame({ opcode: 0x2, payload: Buffer.alloc(16 * 1024), mask: true });
    for (let i = 0; i < sent; i++) peer.socket.write(message);
    await written(peer);
    peer.socket.resume();
    // The echo of a message sent while the backlog is still over the limit is dropped too:
    // ask until one comes back.
    const ask = setInterval(() => peer.send({ opcode: 0x1, payload: 'last', mask: true }), 50);
    t.after(() => clearInterval(ask));
    let echoes = 0;
    for (;;) {
      const frame = await peer.nextFrame(30_000);
      assert.notEqual(frame.opcode, 0x8, 'not closed');
      if (frame.opcode === 0x1) break;
      echoes++;
    }
    clearInterval(ask);
    assert.ok(echoes < sent, `some echoes were dropped (${echoes} of ${sent} came back)`);
  });

  it('--memory-budget with --memory-budget-policy refuse: a message assembled past it ends in 1009', async (t) => {
    const MiB = 1024 * 1024;
    /** 2 MiB in 8 fragments: held by the server while it is assembled. */
    const sendFragmented = (ws: ReturnType<typeof client>) => {
      for (let i = 0; i < 8; i++) {
        ws.send(Buffer.alloc(MiB / 4, i), { fin: i === 7, binary: true });
      }
    };
    // Without the flags (the process's 256 MiB budget), it is echoed whole.
    const plain = await serve(t, ['--max-payload', '4M']);
    const a = client(t, plain.url);
    await next(a, 'open');
    sendFragmented(a);
    assert.equal(((await nextMessage(a, 30_000)).data as Buffer).length, 2 * MiB);
    const budgeted = await serve(t, [
      '--max-payload',
      '4M',
      '--memory-budget',
      '1M',
      '--memory-budget-policy',
      'refuse',
    ]);
    const b = client(t, budgeted.url);
    await next(b, 'open');
    const closed = nextClose(b, 30_000);
    sendFragmented(b);
    const { code, reason } = await closed;
    assert.equal(code, 1009);
    assert.match(reason, /memory budget/);
  });

  it('--close-timeout: on SIGTERM, a peer that never answers the close is dropped after it, and the process exits 0', async (t) => {
    const { server, port } = await serve(t, ['--close-timeout', '200']);
    const peer = await rawUpgrade(t, port);
    server.child.kill('SIGTERM');
    const frame = await peer.nextFrame();
    assert.equal(frame.opcode, 0x8);
    assert.equal(frame.payload.readUInt16BE(0), 1001);
    await within(peer.closed, 'dropped after the close timeout');
    assert.equal(await server.exit(), 0);
  });

  it('SIGINT starts the graceful shutdown too', async (t) => {
    const { server, url } = await serve(t, []);
    const ws = client(t, url);
    await next(ws, 'open');
    const closed = nextClose(ws);
    server.child.kill('SIGINT');
    assert.equal((await closed).code, 1001);
    assert.equal(await server.exit(), 0);
  });

  it('refuses bad values with exit status 2', async () => {
    for (const flags of [
      ['--max-payload', 'lots'],
      ['--heartbeat', '5000,x'],
      ['--handshake-timeout', '0'],
      ['--max-connections', '-1'],
      ['--max-backpressure', '12Q'],
      ['--backpressure-policy', 'drop-everything'],
      ['--close-timeout', '1.5'],
      ['--memory-budget', '0'],
      ['--memory-budget', '1T'],
      ['--memory-budget-policy', 'drop'],
    ]) {
      const p = run([cliPath, 'serve', '--port', '0', ...flags]);
      assert.equal(await p.exit(), 2, flags.join(' '));
      assert.match(p.stderr(), new RegExp(flags[0]!), flags.join(' '));
    }
  });
});
