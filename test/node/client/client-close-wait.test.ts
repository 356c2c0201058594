// A server that completes the closing handshake but keeps TCP open (issue 11, "WHATWG, as
// Chromium"): the client waits for the server's TCP close a bounded ~2 s (Chromium's wait),
// then closes TCP itself, and the close is clean; not the whole closeTimeout.
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { WebSocket } from '../../../src/index.js';
import { WebSocket as WhatwgWebSocket } from '../../../src/whatwg/index.js';
import { decodeFrames, encodeFrame } from '../../helpers/frames.js';
import { acceptKey, rawServer, readHead, requestHeader } from '../../helpers/node-raw.js';
import { client, defer, nextClose, within } from '../../helpers/node-util.js';

const CLOSE_4001 = encodeFrame({ opcode: 8, payload: Buffer.from([0x0f, 0xa1, 0x62, 0x79, 0x65]) });

/**
 * A raw server that opens, then (with `serverCloses`) sends Close 4001 "bye" at once, and
 * answers the client's Close with its own if it has not sent one; it never closes TCP. It
 * records the close frames it got and whether the client closed TCP.
 */
async function lingeringServer(
  t: TestContext,
  serverCloses: boolean,
): Promise<{ port: number; seen: { closeFrames: number; tcpClosedByClient: Promise<void> } }> {
  let closed: () => void = () => {};
  const seen = {
    closeFrames: 0,
    tcpClosedByClient: new Promise<void>((resolve) => {
      closed = resolve;
    }),
  };
  const { port } = await rawServer(t, async (socket: net.Socket) => {
    socket.on('end', closed);
    socket.on('close', closed);
    const { head, rest } = await readHead(socket);
    const key = requestHeader(head, 'sec-websocket-key') ?? '';
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
    );
    let sentClose = serverCloses;
    if (serverCloses) socket.write(CLOSE_4001);
    let received = rest;
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const { frames, rest: left } = decodeFrames(received);
      received = left;
      for (const frame of frames) {
        if (frame.opcode !== 8) continue;
        seen.closeFrames++;
        if (!sentClose) {
          sentClose = true;
          socket.write(encodeFrame({ opcode: 8, payload: frame.payload }));
        }
      }
    };
    socket.on('data', onData);
    socket.resume();
    onData(Buffer.alloc(0));
  });
  return { port, seen };
}

describe('client: the server keeps TCP open after the closing handshake', () => {
  it('the server closes first: the client answers, then closes TCP itself, with 4001', async (t) => {
    const { port, seen } = await lingeringServer(t, true);
    // A closeTimeout far longer than the test's own wait: only the short wait can end it.
    const ws = client(t, `ws://127.0.0.1:${port}`, { closeTimeout: 60_000 });
    let wasClean: boolean | undefined;
    ws.addEventListener('close', (event) => {
      wasClean = (event as unknown as { wasClean: boolean }).wasClean;
    });
    const { code, reason } = await nextClose(ws);
    assert.equal(code, 4001);
    assert.equal(reason, 'bye');
    assert.equal(wasClean, true);
    assert.equal(seen.closeFrames, 1, 'the client answered the close frame');
    await within(seen.tcpClosedByClient, 'the client to close TCP');
  });

  it('the client closes first: the server answers, the client then closes TCP itself', async (t) => {
    const { port, seen } = await lingeringServer(t, false);
    const ws = client(t, `ws://127.0.0.1:${port}`, { closeTimeout: 60_000 });
    ws.on('open', () => ws.close(1000, 'done'));
    const { code, reason } = await nextClose(ws);
    assert.equal(code, 1000);
    assert.equal(reason, 'done');
    assert.equal(seen.closeFrames, 1);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('tsws/whatwg: close fires with wasClean true, the server code and reason', async (t) => {
    const { port } = await lingeringServer(t, true);
    const ws = new WhatwgWebSocket(`ws://127.0.0.1:${port}`);
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
    assert.deepEqual(events, ['open']);
    assert.equal(close.wasClean, true);
    assert.equal(close.code, 4001);
    assert.equal(close.reason, 'bye');
  });
});
