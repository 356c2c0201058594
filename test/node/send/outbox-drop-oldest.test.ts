// 'drop-oldest' keeps the newest messages (issue 11): a `tsws serve` echo server with
// --max-backpressure 1M --backpressure-policy drop-oldest, whose raw client stops reading during
// a flood of 64 KiB messages and then, after a quiet half second, sends a burst of 32 more.
// Once the client reads, the burst's last message and most of the burst arrive, whole and in
// order; what was dropped is the oldest. (The outbox used to count the transport's bytes, which
// it cannot drop, against the limit: once they alone were over it, every new message went.)
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveOptions, startEchoServer } from '../../../src/cli/serve.js';
import { encodeFrame } from '../../helpers/frames.js';
import { FrameReader, rawConnect, readHead, upgradeRequest } from '../../helpers/node-raw.js';
import { until, within } from '../../helpers/node-util.js';

const SIZE = 64 * 1024;
const FLOOD = 200;
const BURST = 32;
/** Burst ids start here. */
const BURST_BASE = 100_000;

function message(id: number): Buffer {
  const payload = Buffer.alloc(SIZE, id & 0xff);
  payload.writeUInt32BE(id, 0);
  return encodeFrame({ opcode: 2, payload, mask: true });
}

it('drop-oldest: a reader that stops during a flood still gets the newest burst, whole, in order', async (t) => {
  const options = serveOptions({
    port: '0',
    host: '127.0.0.1',
    'max-backpressure': '1M',
    'backpressure-policy': 'drop-oldest',
    heartbeat: 'off',
  });
  const server = await startEchoServer(options);
  t.after(() => server.close());
  let received = 0;
  let dropped = 0;
  const policies = new Set<string>();
  server.wss.on('connection', (ws) => {
    ws.on('message', () => received++);
    ws.on('dropped', (info) => {
      dropped++;
      policies.add(info.policy);
    });
  });

  const socket = await rawConnect(t, server.port);
  socket.write(upgradeRequest().text);
  const { head, rest } = await readHead(socket);
  // Stops reading: nothing comes before the first echo (no heartbeat).
  socket.pause();
  assert.match(head, /^HTTP\/1\.1 101 /);

  for (let i = 0; i < FLOOD; i++) socket.write(message(i));
  await until(() => received === FLOOD, 'the flood read by the server', 20_000);
  await sleep(500);
  for (let i = 0; i < BURST; i++) socket.write(message(BURST_BASE + i));
  await until(() => received === FLOOD + BURST, 'the burst read by the server', 20_000);
  assert.ok(dropped > 0, 'the flood was over the limit');

  const reader = new FrameReader(socket, rest);
  const ids: number[] = [];
  while (ids.at(-1) !== BURST_BASE + BURST - 1) {
    const frame = await within(reader.nextFrame(10_000), 'the burst’s last message', 15_000);
    if (frame.opcode >= 8) continue;
    assert.equal(frame.opcode, 2, 'a binary message');
    assert.ok(frame.fin, 'a whole message');
    assert.equal(frame.payload.length, SIZE, 'a whole message');
    const id = frame.payload.readUInt32BE(0);
    assert.ok(
      frame.payload.subarray(4).every((b) => b === (id & 0xff)),
      `message ${id} intact`,
    );
    ids.push(id);
  }
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'in order');
  const burst = ids.filter((id) => id >= BURST_BASE).map((id) => id - BURST_BASE);
  assert.ok(burst.length > BURST / 2, `most of the burst arrived (${burst.length} of ${BURST})`);
  // What was dropped of the burst is its oldest: what arrived is its end, without holes.
  assert.deepEqual(
    burst,
    Array.from({ length: burst.length }, (_, k) => BURST - burst.length + k),
  );
  assert.deepEqual([...policies], ['drop-oldest']);
  // Gone before the server closes (else it waits for this peer's close frame).
  socket.destroy();
});
