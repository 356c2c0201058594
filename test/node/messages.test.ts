import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { rawPair } from '../helpers/node-raw.js';
import {
  client,
  connectPair,
  messages,
  next,
  nextClose,
  nextMessage,
  record,
  startServer,
  turns,
  until,
  within,
} from '../helpers/node-util.js';

/** Waits a little to show that nothing happens (an absence cannot be awaited as an event). */
const quietPeriod = () => new Promise((resolve) => setTimeout(resolve, 50));

const MiB = 1024 * 1024;

describe('messages: text and binary', () => {
  it('strings arrive as text, buffers as binary, both directions', async (t) => {
    const { server, client } = await connectPair(t);
    const atServer = messages(server, 2);
    client.send('héllo');
    client.send(Buffer.from([1, 2, 3]));
    const [a, b] = await atServer;
    assert.deepEqual([a!.data.toString(), a!.isBinary], ['héllo', false]);
    assert.deepEqual([b!.data, b!.isBinary], [Buffer.from([1, 2, 3]), true]);
    assert.ok(Buffer.isBuffer(a!.data), 'text data is a Buffer, as in ws');

    const atClient = messages(client, 2);
    server.send('wörld');
    server.send(new Uint8Array([4, 5]));
    const [c, d] = await atClient;
    assert.deepEqual([c!.data.toString(), c!.isBinary], ['wörld', false]);
    assert.deepEqual([d!.data, d!.isBinary], [Buffer.from([4, 5]), true]);
  });

  for (const size of [0, 125, 126, 65535, 65536, MiB, 16 * MiB]) {
    it(`a ${size}-byte message makes the round trip both ways, binary and text`, async (t) => {
      const { server, client } = await connectPair(t);
      const payload = randomBytes(size);
      const upBinary = nextMessage(server, 20_000);
      client.send(payload);
      const up = await upBinary;
      assert.equal(up.isBinary, true);
      assert.ok((up.data as Buffer).equals(payload), 'client -> server bytes');

      const downBinary = nextMessage(client, 20_000);
      server.send(payload);
      const down = await downBinary;
      assert.equal(down.isBinary, true);
      assert.ok((down.data as Buffer).equals(payload), 'server -> client bytes');

      const text = 'é'.repeat(Math.floor(size / 2)) + (size % 2 === 1 ? 'x' : '');
      const upText = nextMessage(server, 20_000);
      client.send(text);
      const gotUp = await upText;
      assert.equal(gotUp.isBinary, false);
      assert.equal((gotUp.data as Buffer).length, size);
      assert.ok((gotUp.data as Buffer).toString() === text, 'client -> server text');
      const downText = nextMessage(client, 20_000);
      server.send(text);
      assert.ok(((await downText).data as Buffer).toString() === text, 'server -> client text');
    });
  }

  it('uses the 7-, 16- and 64-bit length encodings at the boundaries (on the wire)', async (t) => {
    const { server, peer } = await rawPair(t);
    // Size and header length: 2 bytes up to 125, 4 up to 65535, 10 above (RFC 6455 §5.2).
    const expected: [number, number][] = [
      [0, 2],
      [125, 2],
      [126, 4],
      [65535, 4],
      [65536, 10],
    ];
    for (const [size] of expected) server.send(Buffer.alloc(size, 7));
    for (const [size] of expected) {
      const frame = await peer.nextFrame();
      assert.equal(frame.opcode, 2);
      assert.equal(frame.fin, true);
      assert.equal(frame.masked, false, 'a server never masks');
      assert.equal(frame.payload.length, size);
      assert.ok(frame.payload.every((b) => b === 7));
    }
    const total = expected.reduce((sum, [size, header]) => sum + size + header, 0);
    assert.equal(peer.received, total, 'bytes after the 101 response');
  });
});

describe('binaryType', () => {
  it('nodebuffer (default) gives a Buffer', async (t) => {
    const { server, client } = await connectPair(t);
    assert.equal(client.binaryType, 'nodebuffer');
    const got = nextMessage(client);
    server.send(Buffer.from('abc'));
    const { data } = await got;
    assert.ok(Buffer.isBuffer(data));
    assert.equal(data.toString(), 'abc');
  });

  it('arraybuffer gives an ArrayBuffer of exactly the message bytes', async (t) => {
    const { server, client } = await connectPair(t);
    client.binaryType = 'arraybuffer';
    assert.equal(client.binaryType, 'arraybuffer');
    const got = messages(client, 2);
    server.send(Buffer.from([9, 8, 7]));
    server.send('text stays a Buffer');
    const [bin, text] = await got;
    assert.ok(bin!.data instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(bin!.data)], [9, 8, 7]);
    assert.ok(Buffer.isBuffer(text!.data));
    assert.equal(text!.isBinary, false);
  });

  it('fragments gives an array of Buffers that together make the message', async (t) => {
    const { server, client } = await connectPair(t);
    client.binaryType = 'fragments';
    const got = nextMessage(client);
    server.send(Buffer.from('ab'), { fin: false });
    server.send(Buffer.from('cd'));
    const { data, isBinary } = await got;
    assert.equal(isBinary, true);
    assert.ok(Array.isArray(data));
    for (const part of data) assert.ok(Buffer.isBuffer(part));
    assert.equal(Buffer.concat(data).toString(), 'abcd');
  });

  it('an invalid binaryType is ignored', async (t) => {
    const { client } = await connectPair(t);
    client.binaryType = 'blob' as never;
    assert.equal(client.binaryType, 'nodebuffer');
  });
});

describe('send(): data forms', () => {
  it('sends only the bytes of typed-array views and DataViews with offsets', async (t) => {
    const { server, client } = await connectPair(t);
    const backing = new ArrayBuffer(16);
    new Uint8Array(backing).forEach((_, i, a) => {
      a[i] = i;
    });
    const got = messages(server, 5);
    client.send(new Uint8Array(backing, 2, 3));
    client.send(new Uint16Array(backing, 4, 2));
    client.send(new DataView(backing, 10, 4));
    client.send(backing);
    client.send(Buffer.from(backing, 12, 2));
    const [u8, u16, view, whole, buf] = await got;
    assert.deepEqual([...u8!.data], [2, 3, 4]);
    assert.deepEqual([...u16!.data], [4, 5, 6, 7]);
    assert.deepEqual([...view!.data], [10, 11, 12, 13]);
    assert.deepEqual([...whole!.data], [...Array(16).keys()]);
    assert.deepEqual([...buf!.data], [12, 13]);
    for (const m of [u8, u16, view, whole, buf]) assert.equal(m!.isBinary, true);
  });

  it('sends a number as its decimal text', async (t) => {
    const { server, client } = await connectPair(t);
    const got = nextMessage(server);
    client.send(42.5);
    const { data, isBinary } = await got;
    assert.equal(data.toString(), '42.5');
    assert.equal(isBinary, false);
  });

  it('sends a Blob as binary, before a string sent after it', async (t) => {
    const { server, client } = await connectPair(t);
    const got = messages(server, 3);
    client.send(new Blob(['blob ', 'bytes']));
    client.send('after the blob');
    client.send(new Blob([new Uint8Array([1, 2])]), { binary: false });
    const [blob, text, textBlob] = await got;
    assert.deepEqual([blob!.data.toString(), blob!.isBinary], ['blob bytes', true]);
    assert.deepEqual([text!.data.toString(), text!.isBinary], ['after the blob', false]);
    assert.equal(textBlob!.isBinary, false);
  });

  it('a Blob sent just before close() is delivered before the close frame (as in ws)', async (t) => {
    const { server, client } = await connectPair(t);
    const log = record(server, ['message', 'close']);
    const closed = nextClose(server);
    const sent = new Promise<unknown>((resolve) => client.send(new Blob(['last words']), resolve));
    client.close(1000);
    await closed;
    assert.deepEqual(
      log.map((e) => e.name),
      ['message', 'close'],
    );
    assert.equal(String(log[0]!.args[0]), 'last words');
    const error = await within(sent, 'send callback');
    assert.ok(error === null || error === undefined, 'the Blob send succeeded');
  });

  it('binary: false sends a Buffer as text; binary: true sends a string as binary', async (t) => {
    const { server, client } = await connectPair(t);
    const got = messages(server, 2);
    client.send(Buffer.from('as text'), { binary: false });
    client.send('as binary', { binary: true });
    const [a, b] = await got;
    assert.deepEqual([a!.data.toString(), a!.isBinary], ['as text', false]);
    assert.deepEqual([b!.data.toString(), b!.isBinary], ['as binary', true]);
  });

  it('rejects data of an unsupported type', async (t) => {
    const { client } = await connectPair(t);
    assert.throws(() => client.send({} as never), TypeError);
  });

  it('fin: false sends fragments that the peer reassembles into one message', async (t) => {
    const { server, client } = await connectPair(t);
    const got = messages(server, 2);
    client.send('frag', { fin: false });
    client.send('men', { fin: false });
    client.send('ted');
    client.send(Buffer.from('next'));
    const [a, b] = await got;
    assert.deepEqual([a!.data.toString(), a!.isBinary], ['fragmented', false]);
    assert.deepEqual([b!.data.toString(), b!.isBinary], ['next', true]);
  });

  it('fin: false writes a first frame then continuation frames (on the wire)', async (t) => {
    const { server, peer } = await rawPair(t);
    server.send(Buffer.from('a'), { fin: false });
    server.send(Buffer.from('b'), { fin: false });
    server.send(Buffer.from('c'));
    const frames = [await peer.nextFrame(), await peer.nextFrame(), await peer.nextFrame()];
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.payload.toString()]),
      [
        [2, false, 'a'],
        [0, false, 'b'],
        [0, true, 'c'],
      ],
    );
  });
});

describe('sendStream()', () => {
  it('streams an async generator as one message; a send made meanwhile comes after it', async (t) => {
    const { server, client } = await connectPair(t);
    const got = messages(server, 2);
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* pieces() {
      yield 'stream';
      await gate;
      yield Buffer.from('ed ');
      yield 'text';
    }
    const streaming = client.sendStream(pieces(), { binary: false });
    client.send('sent meanwhile');
    release!();
    await within(streaming, 'sendStream to finish');
    const [streamed, after] = await got;
    assert.deepEqual([streamed!.data.toString(), streamed!.isBinary], ['streamed text', false]);
    assert.deepEqual([after!.data.toString(), after!.isBinary], ['sent meanwhile', false]);
  });

  it('is binary by default and writes fragments (on the wire)', async (t) => {
    const { server, peer } = await rawPair(t);
    await server.sendStream([Buffer.from('x'), Buffer.from('y')]);
    const frames = [await peer.nextFrame(), await peer.nextFrame(), await peer.nextFrame()];
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.payload.toString()]),
      [
        [2, false, 'x'],
        [0, false, 'y'],
        [0, true, ''],
      ],
    );
  });

  it('waits for the socket to drain before taking the next piece from a slow reader', async (t) => {
    const { server, peer } = await rawPair(t);
    const piece = 512 * 1024;
    const count = 32;
    // The peer reads a chunk, then pauses a moment: a slow consumer.
    peer.socket.on('data', () => {
      peer.socket.pause();
      setTimeout(() => peer.socket.resume(), 1);
    });
    const bufferedAtPull: number[] = [];
    async function* pieces() {
      for (let i = 0; i < count; i++) {
        bufferedAtPull.push(server.bufferedAmount);
        yield Buffer.alloc(piece, i);
      }
    }
    await within(server.sendStream(pieces()), 'sendStream over a slow reader', 20_000);
    // Each frame: 10 header bytes (64-bit length) and the piece; then an empty final frame.
    const total = count * (piece + 10) + 2;
    await until(() => peer.received >= total, 'all bytes at the peer', 20_000);
    assert.equal(bufferedAtPull.length, count);
    const most = Math.max(...bufferedAtPull);
    assert.ok(most <= piece, `at most one piece waits in the socket (saw ${most} bytes)`);
    let bytes = 0;
    for (let i = 0; i <= count; i++) {
      const frame = await peer.nextFrame();
      assert.equal(frame.fin, i === count);
      if (i < count) assert.ok(frame.payload.every((b) => b === i));
      bytes += frame.payload.length;
    }
    assert.equal(bytes, piece * count);
  });

  it('rejects when the connection closes in the middle', async (t) => {
    const { server, client } = await connectPair(t);
    async function* pieces() {
      yield 'a';
      client.terminate();
      await nextClose(server);
      yield 'b';
    }
    await assert.rejects(within(server.sendStream(pieces()), 'sendStream to settle'));
  });
});

describe('send callbacks and bufferedAmount', () => {
  it('calls the callback after the write, without an error', async (t) => {
    const { client, server } = await connectPair(t);
    let sync = true;
    const result = await within(
      new Promise<unknown>((resolve) => {
        client.send('x', (error) => {
          assert.equal(sync, false, 'the callback is not called synchronously');
          resolve(error);
        });
        sync = false;
      }),
      'send callback',
    );
    assert.ok(result === null || result === undefined);
    const withOptions = await within(
      new Promise<unknown>((resolve) => server.send('y', { binary: true }, resolve)),
      'send callback with options',
    );
    assert.ok(withOptions === null || withOptions === undefined);
  });

  it('bufferedAmount grows while the peer does not read, and falls back to 0', async (t) => {
    const { server, client } = await connectPair(t);
    server.pause();
    assert.equal(client.bufferedAmount, 0);
    const chunk = Buffer.alloc(8 * MiB);
    const written: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      written.push(new Promise((resolve) => client.send(chunk, resolve)));
    }
    assert.ok(client.bufferedAmount >= 4 * chunk.length, 'counted as soon as sent');
    await new Promise((resolve) => setImmediate(resolve));
    const stuck = client.bufferedAmount;
    assert.ok(stuck > 8 * MiB, `still buffered while the peer is paused (${stuck})`);
    const got = messages(server, 4, 20_000);
    server.resume();
    await within(Promise.all(written), 'all writes done', 20_000);
    assert.equal(client.bufferedAmount, 0);
    assert.equal((await got).length, 4);
  });

  it('send() while CONNECTING throws', async (t) => {
    const { url } = await startServer(t);
    const ws = client(t, url);
    assert.throws(() => ws.send('too early'), /CONNECTING/);
    await next(ws, 'open');
  });

  it('send() after close calls back with an error and counts the bytes in bufferedAmount', async (t) => {
    const { client } = await connectPair(t);
    client.close();
    let before = client.bufferedAmount;
    const error = await within(
      new Promise<Error | null | undefined>((resolve) => {
        client.send('12345', resolve);
        assert.equal(client.bufferedAmount, before + 5);
      }),
      'send callback after close()',
    );
    assert.ok(error instanceof Error);
    await nextClose(client);
    before = client.bufferedAmount;
    const afterClosed = await within(
      new Promise<Error | null | undefined>((resolve) => {
        client.send(Buffer.alloc(3), resolve);
        assert.equal(client.bufferedAmount, before + 3);
      }),
      'send callback once closed',
    );
    assert.ok(afterClosed instanceof Error);
    assert.doesNotThrow(() => client.send('no callback'));
  });

  it('send() right after terminate() calls back with an error instead of throwing', async (t) => {
    const { client } = await connectPair(t);
    client.terminate();
    assert.equal(client.readyState, WebSocket.CLOSING);
    const error = await within(
      new Promise<unknown>((resolve, reject) => {
        try {
          client.send('late', resolve);
        } catch (thrown) {
          reject(thrown);
        }
      }),
      'send callback after terminate()',
    );
    assert.ok(error instanceof Error);
  });

  it('callbacks of writes pending at close are called with an error', async (t) => {
    const { server, client } = await connectPair(t);
    server.pause();
    const results: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      let n = 0;
      for (let i = 0; i < 8; i++) {
        client.send(Buffer.alloc(4 * MiB), (error) => {
          results.push(error);
          if (++n === 8) resolve();
        });
      }
    });
    await new Promise((resolve) => setImmediate(resolve));
    client.terminate();
    await within(done, 'all 8 callbacks');
    assert.ok(
      results.some((e) => e instanceof Error),
      'the writes that could not finish report an error',
    );
  });
});

describe('ordering', () => {
  it('10,000 small messages arrive complete and in order, both directions', async (t) => {
    const { server, client } = await connectPair(t);
    const n = 10_000;
    const atServer = messages(server, n, 20_000);
    const atClient = messages(client, n, 20_000);
    for (let i = 0; i < n; i++) {
      client.send(i % 2 === 0 ? `c${i}` : Buffer.from(`c${i}`));
      server.send(i % 2 === 0 ? `s${i}` : Buffer.from(`s${i}`));
    }
    const [up, down] = await Promise.all([atServer, atClient]);
    for (let i = 0; i < n; i++) {
      assert.equal(up[i]!.data.toString(), `c${i}`);
      assert.equal(up[i]!.isBinary, i % 2 === 1);
      assert.equal(down[i]!.data.toString(), `s${i}`);
    }
  });
});

describe('pause() and resume()', () => {
  it('holds messages while paused and delivers them in order on resume', async (t) => {
    const { server, client } = await connectPair(t);
    const seen: string[] = [];
    server.on('message', (data) => seen.push(String(data)));
    assert.equal(server.isPaused, false);
    server.pause();
    assert.equal(server.isPaused, true);
    await within(
      Promise.all(['m1', 'm2', 'm3', 'm4', 'm5'].map((m) => new Promise((r) => client.send(m, r)))),
      'writes',
    );
    await quietPeriod();
    assert.deepEqual(seen, []);
    const all = messages(server, 5);
    server.resume();
    assert.equal(server.isPaused, false);
    await all;
    assert.deepEqual(seen, ['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('pausing inside a message listener holds the rest of the same read', async (t) => {
    const { server, client } = await connectPair(t);
    const seen: string[] = [];
    server.on('message', (data) => {
      seen.push(String(data));
      if (seen.length === 1) server.pause();
    });
    const first = next(server, 'message');
    for (let i = 1; i <= 5; i++) client.send(`m${i}`);
    await first;
    await quietPeriod();
    assert.deepEqual(seen, ['m1']);
    assert.equal(server.isPaused, true);
    const rest = messages(server, 4);
    server.resume();
    await rest;
    assert.deepEqual(seen, ['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('pause() stops reading from TCP: what the peer sends waits in its own buffers', async (t) => {
    // Runs on both server paths (libuv fast path and net). A paused side that kept reading
    // would take in all 32 MiB, and the sender's bufferedAmount would fall to 0.
    const { server, client } = await connectPair(t);
    server.pause();
    const count = 32;
    for (let i = 0; i < count; i++) client.send(Buffer.alloc(MiB, i));
    await turns(20);
    await quietPeriod();
    await quietPeriod();
    assert.ok(
      client.bufferedAmount > 8 * MiB,
      `the sender still holds most of it while the receiver is paused (${client.bufferedAmount})`,
    );
    const got = messages(server, count, 20_000);
    server.resume();
    const all = await got;
    assert.equal(all.length, count);
    assert.equal((all[count - 1]!.data as Buffer)[0], count - 1);
    await until(() => client.bufferedAmount === 0, 'the sender to drain', 20_000);
  });

  it('pause() and resume() do nothing while CONNECTING', async (t) => {
    const { url } = await startServer(t);
    const ws = client(t, url);
    ws.pause();
    assert.equal(ws.isPaused, false);
    ws.resume();
    await next(ws, 'open');
    assert.equal(ws.isPaused, false);
  });
});
