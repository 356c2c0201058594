import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextClose, startServer, turns } from '../helpers/node-util.js';
import {
  nextEvent,
  openPair,
  throwsDOMException,
  types,
  WebSocket,
  whatwgClient,
} from '../helpers/whatwg-util.js';

describe('WebSocket close(code, reason) (the close() method steps)', () => {
  it('step 1: a code other than 1000 or 3000-4999 throws an InvalidAccessError', async (t) => {
    const { ws } = await openPair(t);
    for (const code of [0, 1, 999, 1001, 1002, 1005, 1006, 1011, 1015, 2999, 5000, 65535]) {
      const error = throwsDOMException(
        () => ws.close(code),
        'InvalidAccessError',
        `close(${code})`,
      );
      assert.equal(error.code, 15, 'legacy code INVALID_ACCESS_ERR');
    }
    assert.equal(ws.readyState, WebSocket.OPEN, 'nothing started');
  });

  it('step 1: [Clamp] unsigned short conversion: NaN, null, "", false, negatives and huge values fail as 0 or 65535', async (t) => {
    const { ws } = await openPair(t);
    for (const code of [
      NaN,
      null,
      '',
      false,
      true,
      -1,
      -1000,
      70000,
      Infinity,
      -Infinity,
      '1e9',
      'abc',
      {},
    ]) {
      throwsDOMException(
        () => ws.close(code as number),
        'InvalidAccessError',
        `close(${typeof code === 'string' ? JSON.stringify(code) : String(code)})`,
      );
    }
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  for (const [given, sent] of [
    [1000.4, 1000],
    [999.5, 1000], // ties to even
    [1000.5, 1000], // ties to even
    [2999.5, 3000], // ties to even: an invalid-looking value that clamps to a valid code
    [3001.5, 3002],
    [4998.5, 4998],
    [4999.4, 4999],
    ['1000', 1000],
    [' 3000 ', 3000],
    [{ valueOf: () => 3003 }, 3003],
  ] as const) {
    it(`step 1: [Clamp] close(${typeof given === 'object' ? '{ valueOf: 3003 }' : JSON.stringify(given)}) sends ${sent}`, async (t) => {
      const { ws, server } = await openPair(t);
      const serverClose = nextClose(server);
      ws.close(given as number);
      assert.equal(ws.readyState, WebSocket.CLOSING);
      assert.equal((await serverClose).code, sent);
    });
  }

  it('step 1: [Clamp] 4999.5 rounds to 5000 (ties to even) and throws', async (t) => {
    const { ws } = await openPair(t);
    throwsDOMException(() => ws.close(4999.5), 'InvalidAccessError');
    throwsDOMException(() => ws.close(999.4), 'InvalidAccessError');
  });

  it('step 2: a reason over 123 bytes of UTF-8 throws a SyntaxError; 123 bytes are fine', async (t) => {
    const { ws, server } = await openPair(t);
    const tooLong = [
      'a'.repeat(124),
      'é'.repeat(62), // 124 bytes
      `${'€'.repeat(41)}a`, // 124 bytes
      `${'😀'.repeat(30)}abcd`, // 124 bytes
      '\uD800'.repeat(42), // lone surrogates become U+FFFD: 126 bytes
    ];
    for (const reason of tooLong) {
      const error = throwsDOMException(
        () => ws.close(1000, reason),
        'SyntaxError',
        `a reason of ${Buffer.byteLength(reason)} bytes`,
      );
      assert.equal(error.code, 12, 'legacy code SYNTAX_ERR');
    }
    assert.equal(ws.readyState, WebSocket.OPEN);
    const serverClose = nextClose(server);
    const reason = `${'é'.repeat(61)}a`; // 123 bytes
    ws.close(1000, reason);
    assert.deepEqual(await serverClose, {
      code: 1000,
      reason,
      raw: Buffer.from(reason),
    });
  });

  for (const reason of [
    'a'.repeat(123),
    `${'€'.repeat(41)}`,
    `${'😀'.repeat(30)}abc`,
    '\uD800'.repeat(41),
  ]) {
    it(`step 2: a reason of exactly 123 bytes is accepted (${JSON.stringify(reason.slice(0, 2))}…)`, async (t) => {
      const { ws, server } = await openPair(t);
      const serverClose = nextClose(server);
      ws.close(3000, reason);
      const { code, raw } = await serverClose;
      assert.equal(code, 3000);
      assert.equal(raw.length, 123);
    });
  }

  it('the code is checked before the reason (InvalidAccessError wins)', async (t) => {
    const { ws } = await openPair(t);
    throwsDOMException(() => ws.close(1001, 'x'.repeat(200)), 'InvalidAccessError');
    throwsDOMException(() => ws.close(0, 'x'.repeat(200)), 'InvalidAccessError');
  });

  it('steps 1-2 run whatever the state: still thrown while CLOSING and CLOSED', async (t) => {
    const { ws, closed } = await openPair(t);
    ws.close();
    throwsDOMException(() => ws.close(1001), 'InvalidAccessError');
    throwsDOMException(() => ws.close(1000, 'x'.repeat(124)), 'SyntaxError');
    await closed();
    throwsDOMException(() => ws.close(2000), 'InvalidAccessError');
    throwsDOMException(() => ws.close(undefined, 'x'.repeat(124)), 'SyntaxError');
  });

  it('step 3: close() twice is a no-op the second time (one close frame, the first code)', async (t) => {
    const { ws, server, log, closed } = await openPair(t);
    const serverClose = nextClose(server);
    ws.close(3000, 'first');
    ws.close(4000, 'second');
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const { code, reason } = await serverClose;
    assert.deepEqual({ code, reason }, { code: 3000, reason: 'first' });
    const event = await closed();
    assert.deepEqual([event.code, event.reason], [3000, 'first']);
    ws.close(1000);
    assert.deepEqual(types(log), ['open', 'close']);
  });

  it('"close the WebSocket": a non-empty reason without a code goes with 1000', async (t) => {
    const { ws, server, closed } = await openPair(t);
    const serverClose = nextClose(server);
    ws.close(undefined, 'reason only');
    const { code, reason } = await serverClose;
    assert.deepEqual({ code, reason }, { code: 1000, reason: 'reason only' });
    const event = await closed();
    assert.deepEqual([event.wasClean, event.code, event.reason], [true, 1000, 'reason only']);
  });

  it('"close the WebSocket": no code and an empty reason: a close frame without a body (1005)', async (t) => {
    const { ws, server, closed } = await openPair(t);
    const serverClose = nextClose(server);
    ws.close(undefined, '');
    const { code, raw } = await serverClose;
    assert.deepEqual({ code, length: raw.length }, { code: 1005, length: 0 });
    const event = await closed();
    assert.deepEqual([event.wasClean, event.code, event.reason], [true, 1005, '']);
  });

  it('a reason is a USVString: lone surrogates are sent as U+FFFD', async (t) => {
    const { ws, server, closed } = await openPair(t);
    const serverClose = nextClose(server);
    ws.close(1000, 'a\uD800b\uDFFFc');
    const { code, reason, raw } = await serverClose;
    assert.equal(code, 1000);
    assert.equal(reason, 'a\uFFFDb\uFFFDc');
    assert.deepEqual(raw, Buffer.from('a\uFFFDb\uFFFDc'));
    const event = await closed();
    assert.equal(event.reason, 'a\uFFFDb\uFFFDc');
  });

  it('non-string reasons are converted (WebIDL USVString): a number becomes its text', async (t) => {
    const { ws, server } = await openPair(t);
    const serverClose = nextClose(server);
    ws.close(1000, 12345 as unknown as string);
    assert.equal((await serverClose).reason, '12345');
  });

  it('close() sends the close frame after messages sent before it', async (t) => {
    const { ws, server, closed } = await openPair(t);
    const got: string[] = [];
    server.on('message', (data) => got.push(String(data)));
    ws.send('one');
    ws.send(new Blob(['two']));
    ws.send('three');
    ws.close(1000);
    await nextClose(server);
    await closed();
    assert.deepEqual(got, ['one', 'two', 'three']);
  });
});

describe('WebSocket ping() (Node extra)', () => {
  it('throws an InvalidStateError while CONNECTING, CLOSING and CLOSED', async (t) => {
    const { url } = await startServer(t);
    const { ws, closed } = whatwgClient(t, url);
    throwsDOMException(() => ws.ping(), 'InvalidStateError', 'CONNECTING');
    await nextEvent(ws, 'open');
    ws.close();
    throwsDOMException(() => ws.ping('x'), 'InvalidStateError', 'CLOSING');
    await closed();
    throwsDOMException(() => ws.ping(), 'InvalidStateError', 'CLOSED');
  });

  it('the server sees the ping and its payload (string, bytes, none); the pong fires no event', async (t) => {
    const { ws, server, log } = await openPair(t);
    const pings: string[] = [];
    server.on('ping', (data: Buffer) => pings.push(data.toString('hex')));
    const third = new Promise((resolve) => {
      let n = 0;
      server.on('ping', () => {
        if (++n === 3) resolve(undefined);
      });
    });
    ws.ping('hello');
    ws.ping(new Uint8Array([1, 2, 3]));
    ws.ping();
    await third;
    assert.deepEqual(pings, [Buffer.from('hello').toString('hex'), '010203', '']);
    // The pongs come back before this message; they are not events of the page.
    const message = nextEvent<MessageEvent>(ws, 'message');
    server.send('after the pongs');
    assert.equal((await message).data, 'after the pongs');
    await turns(3);
    assert.deepEqual(types(log), ['open', 'message']);
  });
});
