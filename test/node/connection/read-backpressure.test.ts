import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createWebSocketStream, type WebSocket } from '../../../src/index.js';
import { connectPair, messages, until, within } from '../../helpers/node-util.js';

// The suite runs on both server paths (raw libuv handles, and http + net.Socket with
// TSWS_NO_FAST_PATH=1); clients always read through a net.Socket.

const KiB = 1024;
const MiB = 1024 * KiB;
const SLOW = 30_000;
const COUNT = 32;

function numbered(i: number, size: number): Buffer {
  const data = Buffer.alloc(size, i & 0xff);
  data.writeUInt32BE(i, 0);
  return data;
}

/** Resolves once `value()` has not changed for a while (the flow it measures has stopped). */
async function settled(value: () => number, what: string): Promise<number> {
  let last = Number.NaN;
  let still = 0;
  await until(
    () => {
      const now = value();
      still = now === last ? still + 1 : 0;
      last = now;
      return still >= 50;
    },
    what,
    SLOW,
  );
  return last;
}

/**
 * `sender` sends COUNT messages of 1 MiB to `receiver`, which reads nothing (for whatever
 * reason the test set up): the bytes must stay with the sender, beyond what the kernel's
 * buffers hold, instead of piling up in the receiver's memory.
 */
async function assertHeldBySender(sender: WebSocket, received: () => number): Promise<void> {
  for (let i = 0; i < COUNT; i++) sender.send(numbered(i, MiB));
  const buffered = await settled(() => sender.bufferedAmount, 'the sender to stop writing');
  assert.ok(buffered > 8 * MiB, `the sender still holds ${buffered} bytes`);
  assert.ok(received() < COUNT, 'the receiver did not take everything');
}

describe('read backpressure', () => {
  it("pause() on the server's side stops reading TCP; resume() delivers everything in order", async (t) => {
    const { server, client } = await connectPair(t);
    server.pause();
    let received = 0;
    server.on('message', () => received++);
    await assertHeldBySender(client, () => received);
    assert.equal(received, 0, 'nothing is delivered while paused');
    const got = messages(server, COUNT, SLOW);
    server.resume();
    assert.deepEqual(
      (await got).map((m) => m.data.readUInt32BE(0)),
      [...Array(COUNT).keys()],
    );
  });

  it("pause() on the client's side stops reading TCP too", async (t) => {
    const { server, client } = await connectPair(t);
    client.pause();
    let received = 0;
    client.on('message', () => received++);
    await assertHeldBySender(server, () => received);
    assert.equal(received, 0);
    const got = messages(client, COUNT, SLOW);
    client.resume();
    assert.equal((await got).length, COUNT);
  });

  it('messages(): a consumer highWaterMark messages behind stops the reading; it resumes as the consumer catches up', async (t) => {
    const { server, client } = await connectPair(t);
    const highWaterMark = 4;
    const iterator = server.messages({ highWaterMark });
    let delivered = 0;
    server.on('message', () => delivered++);
    await assertHeldBySender(client, () => delivered);
    assert.equal(delivered, highWaterMark, 'no more than highWaterMark messages wait in memory');
    const numbers: number[] = [];
    for await (const [data] of iterator) {
      numbers.push((data as Buffer).readUInt32BE(0));
      if (numbers.length === COUNT) break;
    }
    assert.deepEqual(numbers, [...Array(COUNT).keys()]);
  });

  it('messages() ends when the connection closes, after the messages already received', async (t) => {
    const { server, client } = await connectPair(t);
    const iterator = server.messages();
    client.send('one');
    client.send('two');
    client.close(1000);
    const got: string[] = [];
    await within(
      (async () => {
        for await (const [data] of iterator) got.push(String(data));
      })(),
      'the iteration to end',
    );
    assert.deepEqual(got, ['one', 'two']);
  });

  it('createWebSocketStream: a readable side nobody reads stops reading TCP; reading it resumes', async (t) => {
    const { server, client } = await connectPair(t);
    const stream = createWebSocketStream(server);
    t.after(() => stream.destroy());
    let delivered = 0;
    server.on('message', () => delivered++);
    await assertHeldBySender(client, () => delivered);
    assert.ok(server.isPaused);
    let bytes = 0;
    await within(
      new Promise<void>((resolve) => {
        stream.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes === COUNT * MiB) resolve();
        });
      }),
      'every byte through the stream',
      SLOW,
    );
  });
});
