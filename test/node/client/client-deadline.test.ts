// The client's handshakeTimeout is a deadline from the dial to `open` (issue 11, finding 6): a
// server trickling its answer a byte at a time must not hold the client past it.
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { WebSocket } from '../../../src/index.js';
import { DEFAULT_HANDSHAKE_TIMEOUT } from '../../../src/node/client/client-options.js';
import { WebSocket as WhatwgWebSocket } from '../../../src/whatwg/index.js';
import { acceptKey, rawServer, readHead, requestHeader } from '../../helpers/node-raw.js';
import { client, defer, nextClose, record, within } from '../../helpers/node-util.js';

/**
 * A raw server that answers with a correct 101, one byte every `every` ms, and counts the
 * bytes it wrote and whether it wrote them all.
 */
async function tricklingServer(
  t: TestContext,
  every: number,
): Promise<{ port: number; progress: { sent: number; total: number; done: boolean } }> {
  const progress = { sent: 0, total: 0, done: false };
  const { port } = await rawServer(t, async (socket: net.Socket) => {
    const { head } = await readHead(socket);
    const key = requestHeader(head, 'sec-websocket-key') ?? '';
    const answer = Buffer.from(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
    );
    progress.total = answer.length;
    const timer = setInterval(() => {
      if (socket.destroyed || progress.sent === answer.length) {
        progress.done = progress.sent === answer.length;
        clearInterval(timer);
        return;
      }
      socket.write(answer.subarray(progress.sent, progress.sent + 1));
      progress.sent++;
    }, every);
    defer(t, () => clearInterval(timer));
  });
  return { port, progress };
}

describe('client: handshakeTimeout is a deadline', () => {
  it('the default is 10 s', () => {
    assert.equal(DEFAULT_HANDSHAKE_TIMEOUT, 10_000);
  });

  it('a server trickling its 101 a byte at a time fails the handshake at the deadline', async (t) => {
    // Each byte comes well within the timeout, the whole answer far after it.
    const { port, progress } = await tricklingServer(t, 50);
    const ws = client(t, `ws://127.0.0.1:${port}`, { handshakeTimeout: 400 });
    const log = record(ws, ['open', 'error', 'close']);
    const { code } = await nextClose(ws);
    assert.equal(code, 1006);
    assert.deepEqual(
      log.map((e) => e.name),
      ['error', 'close'],
    );
    const error = log[0]!.args[0] as Error & { code?: string };
    assert.equal(error.code, 'WS_ERR_HANDSHAKE_TIMEOUT');
    assert.ok(progress.sent > 0, 'the server had started answering');
    assert.ok(!progress.done, 'the client gave up before the whole answer came');
  });

  it('tsws/whatwg: the same server gets error then close 1006, never open', async (t) => {
    const { port, progress } = await tricklingServer(t, 50);
    const ws = new WhatwgWebSocket(`ws://127.0.0.1:${port}`, [], { handshakeTimeout: 400 });
    defer(t, () => ws.close());
    const events: string[] = [];
    ws.onopen = () => events.push('open');
    ws.onerror = () => events.push('error');
    const close = await within(
      new Promise<CloseEvent>((resolve) => {
        ws.onclose = (event) => resolve(event as CloseEvent);
      }),
      'close',
    );
    assert.deepEqual(events, ['error']);
    assert.equal(close.code, 1006);
    assert.equal(close.wasClean, false);
    assert.ok(!progress.done, 'the client gave up before the whole answer came');
  });

  it('without handshakeTimeout, the default deadline applies', async (t) => {
    // Mock timers: the deadline is set when the client dials, so mock before that; the raw
    // server, which never answers, needs no timer.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { port } = await rawServer(t, () => {});
    const ws = client(t, `ws://127.0.0.1:${port}`);
    const log = record(ws, ['open', 'error', 'close']);
    t.mock.timers.tick(DEFAULT_HANDSHAKE_TIMEOUT - 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(log.length, 0, 'nothing before the deadline');
    t.mock.timers.tick(1);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      log.map((e) => e.name),
      ['error', 'close'],
    );
    assert.equal((log[0]!.args[0] as Error & { code?: string }).code, 'WS_ERR_HANDSHAKE_TIMEOUT');
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('a negative or NaN handshakeTimeout is a TypeError', () => {
    for (const handshakeTimeout of [-1, Number.NaN]) {
      assert.throws(() => new WebSocket('ws://127.0.0.1:1', { handshakeTimeout }), TypeError);
    }
  });
});
