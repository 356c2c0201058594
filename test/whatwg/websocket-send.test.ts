import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messages, startServer } from '../helpers/node-util.js';
import { openPair, throwsDOMException, WebSocket, whatwgClient } from '../helpers/whatwg-util.js';

/** 64 bytes 0..63, to take views of. */
function pattern(length = 64): ArrayBuffer {
  const buffer = new ArrayBuffer(length);
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < length; i++) bytes[i] = i;
  return buffer;
}

const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

describe('WebSocket send() (the send() method steps)', () => {
  it('throws an InvalidStateError DOMException while CONNECTING', async (t) => {
    const { url } = await startServer(t);
    const { ws } = whatwgClient(t, url);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    for (const data of ['x', new ArrayBuffer(1), new Uint8Array(1), new Blob(['x'])]) {
      const error = throwsDOMException(() => ws.send(data), 'InvalidStateError');
      assert.equal(error.code, 11, 'legacy code INVALID_STATE_ERR');
    }
    assert.equal(ws.bufferedAmount, 0, 'a send that throws adds nothing');
  });

  it('throws a TypeError without an argument (WebIDL), adding nothing', async (t) => {
    const { ws } = await openPair(t);
    assert.throws(() => (ws.send as () => void)(), TypeError);
    assert.equal(ws.bufferedAmount, 0);
  });

  it('a string goes as a text message, in UTF-8', async (t) => {
    const { ws, server } = await openPair(t);
    const got = messages(server, 2);
    ws.send('héllo ✓ 🎉');
    ws.send('');
    const [first, second] = await got;
    assert.deepEqual(
      { text: first!.data.toString(), isBinary: first!.isBinary },
      { text: 'héllo ✓ 🎉', isBinary: false },
    );
    assert.deepEqual(
      { length: second!.data.length, isBinary: second!.isBinary },
      { length: 0, isBinary: false },
    );
  });

  it('a string with lone surrogates is sent as a USVString (U+FFFD), counted as such', async (t) => {
    const { ws, server } = await openPair(t);
    const got = messages(server, 1);
    ws.send('a\uD800b\uDC00');
    assert.equal(ws.bufferedAmount, 8, '1 + 3 + 1 + 3 bytes');
    const [message] = await got;
    assert.equal(message!.data.toString(), 'a\uFFFDb\uFFFD');
    assert.equal(message!.isBinary, false);
  });

  it('a Blob goes as a binary message, and a string sent after it stays after it', async (t) => {
    const { ws, server } = await openPair(t);
    const got = messages(server, 4);
    ws.send(new Blob(['blob ', new Uint8Array([1, 2, 3])], { type: 'text/plain' }));
    ws.send('after the blob');
    ws.send(new Blob([]));
    ws.send(new Uint8Array([9]));
    const list = await got;
    assert.deepEqual(
      list.map((m) => [m.isBinary, m.data.toString('hex')]),
      [
        [true, Buffer.concat([Buffer.from('blob '), Buffer.from([1, 2, 3])]).toString('hex')],
        [false, Buffer.from('after the blob').toString('hex')],
        [true, ''],
        [true, '09'],
      ],
    );
  });

  it('an ArrayBuffer goes as a binary message with all its bytes', async (t) => {
    const { ws, server } = await openPair(t);
    const got = messages(server, 2);
    ws.send(pattern());
    ws.send(new ArrayBuffer(0));
    const [first, second] = await got;
    assert.equal(first!.isBinary, true);
    assert.deepEqual(first!.data, Buffer.from(pattern()));
    assert.equal(second!.isBinary, true);
    assert.equal(second!.data.length, 0);
  });

  it('every typed array kind and DataView: only the bytes of the view (offset and length) are sent', async (t) => {
    const { ws, server } = await openPair(t);
    const views: ArrayBufferView[] = [];
    for (const Kind of TYPED_ARRAYS) {
      views.push(new Kind(pattern(), 8, 2)); // bytes 8 .. 8 + 2 * BYTES_PER_ELEMENT
    }
    views.push(new DataView(pattern(), 5, 3));
    views.push(new DataView(pattern()));
    views.push(new Uint8Array(pattern(), 63)); // the last byte
    views.push(new Uint8Array(pattern(), 10, 0)); // nothing
    views.push(Buffer.from('pooled')); // a Buffer is a view into a shared pool
    const got = messages(server, views.length);
    let expectedAmount = 0;
    for (const view of views) {
      ws.send(view);
      expectedAmount += view.byteLength;
    }
    assert.equal(ws.bufferedAmount, expectedAmount);
    const list = await got;
    views.forEach((view, i) => {
      const name = `${view.constructor.name}(offset ${view.byteOffset}, length ${view.byteLength})`;
      assert.equal(list[i]!.isBinary, true, name);
      assert.deepEqual(
        list[i]!.data,
        Buffer.from(view.buffer, view.byteOffset, view.byteLength),
        name,
      );
    });
  });

  it('WebIDL BufferSource is not [AllowShared]: a SharedArrayBuffer or a view of one throws a TypeError', async (t) => {
    const { ws } = await openPair(t);
    const shared = new SharedArrayBuffer(8);
    assert.throws(() => ws.send(shared), TypeError, 'SharedArrayBuffer');
    assert.throws(
      () => ws.send(new Uint8Array(shared)),
      TypeError,
      'Uint8Array over a SharedArrayBuffer',
    );
    assert.throws(
      () => ws.send(new DataView(shared)),
      TypeError,
      'DataView over a SharedArrayBuffer',
    );
    assert.equal(ws.bufferedAmount, 0);
  });

  it('the bytes are taken at the call: changing the buffer right after send() does not change what is sent', async (t) => {
    const { ws, server } = await openPair(t);
    const got = messages(server, 3);
    const view = new Uint8Array([1, 2, 3, 4]);
    ws.send(view);
    view.fill(0xee);
    const buffer = new Uint8Array([5, 6, 7]).buffer;
    ws.send(buffer);
    new Uint8Array(buffer).fill(0xee);
    const big = new Uint8Array(200_000).fill(1);
    ws.send(big);
    big.fill(0xee);
    const list = await got;
    assert.deepEqual([...list[0]!.data], [1, 2, 3, 4]);
    assert.deepEqual([...list[1]!.data], [5, 6, 7]);
    assert.ok(
      list[2]!.data.every((byte) => byte === 1),
      'the 200,000-byte message as it was',
    );
  });

  it('the bytes are taken at the call even while a Blob ahead of them is being read', async (t) => {
    const { ws, server } = await openPair(t);
    const got = messages(server, 3);
    ws.send(new Blob(['first, a blob']));
    const view = new Uint8Array([1, 2, 3, 4]);
    ws.send(view);
    view.fill(0xee);
    const buffer = new Uint8Array([5, 6, 7]).buffer;
    ws.send(buffer);
    new Uint8Array(buffer).fill(0xee);
    const list = await got;
    assert.equal(list[0]!.data.toString(), 'first, a blob');
    assert.deepEqual([...list[1]!.data], [1, 2, 3, 4]);
    assert.deepEqual([...list[2]!.data], [5, 6, 7]);
  });

  it('detaching the buffer right after send() (behind a Blob) neither changes what is sent nor throws later', async (t) => {
    const { ws, server } = await openPair(t);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    // Node's test runner would report it too; this names it.
    process.on('uncaughtException', onUncaught);
    t.after(() => {
      process.off('uncaughtException', onUncaught);
    });
    const got = messages(server, 3, 2000);
    ws.send(new Blob(['first, a blob']));
    const bytes = new Uint8Array([8, 9]);
    ws.send(bytes);
    // Transferring the buffer away detaches it.
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    assert.equal(bytes.byteLength, 0, 'detached');
    ws.send('last');
    const list = await got.catch((error: unknown) => {
      throw new Error(`${error}; uncaught meanwhile: ${uncaught.map(String).join('; ')}`);
    });
    assert.deepEqual(uncaught, []);
    assert.equal(list[0]!.data.toString(), 'first, a blob');
    assert.deepEqual([...list[1]!.data], [8, 9]);
    assert.equal(list[2]!.data.toString(), 'last');
  });

  it('other values become a USVString (WebIDL): numbers, objects, null, undefined, booleans', async (t) => {
    const { ws, server } = await openPair(t);
    const values: unknown[] = [
      42,
      -0.5,
      {},
      { toString: () => 'custom' },
      null,
      undefined,
      true,
      [1, 2],
      10n,
    ];
    const got = messages(server, values.length);
    for (const value of values) ws.send(value as string);
    const list = await got;
    assert.deepEqual(
      list.map((m) => [m.isBinary, m.data.toString()]),
      [
        [false, '42'],
        [false, '-0.5'],
        [false, '[object Object]'],
        [false, 'custom'],
        [false, 'null'],
        [false, 'undefined'],
        [false, 'true'],
        [false, '1,2'],
        [false, '10'],
      ],
    );
  });

  it('a Symbol cannot become a string: TypeError (WebIDL ToString), nothing sent', async (t) => {
    const { ws } = await openPair(t);
    assert.throws(() => ws.send(Symbol('x') as unknown as string), TypeError);
    assert.equal(ws.bufferedAmount, 0);
  });

  it('a value whose toString throws propagates the exception and sends nothing', async (t) => {
    const { ws } = await openPair(t);
    const boom = new Error('boom');
    assert.throws(
      () =>
        ws.send({
          toString() {
            throw boom;
          },
        } as unknown as string),
      (error) => error === boom,
    );
    assert.equal(ws.bufferedAmount, 0);
  });

  it('messages arrive in the order of the calls, whatever their kinds', async (t) => {
    const { ws, server } = await openPair(t);
    const n = 50;
    const got = messages(server, n);
    for (let i = 0; i < n; i++) {
      const text = `#${i}`;
      if (i % 4 === 0) ws.send(text);
      else if (i % 4 === 1) ws.send(new Blob([text]));
      else if (i % 4 === 2) ws.send(Buffer.from(text));
      else ws.send(new TextEncoder().encode(text).buffer);
    }
    const list = await got;
    assert.deepEqual(
      list.map((m) => m.data.toString()),
      Array.from({ length: n }, (_, i) => `#${i}`),
    );
  });
});
