// A replay larger than the peer's maxBackpressure is delivered as the peer reads (paced by
// drain), not refused with 1008 (issue 11): the policy is for senders that do not wait, and
// a replay can wait. The client here stops reading until the server has had time to try.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameReader, rawConnect, readHead, upgradeRequest } from '../helpers/node-raw.js';
import { startServer, within } from '../helpers/node-util.js';

const SIZE = 64 * 1024;
const COUNT = 120;

it('a replay of 7.5 MiB to a peer limited to 256 KiB arrives whole, in order, without 1008', async (t) => {
  const { wss, port } = await startServer(t, {
    maxBackpressure: 256 * 1024,
    heartbeat: false,
    pubsub: { history: 1000, historyBytes: 64 * 1024 * 1024 },
  });
  for (let i = 0; i < COUNT; i++) {
    const data = Buffer.alloc(SIZE, i & 0xff);
    data.writeUInt32BE(i, 0);
    wss.publish('log', data);
  }
  const replays: Promise<{ replayed: number; complete: boolean }>[] = [];
  wss.on('connection', (ws) => replays.push(wss.replay(ws, 'log', '0-0')));

  const socket = await rawConnect(t, port);
  socket.write(upgradeRequest().text);
  const { head, rest } = await readHead(socket);
  socket.pause();
  assert.match(head, /^HTTP\/1\.1 101 /);
  // The server has had its chance to push it all (and to refuse it, as it did).
  await sleep(300);
  const reader = new FrameReader(socket, rest);
  const ids: number[] = [];
  while (ids.length < COUNT) {
    const frame = await within(reader.nextFrame(10_000), 'the replay', 15_000);
    assert.notEqual(
      frame.opcode,
      8,
      `closed with ${frame.payload.readUInt16BE(0)} after ${ids.length}`,
    );
    assert.equal(frame.payload.length, SIZE);
    ids.push(frame.payload.readUInt32BE(0));
  }
  assert.deepEqual(
    ids,
    Array.from({ length: COUNT }, (_, i) => i),
  );
  const [result] = await Promise.all(replays);
  assert.deepEqual(result, { replayed: COUNT, complete: true });
  socket.destroy();
});
