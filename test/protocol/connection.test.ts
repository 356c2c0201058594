import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CloseCode,
  Connection,
  type ConnectionOptions,
  ConnectionState,
  ErrorCode,
  Opcode,
  PeerError,
  UsageError,
} from '../../src/protocol/index.js';
import { FakeExtension, reverse } from '../helpers/fake-extension.js';
import { closePayload, decodeFrames, encodeFrame, type RawFrame } from '../helpers/frames.js';
import { type CoreEvent, recordingConnection } from '../helpers/recorder.js';

const KEY = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);
/** A frame as a client sends it to a server (masked). */
const c2s = (f: RawFrame) => encodeFrame({ mask: KEY, ...f });
const text = (s: string, fin = true) => c2s({ opcode: Opcode.Text, payload: s, fin });
const msg = (s: string): CoreEvent => ({
  type: 'message',
  data: Buffer.from(s),
  isBinary: false,
});

/** A recording connection whose handler can also act (pause, resume...) on each event. */
function acting(options: ConnectionOptions, act: (conn: Connection, e: CoreEvent) => void) {
  const events: CoreEvent[] = [];
  const push = (e: CoreEvent) => {
    events.push(e);
    act(conn, e);
  };
  const conn: Connection = new Connection(options, {
    onMessage: (data, isBinary) => push({ type: 'message', data: Buffer.from(data), isBinary }),
    onPing: (data) => push({ type: 'ping', data: Buffer.from(data) }),
    onPong: (data) => push({ type: 'pong', data: Buffer.from(data) }),
    onClose: (code, reason) => push({ type: 'close', code, reason: reason.toString() }),
    onError: (error) => push({ type: 'error', code: error.code, closeCode: error.closeCode }),
  });
  return { conn, events };
}

describe('pause and resume', () => {
  it('pausing in a handler holds the rest of the chunk and later chunks, delivered in order on resume', () => {
    const { conn, events } = acting({ role: 'server' }, (c, e) => {
      if (e.type === 'message' && e.data.toString() === 'm1') c.pause();
    });
    const rest = Buffer.concat([text('m2'), text('m3')]);
    conn.receiveData(Buffer.concat([text('m1'), rest]));
    assert.deepEqual(events, [msg('m1')]);
    assert.equal(conn.isPaused, true);
    assert.equal(conn.receiveBufferedAmount, rest.length, 'the rest of the chunk is held');
    const later = text('m4');
    conn.receiveData(later);
    assert.deepEqual(events, [msg('m1')], 'nothing delivered while paused');
    assert.equal(conn.receiveBufferedAmount, rest.length + later.length);
    conn.resume();
    assert.equal(conn.isPaused, false);
    assert.deepEqual(events, [msg('m1'), msg('m2'), msg('m3'), msg('m4')]);
    assert.equal(conn.receiveBufferedAmount, 0);
  });

  it('pause() outside a handler holds everything, including the automatic pong', () => {
    const { conn, events, output } = recordingConnection({ role: 'server' });
    conn.pause();
    conn.receiveData(c2s({ opcode: Opcode.Ping, payload: 'p' }));
    conn.receiveData(text('after'));
    assert.deepEqual(events, []);
    assert.equal(output().frames.length, 0, 'no pong before the ping is read');
    conn.resume();
    assert.deepEqual(events, [{ type: 'ping', data: Buffer.from('p') }, msg('after')]);
    assert.deepEqual(
      output().frames.map((f) => [f.opcode, f.payload.toString()]),
      [[Opcode.Pong, 'p']],
    );
  });

  it('a frame cut across chunks received while paused is reassembled on resume', () => {
    const { conn, events } = recordingConnection({ role: 'server' });
    const frame = text('héllo wörld, cut anywhere');
    conn.pause();
    for (const b of frame) conn.receiveData(Buffer.from([b]));
    assert.equal(conn.receiveBufferedAmount, frame.length);
    conn.resume();
    assert.deepEqual(events, [msg('héllo wörld, cut anywhere')]);
  });

  it('pausing on every event and resuming after it gives the events of an unpaused run', () => {
    const { conn, events } = acting({ role: 'client' }, (c) => c.pause());
    const bytes = Buffer.concat([
      encodeFrame({ opcode: Opcode.Text, payload: 'a', fin: false }),
      encodeFrame({ opcode: Opcode.Ping, payload: '1' }),
      encodeFrame({ opcode: Opcode.Continuation, payload: 'b' }),
      encodeFrame({ opcode: Opcode.Pong, payload: '2' }),
      encodeFrame({ opcode: Opcode.Binary, payload: '' }),
      encodeFrame({ opcode: Opcode.Close, payload: closePayload(1000) }),
    ]);
    conn.receiveData(bytes);
    let rounds = 0;
    while (conn.isPaused) {
      conn.resume();
      rounds++;
    }
    assert.equal(rounds, 5);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ping', 'message', 'pong', 'message', 'close'],
    );
  });

  it('resume() when not paused does nothing; pause() twice needs one resume()', () => {
    const { conn, events } = recordingConnection({ role: 'server' });
    conn.resume();
    conn.pause();
    conn.pause();
    conn.receiveData(text('x'));
    conn.resume();
    assert.deepEqual(events, [msg('x')]);
  });

  it('receiveEof while paused drops the held input', () => {
    const { conn, events } = recordingConnection({ role: 'server' });
    conn.pause();
    conn.receiveData(text('never'));
    conn.receiveEof();
    assert.equal(conn.receiveBufferedAmount, 0);
    conn.resume();
    assert.deepEqual(events, []);
  });

  it('pausing and resuming synchronously inside a handler keeps the order of held input', () => {
    // A binding that pauses on backpressure and finds the buffer drained at once does this.
    const { conn, events } = acting({ role: 'server' }, (c, e) => {
      if (e.type === 'message' && e.data.toString() === 'a1') {
        c.pause();
        c.resume();
      }
    });
    const a2 = text('a2');
    conn.pause();
    // Held while paused: a1 and the first 3 bytes of a2, then the rest of a2, then b1.
    conn.receiveData(Buffer.concat([text('a1'), a2.subarray(0, 3)]));
    conn.receiveData(Buffer.from(a2.subarray(3)));
    conn.receiveData(text('b1'));
    conn.resume();
    assert.deepEqual(events, [msg('a1'), msg('a2'), msg('b1')]);
  });

  it('holds no input once a close frame was read, even when a handler paused', () => {
    const { conn, events } = acting({ role: 'server' }, (c, e) => {
      if (e.type === 'close') c.pause();
    });
    conn.receiveData(
      Buffer.concat([c2s({ opcode: Opcode.Close, payload: closePayload(1000) }), text('ignored')]),
    );
    assert.deepEqual(events, [{ type: 'close', code: 1000, reason: '' }]);
    // The bytes after the close frame are discarded (RFC 6455 §5.5.1), never to be read.
    assert.equal(conn.receiveBufferedAmount, 0);
  });
});

describe('receiveBufferedAmount', () => {
  it('counts the fragments of an incomplete message, and is 0 once it is delivered', () => {
    const { conn, events } = recordingConnection({ role: 'server' });
    assert.equal(conn.receiveBufferedAmount, 0);
    conn.receiveData(c2s({ opcode: Opcode.Binary, payload: Buffer.alloc(100, 1), fin: false }));
    assert.equal(conn.receiveBufferedAmount, 100);
    conn.receiveData(
      c2s({ opcode: Opcode.Continuation, payload: Buffer.alloc(5000, 2), fin: false }),
    );
    assert.equal(conn.receiveBufferedAmount, 5100);
    conn.receiveData(c2s({ opcode: Opcode.Continuation, payload: Buffer.alloc(1, 3) }));
    assert.equal(conn.receiveBufferedAmount, 0);
    assert.equal(events.length, 1);
    assert.deepEqual(
      (events[0] as { data: Buffer }).data,
      Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(5000, 2), Buffer.alloc(1, 3)]),
    );
  });

  it('counts the received part of a single frame cut between reads', () => {
    const { conn } = recordingConnection({ role: 'server' });
    const frame = c2s({ opcode: Opcode.Binary, payload: Buffer.alloc(1000) });
    conn.receiveData(Buffer.from(frame.subarray(0, 8 + 400)));
    assert.equal(conn.receiveBufferedAmount, 400);
    conn.receiveData(Buffer.from(frame.subarray(8 + 400)));
    assert.equal(conn.receiveBufferedAmount, 0);
  });

  it('is 0 after a peer fault', () => {
    const { conn } = recordingConnection({ role: 'server' });
    conn.receiveData(c2s({ opcode: Opcode.Binary, payload: Buffer.alloc(100), fin: false }));
    conn.receiveData(c2s({ opcode: Opcode.Binary, payload: 'x' }));
    assert.equal(conn.error?.code, ErrorCode.ExpectedContinuation);
    assert.equal(conn.receiveBufferedAmount, 0);
  });
});

describe('limits', () => {
  it('maxPayload: 0 means no limit', () => {
    const { conn, events } = recordingConnection({ role: 'server', maxPayload: 0 });
    // A header announcing 2^63-1 bytes is not refused: it is waited for.
    conn.receiveData(
      c2s({ opcode: Opcode.Binary, declaredLength: 0x7fffffffffffffffn }).subarray(0, 14),
    );
    assert.deepEqual(events, []);
    const b = recordingConnection({ role: 'server', maxPayload: 0 });
    b.conn.receiveData(c2s({ opcode: Opcode.Binary, payload: Buffer.alloc(300_000, 9) }));
    assert.equal(b.events.length, 1);
    assert.equal((b.events[0] as { data: Buffer }).data.length, 300_000);
  });

  it('maxPayload is inclusive, for single frames and for the sum of fragments', () => {
    const ok = recordingConnection({ role: 'server', maxPayload: 10 });
    ok.conn.receiveData(c2s({ opcode: Opcode.Binary, payload: Buffer.alloc(10) }));
    ok.conn.receiveData(c2s({ opcode: Opcode.Binary, payload: Buffer.alloc(4), fin: false }));
    ok.conn.receiveData(c2s({ opcode: Opcode.Continuation, payload: Buffer.alloc(6) }));
    assert.deepEqual(
      ok.events.map((e) => e.type),
      ['message', 'message'],
    );
    const over = recordingConnection({ role: 'server', maxPayload: 10 });
    over.conn.receiveData(c2s({ opcode: Opcode.Binary, payload: Buffer.alloc(11) }));
    assert.deepEqual(over.events, [
      { type: 'error', code: ErrorCode.MessageTooBig, closeCode: CloseCode.MessageTooBig },
    ]);
  });

  it('control frames do not count toward maxPayload, and may carry 125 bytes', () => {
    const { conn, events } = recordingConnection({ role: 'server', maxPayload: 1 });
    conn.receiveData(c2s({ opcode: Opcode.Ping, payload: Buffer.alloc(125, 0x61) }));
    conn.receiveData(c2s({ opcode: Opcode.Close, payload: closePayload(1000, 'r'.repeat(123)) }));
    assert.deepEqual(
      events.map((e) => e.type),
      ['ping', 'close'],
    );
  });

  it('a close frame over 125 bytes is refused (1002)', () => {
    const { conn, events } = recordingConnection({ role: 'server' });
    conn.receiveData(c2s({ opcode: Opcode.Close, payload: closePayload(1000, 'r'.repeat(124)) }));
    assert.deepEqual(events, [
      { type: 'error', code: ErrorCode.InvalidControlPayloadLength, closeCode: 1002 },
    ]);
  });

  it('maxFragments counts every frame of a message, and resets between messages', () => {
    const { conn, events } = recordingConnection({ role: 'server', maxFragments: 2 });
    for (let i = 0; i < 3; i++) {
      conn.receiveData(text('a', false));
      conn.receiveData(c2s({ opcode: Opcode.Ping }));
      conn.receiveData(c2s({ opcode: Opcode.Continuation, payload: 'b' }));
    }
    assert.deepEqual(
      events.filter((e) => e.type === 'message'),
      [msg('ab'), msg('ab'), msg('ab')],
    );
  });
});

describe('RSV1 (an agreed extension)', () => {
  const server = () => recordingConnection({ role: 'server' }, new FakeExtension());
  const invalidUtf8 = Buffer.from([0xff, 0xc0, 0x80]);

  it('RSV1 on the first frame sends the message through the extension; the raw bytes are not UTF-8 checked', () => {
    const { conn, events } = server();
    // Reversed by the fake extension: valid once decoded.
    conn.receiveData(
      c2s({ opcode: Opcode.Text, payload: reverse(Buffer.from('ok€')), rsv1: true }),
    );
    conn.receiveData(c2s({ opcode: Opcode.Binary, payload: 'ab', rsv1: true }));
    assert.deepEqual(events, [
      { type: 'message', data: Buffer.from('ok€'), isBinary: false },
      { type: 'message', data: Buffer.from('ba'), isBinary: true },
    ]);
  });

  it('a fragmented encoded message: RSV1 on the first frame only, no UTF-8 check across fragments', () => {
    const { conn, events } = server();
    const wire = reverse(Buffer.from('h€'));
    conn.receiveData(
      c2s({ opcode: Opcode.Text, payload: wire.subarray(0, 2), rsv1: true, fin: false }),
    );
    conn.receiveData(c2s({ opcode: Opcode.Continuation, payload: wire.subarray(2) }));
    assert.deepEqual(events, [{ type: 'message', data: Buffer.from('h€'), isBinary: false }]);
  });

  it('the next message without RSV1 is not decoded and is UTF-8 checked again', () => {
    const { conn, events } = server();
    conn.receiveData(c2s({ opcode: Opcode.Text, payload: 'yz', rsv1: true }));
    conn.receiveData(text('plain'));
    conn.receiveData(c2s({ opcode: Opcode.Text, payload: invalidUtf8 }));
    assert.deepEqual(events, [
      msg('zy'),
      msg('plain'),
      { type: 'error', code: ErrorCode.InvalidUtf8, closeCode: 1007 },
    ]);
  });

  it('RSV1 is refused on a continuation frame and on control frames (1002)', () => {
    const a = server();
    a.conn.receiveData(c2s({ opcode: Opcode.Text, payload: 'a', rsv1: true, fin: false }));
    a.conn.receiveData(c2s({ opcode: Opcode.Continuation, payload: 'b', rsv1: true }));
    assert.deepEqual(a.events, [
      { type: 'error', code: ErrorCode.UnexpectedRsv1, closeCode: 1002 },
    ]);
    for (const opcode of [Opcode.Ping, Opcode.Pong, Opcode.Close]) {
      const b = server();
      b.conn.receiveData(c2s({ opcode, payload: '', rsv1: true }));
      assert.deepEqual(
        b.events,
        [{ type: 'error', code: ErrorCode.UnexpectedRsv1, closeCode: 1002 }],
        `opcode ${opcode}`,
      );
    }
  });

  it('RSV1 is refused on every frame when no extension was negotiated', () => {
    const { conn, events } = recordingConnection({ role: 'server' });
    conn.receiveData(c2s({ opcode: Opcode.Binary, payload: 'x', rsv1: true }));
    assert.deepEqual(events, [{ type: 'error', code: ErrorCode.UnexpectedRsv1, closeCode: 1002 }]);
  });
});

describe('skipUtf8Validation and autoPong', () => {
  it('skipUtf8Validation delivers invalid text, single or fragmented', () => {
    const { conn, events } = recordingConnection({ role: 'server', skipUtf8Validation: true });
    conn.receiveData(c2s({ opcode: Opcode.Text, payload: Buffer.from([0xed, 0xa0, 0x80]) }));
    conn.receiveData(c2s({ opcode: Opcode.Text, payload: Buffer.from([0xe2, 0x82]), fin: false }));
    conn.receiveData(c2s({ opcode: Opcode.Continuation, payload: Buffer.from([0x41]) }));
    assert.deepEqual(events, [
      {
        type: 'message',
        data: Buffer.from([0xed, 0xa0, 0x80]),
        isBinary: false,
      },
      {
        type: 'message',
        data: Buffer.from([0xe2, 0x82, 0x41]),
        isBinary: false,
      },
    ]);
  });

  it('skipUtf8Validation does not extend to close reasons (still 1007)', () => {
    const { conn, events } = recordingConnection({ role: 'server', skipUtf8Validation: true });
    conn.receiveData(
      c2s({ opcode: Opcode.Close, payload: closePayload(1000, Buffer.from([0xff])) }),
    );
    assert.deepEqual(events, [{ type: 'error', code: ErrorCode.InvalidUtf8, closeCode: 1007 }]);
  });

  it('autoPong: false reports the ping and writes nothing', () => {
    const { conn, events, output } = recordingConnection({ role: 'server', autoPong: false });
    conn.receiveData(c2s({ opcode: Opcode.Ping, payload: 'hi' }));
    assert.deepEqual(events, [{ type: 'ping', data: Buffer.from('hi') }]);
    assert.equal(output().frames.length, 0);
    // The application answers itself.
    conn.sendPong('hi');
    assert.deepEqual(
      output().frames.map((f) => [f.opcode, f.payload.toString()]),
      [[Opcode.Pong, 'hi']],
    );
  });

  it('the automatic pong goes between the fragments of a message being sent', () => {
    const { conn, output } = recordingConnection({ role: 'client' });
    conn.sendText('part 1', false);
    conn.receiveData(encodeFrame({ opcode: Opcode.Ping, payload: 'p' }));
    conn.sendText('part 2', true);
    assert.deepEqual(
      output().frames.map((f) => [f.opcode, f.fin, f.payload.toString()]),
      [
        [Opcode.Text, false, 'part 1'],
        [Opcode.Pong, true, 'p'],
        [Opcode.Continuation, true, 'part 2'],
      ],
    );
  });
});

describe('the closing handshake', () => {
  it('sendClose is idempotent: one close frame, whatever follows', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    conn.sendClose(1000, 'bye');
    conn.sendClose(1001, 'again');
    conn.sendClose();
    const frames = output().frames;
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.payload.toString('hex')]),
      [[Opcode.Close, closePayload(1000, 'bye').toString('hex')]],
    );
    assert.equal(conn.state, ConnectionState.Closing);
    assert.equal(conn.closeExpected(), true);
    assert.equal(conn.closeCode, 1006, 'no close frame received yet');
  });

  it('sendClose still checks its arguments after the close frame was sent', () => {
    const { conn } = recordingConnection({ role: 'server' });
    conn.sendClose(1000);
    assert.throws(() => conn.sendClose(1006), UsageError);
    conn.sendClose(4000, 'fine, and ignored');
  });

  it('sendClose() without a code sends an empty close frame; a reason needs a code', () => {
    const { conn, output } = recordingConnection({ role: 'client' });
    assert.throws(() => conn.sendClose(undefined, 'why'), {
      code: ErrorCode.InvalidCloseCodeArgument,
    });
    assert.throws(() => conn.sendClose(undefined, Buffer.from('why')), {
      code: ErrorCode.InvalidCloseCodeArgument,
    });
    conn.sendClose(undefined, '');
    const frames = output().frames;
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.payload.length, 0);
    assert.equal(frames[0]!.masked, true);
  });

  it('a close reason of exactly 123 UTF-8 bytes with multi-byte characters is accepted', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    const reason = `${'€'.repeat(41)}`; // 123 bytes
    conn.sendClose(3000, reason);
    assert.equal(output().frames[0]!.payload.subarray(2).toString(), reason);
  });

  it('sendClose refuses a byte reason that is not UTF-8 (the peer would fail with 1007)', () => {
    const { conn } = recordingConnection({ role: 'server' });
    assert.throws(() => conn.sendClose(1000, Uint8Array.from([0xff])), UsageError);
  });

  it('a server that starts the handshake asks for EOF only once the peer answered', () => {
    const { conn, events, output } = recordingConnection({ role: 'server' });
    conn.sendClose(1001, 'going');
    assert.equal(output().eof, false);
    conn.receiveData(c2s({ opcode: Opcode.Close, payload: closePayload(1001) }));
    assert.deepEqual(events, [{ type: 'close', code: 1001, reason: '' }]);
    const out = output();
    assert.equal(out.frames.length, 0, 'no echo of an answer');
    assert.equal(out.eof, true);
    assert.equal(conn.closeCode, 1001);
    assert.equal(conn.eofToSend(), false, 'once');
  });

  it('a client asked to close again once the handshake is over ends TCP (as ws does), and only then', () => {
    const { conn, output } = recordingConnection({ role: 'client' });
    conn.sendClose(1000);
    conn.sendClose(1000);
    assert.equal(output().eof, false, 'the server has not answered yet');
    conn.receiveData(encodeFrame({ opcode: Opcode.Close, payload: closePayload(1000) }));
    assert.equal(output().eof, false);
    conn.sendClose(1000);
    const out = output();
    assert.equal(out.frames.length, 0, 'no second close frame');
    assert.equal(out.eof, true);
  });

  it("a client never asks for EOF before the server's (the server closes TCP), then answers it", () => {
    const { conn, output } = recordingConnection({ role: 'client' });
    conn.sendClose(1000);
    conn.receiveData(encodeFrame({ opcode: Opcode.Close, payload: closePayload(1000) }));
    assert.equal(output().eof, false);
    conn.receiveEof();
    assert.equal(output().eof, true);
    assert.equal(conn.state, ConnectionState.Closed);
    assert.equal(conn.closeCode, 1000);
  });

  it('sendClose after the peer closed does nothing', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    conn.receiveData(c2s({ opcode: Opcode.Close, payload: closePayload(4001, 'x') }));
    conn.sendClose(1000);
    const frames = output().frames;
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.payload.readUInt16BE(0), 4001, 'the echo carries the code');
    assert.equal(frames[0]!.payload.subarray(2).toString(), 'x', 'and the reason');
  });

  it('after receiveEof or abort: sends throw, sendClose does nothing, input is ignored', () => {
    for (const end of ['receiveEof', 'abort'] as const) {
      const { conn, events, output } = recordingConnection({ role: 'server' });
      conn[end]();
      assert.equal(conn.state, ConnectionState.Closed);
      assert.equal(conn.closeExpected(), true);
      assert.throws(() => conn.sendText('x'), { code: ErrorCode.InvalidState });
      assert.throws(() => conn.sendBinary(Buffer.alloc(1)), { code: ErrorCode.InvalidState });
      assert.throws(() => conn.sendPing(), { code: ErrorCode.InvalidState });
      assert.throws(() => conn.sendPong(), { code: ErrorCode.InvalidState });
      assert.throws(() => conn.sendPreparedFrame(Buffer.from([0x82, 0])), {
        code: ErrorCode.InvalidState,
      });
      conn.sendClose(1000);
      conn.failConnection(1011);
      conn.receiveData(text('x'));
      assert.deepEqual(events, []);
      const out = output();
      assert.equal(out.frames.length, 0);
      assert.equal(out.eof, end === 'receiveEof', `${end}: a server answers EOF with EOF`);
      assert.equal(conn.closeCode, 1006);
    }
  });

  it('EOF in the middle of a message reports no message and no error', () => {
    const { conn, events } = recordingConnection({ role: 'server' });
    conn.receiveData(text('part', false));
    conn.receiveEof();
    assert.deepEqual(events, []);
    assert.equal(conn.error, undefined);
    assert.equal(conn.closeCode, 1006);
  });
});

describe('failConnection', () => {
  it('sends a close frame with the code and reason, stops reading, and a server asks for EOF', () => {
    const { conn, events, output } = recordingConnection({ role: 'server' });
    conn.failConnection(1008, 'policy');
    conn.receiveData(text('ignored'));
    assert.deepEqual(events, []);
    const out = output();
    assert.deepEqual(
      out.frames.map((f) => [f.opcode, f.payload.toString('hex')]),
      [[Opcode.Close, closePayload(1008, 'policy').toString('hex')]],
    );
    assert.equal(out.eof, true);
    assert.equal(conn.closeCode, 1008);
    assert.equal(conn.error, undefined, 'a local failure is not a peer error');
    assert.equal(conn.state, ConnectionState.Closing);
    assert.throws(() => conn.sendText('x'), UsageError);
  });

  it('a client does not ask for EOF', () => {
    const { conn, output } = recordingConnection({ role: 'client' });
    conn.failConnection(1011);
    const out = output();
    assert.equal(out.frames[0]!.payload.readUInt16BE(0), 1011);
    assert.equal(out.frames[0]!.masked, true);
    assert.equal(out.eof, false);
  });

  it('cuts a long reason to 123 bytes without splitting a character', () => {
    for (const [reason, kept] of [
      ['é'.repeat(70), 'é'.repeat(61)],
      ['😀'.repeat(40), '😀'.repeat(30)],
      [`a${'😀'.repeat(40)}`, `a${'😀'.repeat(30)}`],
      ['x'.repeat(200), 'x'.repeat(123)],
    ] as const) {
      const { conn, output } = recordingConnection({ role: 'server' });
      conn.failConnection(1008, reason);
      assert.equal(output().frames[0]!.payload.subarray(2).toString(), kept);
    }
  });

  it('after a close frame was sent: no second frame, but the failure code is reported', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    conn.sendClose(1000);
    conn.failConnection(1011);
    const out = output();
    assert.equal(out.frames.length, 1);
    assert.equal(out.frames[0]!.payload.readUInt16BE(0), 1000);
    assert.equal(out.eof, true);
    assert.equal(conn.closeCode, 1011);
  });

  it('after a close frame was received: the peer code stays the close code', () => {
    const { conn } = recordingConnection({ role: 'server' });
    conn.receiveData(c2s({ opcode: Opcode.Close, payload: closePayload(1001) }));
    conn.failConnection(1011);
    assert.equal(conn.closeCode, 1001);
  });

  it('refuses codes that may not be sent on the wire (1005, 1006, 1015, out of range) with a UsageError', () => {
    for (const code of [
      0,
      999,
      1004,
      1005,
      1006,
      1015,
      2000,
      5000,
      70000,
      -1,
      1000.5,
      Number.NaN,
    ]) {
      const { conn, output } = recordingConnection({ role: 'server' });
      let thrown: unknown;
      try {
        conn.failConnection(code);
      } catch (e) {
        thrown = e;
      }
      const frames = output().frames;
      assert.ok(
        thrown instanceof UsageError,
        `failConnection(${code}) ${thrown ? `threw ${thrown}` : `wrote close code ${frames[0]?.payload.readUInt16BE(0)}`}`,
      );
    }
  });
});

describe('peer faults', () => {
  it('the error is a PeerError with its close code, kept as conn.error, with the close frame queued', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    conn.receiveData(c2s({ opcode: Opcode.Text, payload: Buffer.from([0xc0, 0xaf]) }));
    assert.ok(conn.error instanceof PeerError);
    assert.equal(conn.error.closeCode, 1007);
    assert.equal(conn.error.code, ErrorCode.InvalidUtf8);
    const out = output();
    assert.equal(out.frames.length, 1);
    assert.equal(out.frames[0]!.payload.readUInt16BE(0), 1007);
    assert.equal(out.frames[0]!.payload.subarray(2).toString(), conn.error.message.slice(0, 123));
    assert.equal(out.eof, true);
    assert.equal(conn.closeCode, 1007);
  });

  it('a fault after our close frame: no second close frame, the fault code is reported', () => {
    const { conn, events, output } = recordingConnection({ role: 'server' });
    conn.sendClose(1000);
    conn.receiveData(c2s({ opcode: 3 }));
    assert.deepEqual(events, [{ type: 'error', code: ErrorCode.InvalidOpcode, closeCode: 1002 }]);
    const out = output();
    assert.equal(out.frames.length, 1);
    assert.equal(out.frames[0]!.payload.readUInt16BE(0), 1000);
    assert.equal(conn.closeCode, 1002);
  });

  it('the fault stops the receiver: a valid frame in the same chunk is not reported', () => {
    const { conn, events } = recordingConnection({ role: 'server' });
    conn.receiveData(Buffer.concat([c2s({ opcode: 3 }), text('after')]));
    assert.equal(events.length, 1);
  });
});

describe('sendPreparedFrame and sendDataFrame', () => {
  it('queues prepared bytes as they are, one or several frames', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    const prepared = Buffer.concat([
      encodeFrame({ opcode: Opcode.Text, payload: 'one' }),
      encodeFrame({ opcode: Opcode.Binary, payload: 'two' }),
    ]);
    conn.sendText('before');
    conn.sendPreparedFrame(prepared);
    conn.sendText('after');
    assert.deepEqual(
      output().frames.map((f) => f.payload.toString()),
      ['before', 'one', 'two', 'after'],
    );
  });

  it('keeps a lone or large prepared frame by reference (zero copy), copies a small one behind others', () => {
    const { conn } = recordingConnection({ role: 'server' });
    const alone = encodeFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(10, 3) });
    const small = encodeFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(10, 1) });
    const large = encodeFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(10_000, 2) });
    conn.sendPreparedFrame(alone);
    conn.sendPreparedFrame(small);
    conn.sendPreparedFrame(large);
    assert.equal(conn.bufferedAmount, alone.length + small.length + large.length);
    small.fill(0);
    const chunks = conn.dataToSend();
    assert.equal(chunks[0], alone, 'the frame written alone is written by reference');
    assert.ok(chunks.includes(large), 'the large frame is written by reference');
    const { frames } = decodeFrames(Buffer.concat(chunks));
    assert.deepEqual(frames[1]!.payload, Buffer.alloc(10, 1), 'the small frame was copied');
  });

  it('refuses a prepared frame inside a fragmented message and after close', () => {
    const { conn } = recordingConnection({ role: 'server' });
    const frame = encodeFrame({ opcode: Opcode.Binary, payload: 'p' });
    conn.sendBinary(Buffer.from('a'), false);
    assert.throws(() => conn.sendPreparedFrame(frame), { code: ErrorCode.InvalidState });
    conn.sendBinary(Buffer.from('b'), true);
    conn.sendPreparedFrame(frame);
    conn.sendClose();
    assert.throws(() => conn.sendPreparedFrame(frame), { code: ErrorCode.InvalidState });
  });

  it('sendDataFrame sets RSV1 as asked and turns into a continuation inside a message', () => {
    for (const role of ['server', 'client'] as const) {
      const { conn, output } = recordingConnection({ role });
      conn.sendDataFrame(Opcode.Text, Buffer.from('c1'), false, true);
      conn.sendDataFrame(Opcode.Text, Buffer.from('c2'), true, false);
      conn.sendDataFrame(Opcode.Binary, Buffer.alloc(9000, 7), true, true);
      const frames = output().frames;
      assert.deepEqual(
        frames.map((f) => [f.opcode, f.fin, f.rsv1, f.masked, f.payload.length]),
        [
          [Opcode.Text, false, true, role === 'client', 2],
          [Opcode.Continuation, true, false, role === 'client', 2],
          [Opcode.Binary, true, true, role === 'client', 9000],
        ],
      );
      assert.deepEqual(frames[2]!.payload, Buffer.alloc(9000, 7));
    }
  });

  it('sendText with bytes sends them as they are; text and binary continue each other', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    conn.sendText(Buffer.from('héllo'));
    conn.sendText('a', false);
    conn.sendBinary(Buffer.from('b'), true);
    assert.deepEqual(
      output().frames.map((f) => [f.opcode, f.fin, f.payload.toString()]),
      [
        [Opcode.Text, true, 'héllo'],
        [Opcode.Text, false, 'a'],
        [Opcode.Continuation, true, 'b'],
      ],
    );
  });

  it('refuses control payloads over 125 bytes, counting UTF-8 bytes of strings', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    conn.sendPing('é'.repeat(62)); // 124 bytes
    conn.sendPong(Buffer.alloc(125));
    assert.throws(() => conn.sendPing('é'.repeat(63)), { code: ErrorCode.ControlPayloadTooLong });
    assert.throws(() => conn.sendPong(Buffer.alloc(126)), {
      code: ErrorCode.ControlPayloadTooLong,
    });
    assert.deepEqual(
      output().frames.map((f) => [f.opcode, f.payload.length]),
      [
        [Opcode.Ping, 124],
        [Opcode.Pong, 125],
      ],
    );
  });
});

describe('dataToSend', () => {
  it('returns a fresh array each time: a returned array never changes afterwards', () => {
    const { conn } = recordingConnection({ role: 'server' });
    const first = conn.dataToSend();
    assert.equal(first.length, 0);
    conn.sendBinary(Buffer.alloc(10_000));
    assert.equal(first.length, 0, 'the empty array returned earlier was filled by later sends');
    const second = conn.dataToSend();
    assert.notEqual(second, first);
    assert.equal(Buffer.concat(second).length, 4 + 10_000);
  });
});
