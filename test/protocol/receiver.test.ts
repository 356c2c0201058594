import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode, Opcode } from '../../src/protocol/index.js';
import { closePayload, encodeFrame } from '../helpers/frames.js';
import { recordingConnection } from '../helpers/recorder.js';

const server = () => recordingConnection({ role: 'server' });
const client = () => recordingConnection({ role: 'client' });

describe('frame parsing', () => {
  it('reads a masked text frame on the server', () => {
    const { conn, events } = server();
    conn.receiveData(encodeFrame({ opcode: Opcode.Text, payload: 'hello', mask: true }));
    assert.deepEqual(events, [{ type: 'message', data: Buffer.from('hello'), isBinary: false }]);
  });

  it('reads 7-bit, 16-bit and 64-bit lengths, and non-minimal encodings', () => {
    for (const size of [0, 1, 125, 126, 127, 65535, 65536, 100_000]) {
      for (const lengthEncoding of [undefined, '16', '64'] as const) {
        if (lengthEncoding === '16' && size > 0xffff) continue;
        const { conn, events } = server();
        const payload = Buffer.alloc(size, 7);
        conn.receiveData(
          encodeFrame({ opcode: Opcode.Binary, payload, mask: true, lengthEncoding }),
        );
        assert.equal(events.length, 1, `size ${size} ${lengthEncoding}`);
        assert.equal(events[0]!.type, 'message');
        assert.deepEqual((events[0] as { data: Buffer }).data, payload);
      }
    }
  });

  it('accepts a header cut at every position and a payload in single bytes', () => {
    const bytes = Buffer.concat([
      encodeFrame({ opcode: Opcode.Text, payload: 'héllo wörld', mask: true }),
      encodeFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(300, 1), mask: true }),
      encodeFrame({ opcode: Opcode.Ping, payload: 'p', mask: true }),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { conn, events } = server();
      const copy = Buffer.from(bytes);
      conn.receiveData(copy.subarray(0, cut));
      conn.receiveData(copy.subarray(cut));
      assert.equal(events.length, 3, `cut at ${cut}`);
    }
    const { conn, events } = server();
    for (const byte of Buffer.from(bytes)) conn.receiveData(Buffer.from([byte]));
    assert.deepEqual(
      events.map((e) => e.type),
      ['message', 'message', 'ping'],
    );
    assert.equal((events[0] as { data: Buffer }).data.toString(), 'héllo wörld');
  });

  it('reads many frames from one chunk', () => {
    const { conn, events } = server();
    const frames = Array.from({ length: 100 }, (_, i) =>
      encodeFrame({ opcode: Opcode.Text, payload: `m${i}`, mask: true }),
    );
    conn.receiveData(Buffer.concat(frames));
    assert.equal(events.length, 100);
    assert.equal((events[99] as { data: Buffer }).data.toString(), 'm99');
  });

  it('requires masked frames on the server and unmasked ones on the client (1002)', () => {
    const s = server();
    s.conn.receiveData(encodeFrame({ opcode: Opcode.Text, payload: 'x' }));
    assert.deepEqual(s.events, [
      { type: 'error', code: ErrorCode.ExpectedMask, closeCode: CloseCode.ProtocolError },
    ]);
    const c = client();
    c.conn.receiveData(encodeFrame({ opcode: Opcode.Text, payload: 'x', mask: true }));
    assert.deepEqual(c.events, [
      { type: 'error', code: ErrorCode.UnexpectedMask, closeCode: CloseCode.ProtocolError },
    ]);
    const out = c.output();
    assert.equal(out.frames[0]!.opcode, Opcode.Close);
    assert.equal(out.frames[0]!.payload.readUInt16BE(0), 1002);
  });

  it('fails on reserved opcodes and RSV bits (1002)', () => {
    for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
      const { conn, events } = server();
      conn.receiveData(encodeFrame({ opcode, payload: 'x', mask: true }));
      assert.deepEqual(
        events,
        [{ type: 'error', code: ErrorCode.InvalidOpcode, closeCode: 1002 }],
        `opcode ${opcode}`,
      );
    }
    for (const rsv of [{ rsv1: true }, { rsv2: true }, { rsv3: true }]) {
      const { conn, events } = server();
      conn.receiveData(encodeFrame({ opcode: Opcode.Text, payload: 'x', mask: true, ...rsv }));
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, 'error');
      assert.equal((events[0] as { closeCode: number }).closeCode, 1002);
    }
  });

  it('fails on a 64-bit length with the MSB set (1002) and on a length over maxPayload (1009) before the payload', () => {
    const a = server();
    a.conn.receiveData(
      encodeFrame({
        opcode: Opcode.Binary,
        mask: true,
        declaredLength: 0x8000000000000000n,
      }).subarray(0, 14),
    );
    assert.deepEqual(a.events, [
      { type: 'error', code: ErrorCode.InvalidPayloadLength, closeCode: 1002 },
    ]);
    const b = recordingConnection({ role: 'server', maxPayload: 1000 });
    // Only the header arrives: the refusal must not wait for the payload.
    b.conn.receiveData(
      encodeFrame({ opcode: Opcode.Binary, mask: true, declaredLength: 1001n }).subarray(0, 8),
    );
    assert.deepEqual(b.events, [{ type: 'error', code: ErrorCode.MessageTooBig, closeCode: 1009 }]);
    const c = server();
    c.conn.receiveData(
      encodeFrame({
        opcode: Opcode.Binary,
        mask: true,
        declaredLength: 0x7fffffffffffffffn,
      }).subarray(0, 14),
    );
    assert.deepEqual(c.events, [{ type: 'error', code: ErrorCode.MessageTooBig, closeCode: 1009 }]);
  });

  it('applies maxPayload to the whole message, not each frame', () => {
    const { conn, events } = recordingConnection({ role: 'server', maxPayload: 10 });
    conn.receiveData(
      encodeFrame({ opcode: Opcode.Text, payload: '123456', fin: false, mask: true }),
    );
    conn.receiveData(encodeFrame({ opcode: Opcode.Continuation, payload: '12345', mask: true }));
    assert.deepEqual(events, [{ type: 'error', code: ErrorCode.MessageTooBig, closeCode: 1009 }]);
  });

  it('limits the number of fragments in a message (1009)', () => {
    const { conn, events } = recordingConnection({ role: 'server', maxFragments: 3 });
    conn.receiveData(encodeFrame({ opcode: Opcode.Text, payload: 'a', fin: false, mask: true }));
    conn.receiveData(encodeFrame({ opcode: 0, payload: 'b', fin: false, mask: true }));
    conn.receiveData(encodeFrame({ opcode: 0, payload: 'c', fin: false, mask: true }));
    assert.equal(events.length, 0);
    conn.receiveData(encodeFrame({ opcode: 0, payload: 'd', fin: true, mask: true }));
    assert.deepEqual(events, [
      { type: 'error', code: ErrorCode.TooManyFragments, closeCode: 1009 },
    ]);
  });
});

describe('control frames', () => {
  it('answers a ping with a pong carrying the same payload', () => {
    const { conn, events, output } = server();
    conn.receiveData(encodeFrame({ opcode: Opcode.Ping, payload: 'abc', mask: true }));
    assert.deepEqual(events, [{ type: 'ping', data: Buffer.from('abc') }]);
    const { frames } = output();
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.opcode, Opcode.Pong);
    assert.equal(frames[0]!.masked, false);
    assert.equal(frames[0]!.payload.toString(), 'abc');
  });

  it('a client masks its pong', () => {
    const { conn, output } = client();
    conn.receiveData(encodeFrame({ opcode: Opcode.Ping, payload: 'xyz' }));
    const { frames } = output();
    assert.equal(frames[0]!.masked, true);
    assert.equal(frames[0]!.payload.toString(), 'xyz');
  });

  it('accepts an unsolicited pong', () => {
    const { conn, events, output } = server();
    conn.receiveData(encodeFrame({ opcode: Opcode.Pong, payload: 'u', mask: true }));
    assert.deepEqual(events, [{ type: 'pong', data: Buffer.from('u') }]);
    assert.equal(output().frames.length, 0);
  });

  it('refuses fragmented control frames and payloads over 125 bytes (1002)', () => {
    const a = server();
    a.conn.receiveData(encodeFrame({ opcode: Opcode.Ping, payload: 'x', fin: false, mask: true }));
    assert.deepEqual(a.events, [{ type: 'error', code: ErrorCode.ExpectedFin, closeCode: 1002 }]);
    const b = server();
    b.conn.receiveData(
      encodeFrame({ opcode: Opcode.Ping, payload: Buffer.alloc(126), mask: true }),
    );
    assert.deepEqual(b.events, [
      { type: 'error', code: ErrorCode.InvalidControlPayloadLength, closeCode: 1002 },
    ]);
  });

  it('handles control frames between the fragments of a message', () => {
    const { conn, events, output } = server();
    conn.receiveData(
      Buffer.concat([
        encodeFrame({ opcode: Opcode.Text, payload: 'frag', fin: false, mask: true }),
        encodeFrame({ opcode: Opcode.Ping, payload: 'p', mask: true }),
        encodeFrame({ opcode: Opcode.Continuation, payload: 'ment', fin: false, mask: true }),
        encodeFrame({ opcode: Opcode.Pong, payload: 'q', mask: true }),
        encodeFrame({ opcode: Opcode.Continuation, payload: 'ed', fin: true, mask: true }),
      ]),
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['ping', 'pong', 'message'],
    );
    assert.equal((events[2] as { data: Buffer }).data.toString(), 'fragmented');
    assert.equal(output().frames[0]!.opcode, Opcode.Pong);
  });
});

describe('fragmentation', () => {
  it('reassembles a fragmented binary message', () => {
    const { conn, events } = server();
    const parts = [Buffer.alloc(5000, 1), Buffer.alloc(10, 2), Buffer.alloc(70000, 3)];
    parts.forEach((payload, i) => {
      conn.receiveData(
        encodeFrame({
          opcode: i === 0 ? Opcode.Binary : Opcode.Continuation,
          payload,
          fin: i === parts.length - 1,
          mask: true,
        }),
      );
    });
    assert.equal(events.length, 1);
    assert.deepEqual((events[0] as { data: Buffer }).data, Buffer.concat(parts));
    assert.equal((events[0] as { isBinary: boolean }).isBinary, true);
  });

  it('fails on a continuation without a message, and on a new message inside one (1002)', () => {
    const a = server();
    a.conn.receiveData(encodeFrame({ opcode: Opcode.Continuation, payload: 'x', mask: true }));
    assert.deepEqual(a.events, [
      { type: 'error', code: ErrorCode.UnexpectedContinuation, closeCode: 1002 },
    ]);
    const b = server();
    b.conn.receiveData(encodeFrame({ opcode: Opcode.Text, payload: 'x', fin: false, mask: true }));
    b.conn.receiveData(encodeFrame({ opcode: Opcode.Binary, payload: 'y', mask: true }));
    assert.deepEqual(b.events, [
      { type: 'error', code: ErrorCode.ExpectedContinuation, closeCode: 1002 },
    ]);
  });

  it('accepts empty fragments', () => {
    const { conn, events } = server();
    conn.receiveData(encodeFrame({ opcode: Opcode.Text, payload: '', fin: false, mask: true }));
    conn.receiveData(encodeFrame({ opcode: 0, payload: '', fin: false, mask: true }));
    conn.receiveData(encodeFrame({ opcode: 0, payload: '', fin: true, mask: true }));
    assert.deepEqual(events, [{ type: 'message', data: Buffer.alloc(0), isBinary: false }]);
  });
});

describe('UTF-8', () => {
  it('fails a text message with invalid UTF-8 (1007)', () => {
    const { conn, events } = server();
    conn.receiveData(
      encodeFrame({
        opcode: Opcode.Text,
        payload: Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xff]),
        mask: true,
      }),
    );
    assert.deepEqual(events, [{ type: 'error', code: ErrorCode.InvalidUtf8, closeCode: 1007 }]);
  });

  it('accepts a valid sequence cut at a fragment boundary', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    const { conn, events } = server();
    conn.receiveData(
      encodeFrame({ opcode: Opcode.Text, payload: euro.subarray(0, 1), fin: false, mask: true }),
    );
    conn.receiveData(
      encodeFrame({ opcode: 0, payload: euro.subarray(1, 2), fin: false, mask: true }),
    );
    conn.receiveData(encodeFrame({ opcode: 0, payload: euro.subarray(2), fin: true, mask: true }));
    assert.deepEqual(events, [{ type: 'message', data: euro, isBinary: false }]);
  });

  it('fails fast, in the first fragment, when the bytes so far cannot be valid', () => {
    const { conn, events } = server();
    // 0xf4 0x90 is above U+10FFFF: invalid as soon as the second byte is seen.
    conn.receiveData(
      encodeFrame({
        opcode: Opcode.Text,
        payload: Buffer.from([0x61, 0xf4, 0x90]),
        fin: false,
        mask: true,
      }),
    );
    assert.deepEqual(events, [{ type: 'error', code: ErrorCode.InvalidUtf8, closeCode: 1007 }]);
  });

  it('fails fast within a frame whose payload arrives in pieces', () => {
    const { conn, events } = server();
    const frame = encodeFrame({
      opcode: Opcode.Text,
      payload: Buffer.concat([
        Buffer.from('ok ok '),
        Buffer.from([0xc0, 0x80]),
        Buffer.alloc(100, 0x61),
      ]),
      mask: true,
    });
    conn.receiveData(frame.subarray(0, 6 + 8));
    assert.deepEqual(events, [{ type: 'error', code: ErrorCode.InvalidUtf8, closeCode: 1007 }]);
  });

  it('fails a message that ends inside a sequence (1007)', () => {
    const { conn, events } = server();
    conn.receiveData(
      encodeFrame({
        opcode: Opcode.Text,
        payload: Buffer.from([0x61, 0xe2, 0x82]),
        fin: false,
        mask: true,
      }),
    );
    assert.equal(events.length, 0);
    conn.receiveData(encodeFrame({ opcode: 0, payload: '', fin: true, mask: true }));
    assert.deepEqual(events, [{ type: 'error', code: ErrorCode.InvalidUtf8, closeCode: 1007 }]);
  });

  it('does not check binary messages', () => {
    const { conn, events } = server();
    conn.receiveData(
      encodeFrame({ opcode: Opcode.Binary, payload: Buffer.from([0xff]), mask: true }),
    );
    assert.equal(events[0]!.type, 'message');
  });
});

describe('close', () => {
  it('echoes a close frame and reports its code and reason', () => {
    const { conn, events, output } = server();
    conn.receiveData(
      encodeFrame({ opcode: Opcode.Close, payload: closePayload(1000, 'bye'), mask: true }),
    );
    assert.deepEqual(events, [{ type: 'close', code: 1000, reason: 'bye' }]);
    const out = output();
    assert.equal(out.frames.length, 1);
    assert.equal(out.frames[0]!.opcode, Opcode.Close);
    assert.equal(out.frames[0]!.payload.readUInt16BE(0), 1000);
    assert.equal(out.eof, true, 'a server closes TCP after the closing handshake');
    assert.equal(conn.closeCode, 1000);
  });

  it('reports 1005 for a close frame without a code, and echoes an empty close', () => {
    const { conn, events, output } = client();
    conn.receiveData(encodeFrame({ opcode: Opcode.Close }));
    assert.deepEqual(events, [{ type: 'close', code: 1005, reason: '' }]);
    const out = output();
    assert.equal(out.frames[0]!.payload.length, 0);
    assert.equal(out.eof, false, 'a client waits for the server to close TCP');
  });

  it('refuses invalid close payloads', () => {
    const cases: [Buffer, string, number][] = [
      [Buffer.from([0x03]), ErrorCode.InvalidClosePayload, 1002],
      [closePayload(999), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(1004), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(1005), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(1006), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(1015), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(1016), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(2999), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(5000), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(0), ErrorCode.InvalidCloseCode, 1002],
      [closePayload(1000, Buffer.from([0xff])), ErrorCode.InvalidUtf8, 1007],
    ];
    for (const [payload, code, closeCode] of cases) {
      const { conn, events, output } = server();
      conn.receiveData(encodeFrame({ opcode: Opcode.Close, payload, mask: true }));
      assert.deepEqual(events, [{ type: 'error', code, closeCode }], payload.toString('hex'));
      assert.equal(output().frames[0]!.payload.readUInt16BE(0), closeCode);
      assert.equal(conn.closeCode, closeCode);
    }
  });

  it('accepts every valid close code', () => {
    for (const code of [
      1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
      4999,
    ]) {
      const { conn, events } = server();
      conn.receiveData(
        encodeFrame({ opcode: Opcode.Close, payload: closePayload(code), mask: true }),
      );
      assert.deepEqual(events, [{ type: 'close', code, reason: '' }]);
    }
  });

  it('discards data frames after a received close', () => {
    const { conn, events } = server();
    conn.receiveData(
      Buffer.concat([
        encodeFrame({ opcode: Opcode.Close, payload: closePayload(1000), mask: true }),
        encodeFrame({ opcode: Opcode.Text, payload: 'late', mask: true }),
      ]),
    );
    conn.receiveData(encodeFrame({ opcode: Opcode.Text, payload: 'later', mask: true }));
    assert.deepEqual(
      events.map((e) => e.type),
      ['close'],
    );
  });

  it('sends nothing after a close frame, and throws on a send', () => {
    const { conn, output } = server();
    conn.sendClose(1000, 'done');
    assert.throws(() => conn.sendText('x'), { code: ErrorCode.InvalidState });
    assert.throws(() => conn.sendPing(), { code: ErrorCode.InvalidState });
    conn.receiveData(encodeFrame({ opcode: Opcode.Ping, payload: 'p', mask: true }));
    const out = output();
    assert.deepEqual(
      out.frames.map((f) => f.opcode),
      [Opcode.Close],
      'no pong after our close',
    );
    conn.receiveData(
      encodeFrame({ opcode: Opcode.Close, payload: closePayload(1000), mask: true }),
    );
    assert.equal(output().frames.length, 0, 'no second close frame');
    assert.equal(conn.closeCode, 1000);
  });

  it('reports 1006 when TCP ends without a close frame', () => {
    const { conn } = server();
    conn.receiveData(
      encodeFrame({ opcode: Opcode.Text, payload: 'partial', mask: true }).subarray(0, 5),
    );
    conn.receiveEof();
    assert.equal(conn.closeCode, 1006);
    assert.equal(conn.state, 3);
  });

  it('throws on close codes and reasons the API forbids', () => {
    const { conn } = server();
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5]) {
      assert.throws(
        () => conn.sendClose(code),
        { code: ErrorCode.InvalidCloseCodeArgument },
        String(code),
      );
    }
    assert.throws(() => conn.sendClose(1000, 'x'.repeat(124)), { code: ErrorCode.ReasonTooLong });
    assert.throws(() => conn.sendClose(1000, 'é'.repeat(62)), { code: ErrorCode.ReasonTooLong });
    conn.sendClose(1000, 'x'.repeat(123));
  });
});
