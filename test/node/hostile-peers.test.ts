import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { WebSocket } from '../../src/index.js';
import { encodeFrame } from '../helpers/frames.js';
import { type FrameReader, rawUpgrade } from '../helpers/node-raw.js';
import { next, nextClose, startServer, until } from '../helpers/node-util.js';

// Peers that try to make the server hold far more memory than they send (CVE-2026-48779 in ws:
// floods of tiny fragments), or than they will ever send (a huge declared frame length).

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and Buffer memory in use after a full collection. */
function memory(): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

const MiB = 1024 * 1024;
const SLOW = 30_000;

/** `n` raw peers connected to one server, with the server side of each. */
async function peers(
  t: TestContext,
  n: number,
  options = {},
): Promise<{ peer: FrameReader; server: WebSocket }[]> {
  const { wss, port } = await startServer(t, options);
  const out = [];
  for (let i = 0; i < n; i++) {
    const connection = next<[WebSocket]>(wss, 'connection');
    const peer = await rawUpgrade(t, port);
    const [server] = await connection;
    out.push({ peer, server });
  }
  return out;
}

/** Many 1-byte continuation frames, masked, in one buffer. */
function tinyFragments(count: number): Buffer {
  const one = encodeFrame({ opcode: 0x0, payload: 'a', fin: false, mask: true });
  return Buffer.concat(Array(count).fill(one));
}

describe('tiny fragments and huge declared lengths', () => {
  it('a message of more than maxFragments frames (default 65,536) is refused with 1009', async (t) => {
    const [{ peer, server }] = await peers(t, 1);
    const closed = nextClose(server, SLOW);
    peer.send({ opcode: 0x2, payload: 'a', fin: false, mask: true });
    peer.socket.write(tinyFragments(65_535));
    peer.send({ opcode: 0x0, payload: 'a', fin: true, mask: true });
    const { code } = await closed;
    assert.equal(code, 1009);
    let frame = await peer.nextFrame(SLOW);
    while (frame.opcode !== 0x8) frame = await peer.nextFrame(SLOW);
    assert.equal(frame.payload.readUInt16BE(0), 1009);
  });

  it('exactly maxFragments frames make a message', async (t) => {
    const [{ peer, server }] = await peers(t, 1);
    const message = next<[Buffer]>(server, 'message', SLOW);
    peer.send({ opcode: 0x2, payload: 'a', fin: false, mask: true });
    peer.socket.write(tinyFragments(65_534));
    peer.send({ opcode: 0x0, payload: 'a', fin: true, mask: true });
    const [data] = await message;
    assert.equal(data.length, 65_536);
  });

  it('unfinished messages of tiny fragments cost their bytes, not an object per fragment', async (t) => {
    const count = 8;
    const fragments = 60_000;
    const pairs = await peers(t, count);
    const before = memory();
    for (const { peer } of pairs) {
      peer.send({ opcode: 0x1, payload: 'a', fin: false, mask: true });
      peer.socket.write(tinyFragments(fragments));
      // A ping between fragments is answered once all of them were read.
      peer.send({ opcode: 0x9, payload: 'sync', mask: true });
    }
    for (const { peer } of pairs) {
      let frame = await peer.nextFrame(SLOW);
      while (frame.opcode !== 0xa) frame = await peer.nextFrame(SLOW);
    }
    const held = memory() - before;
    // 480,000 bytes of payload in all; an object per fragment would take some 50 MB.
    assert.ok(held < 8 * MiB, `the server holds ${(held / MiB).toFixed(1)} MiB`);
    for (const { server } of pairs) assert.equal(server.readyState, 1);
  });

  it('a frame declared 16 MiB long that never comes costs what arrived, not 16 MiB', async (t) => {
    const count = 8;
    const pairs = await peers(t, count);
    const before = memory();
    const internals = (server: WebSocket) =>
      (server as unknown as { _conn: { receiveBufferedAmount: number } })._conn;
    for (const { peer } of pairs) {
      // The header, the masking key, and the first 1,000 bytes of the payload.
      peer.socket.write(
        encodeFrame({
          opcode: 0x2,
          payload: Buffer.alloc(1000),
          mask: true,
          declaredLength: BigInt(16 * MiB),
        }),
      );
    }
    await until(
      () => pairs.every(({ server }) => internals(server).receiveBufferedAmount === 1000),
      'the servers to read what was sent',
      SLOW,
    );
    const held = memory() - before;
    assert.ok(held < 16 * MiB, `the server holds ${(held / MiB).toFixed(1)} MiB`);
  });
});
