// The core's side of an extension (src/protocol/extension.ts): a message with RSV1 goes through
// the extension's asynchronous decode, later events wait behind it, and its failures close
// the connection with the right code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CloseCode,
  Connection,
  type ConnectionHandler,
  type DecodeBudget,
  ErrorCode,
  Opcode,
  PeerError,
} from '../../src/protocol/index.js';
import { FakeExtension, recordingBudget, reverse } from '../helpers/fake-extension.js';
import { decodeFrames, encodeFrame, type RawFrame } from '../helpers/frames.js';

const KEY = Uint8Array.from([0x11, 0x22, 0x33, 0x44]);
const c2s = (f: RawFrame) => encodeFrame({ mask: KEY, ...f });
const encoded = (s: string, opcode: number = Opcode.Text) =>
  c2s({ opcode, payload: reverse(Buffer.from(s)), rsv1: true });

type Event = string;

/** A server connection with a manual fake extension; events recorded as short strings. */
function setup(
  options: { skipUtf8Validation?: boolean; budget?: DecodeBudget } = {},
  act?: (conn: Connection, event: Event) => void,
) {
  const extension = new FakeExtension('manual');
  const events: Event[] = [];
  const holds: number[] = [];
  let conn: Connection | undefined;
  const push = (e: Event) => {
    events.push(e);
    act?.(conn!, e);
  };
  const handler: ConnectionHandler = {
    onMessage: (data, isBinary) => push(`${isBinary ? 'binary' : 'text'}:${data.toString()}`),
    onPing: (data) => push(`ping:${data.toString()}`),
    onPong: (data) => push(`pong:${data.toString()}`),
    onClose: (code) => push(`close:${code}`),
    onError: (error) => push(`error:${error.code}:${error.closeCode}`),
    onHold: (bytes) => {
      holds.push(bytes);
      push('hold');
      return options.budget;
    },
    onRelease: () => push('release'),
  };
  conn = new Connection(
    { role: 'server', skipUtf8Validation: options.skipUtf8Validation ?? false },
    handler,
    extension,
  );
  return { conn, extension, events, holds };
}

/** The close code of the close frame the connection queued, if any. */
function closeSent(conn: Connection): number | undefined {
  const frames = decodeFrames(Buffer.concat(conn.dataToSend())).frames;
  const close = frames.find((f) => f.opcode === Opcode.Close);
  return close === undefined ? undefined : close.payload.readUInt16BE(0);
}

describe('Extension: decoding in the core', () => {
  it('decodes asynchronously; the message is delivered once decoded, then input flows again', () => {
    const { conn, extension, events, holds } = setup();
    conn.receiveData(encoded('hello'));
    assert.deepEqual(events, ['hold']);
    assert.deepEqual(holds, [5]);
    assert.equal(conn.isPaused, true);
    assert.equal(extension.pending.length, 1);
    extension.answer();
    assert.deepEqual(events, ['hold', 'text:hello', 'release']);
    assert.equal(conn.isPaused, false);
  });

  it('a ping and a message that arrive during the decode wait behind the decoded message', () => {
    const { conn, extension, events } = setup();
    conn.receiveData(
      Buffer.concat([
        encoded('first'),
        c2s({ opcode: Opcode.Ping, payload: 'p' }),
        c2s({ opcode: Opcode.Text, payload: 'second' }),
      ]),
    );
    // More input while held queues too.
    conn.receiveData(c2s({ opcode: Opcode.Binary, payload: 'third' }));
    assert.deepEqual(events, ['hold']);
    assert.equal(decodeFrames(Buffer.concat(conn.dataToSend())).frames.length, 0, 'no pong yet');
    extension.answer();
    assert.deepEqual(events, [
      'hold',
      'text:first',
      'ping:p',
      'text:second',
      'binary:third',
      'release',
    ]);
  });

  it('a second encoded message behind the first is decoded after it, in order', () => {
    const { conn, extension, events } = setup();
    conn.receiveData(Buffer.concat([encoded('one'), encoded('two', Opcode.Binary)]));
    assert.equal(extension.pending.length, 1);
    extension.answer();
    assert.equal(extension.pending.length, 1, 'the second decode started after the first');
    extension.answer();
    assert.deepEqual(events, ['hold', 'text:one', 'hold', 'release', 'binary:two', 'release']);
  });

  it('pause() during a decode holds input after it; resume() before it ends does not overtake it', () => {
    const { conn, extension, events } = setup();
    conn.receiveData(Buffer.concat([encoded('a'), c2s({ opcode: Opcode.Text, payload: 'b' })]));
    conn.pause();
    conn.resume();
    assert.deepEqual(events, ['hold'], 'resume() left the message being decoded first');
    conn.pause();
    extension.answer();
    assert.deepEqual(events, ['hold', 'text:a', 'release']);
    assert.equal(conn.isPaused, true);
    conn.resume();
    assert.deepEqual(events, ['hold', 'text:a', 'release', 'text:b']);
  });

  it('decoded text is checked for UTF-8 (1007), unless skipUtf8Validation', () => {
    const bad = reverse(Buffer.from([0xff, 0xfe]));
    const a = setup();
    a.conn.receiveData(c2s({ opcode: Opcode.Text, payload: bad, rsv1: true }));
    a.extension.answer();
    assert.deepEqual(a.events, ['hold', `error:${ErrorCode.InvalidUtf8}:1007`, 'release']);
    assert.equal(closeSent(a.conn), CloseCode.InvalidFramePayloadData);
    assert.equal(a.conn.closeCode, 1007);

    const b = setup({ skipUtf8Validation: true });
    b.conn.receiveData(c2s({ opcode: Opcode.Text, payload: bad, rsv1: true }));
    b.extension.answer();
    assert.equal(b.events[1], `text:${Buffer.from([0xff, 0xfe]).toString()}`);

    // Binary messages are never checked.
    const c = setup();
    c.conn.receiveData(c2s({ opcode: Opcode.Binary, payload: bad, rsv1: true }));
    c.extension.answer();
    assert.equal(c.events[1]?.startsWith('binary:'), true);
  });

  it("a decode error closes with the error's code: 1009 too big, 1007 bad data", () => {
    for (const [code, closeCode] of [
      [ErrorCode.MessageTooBig, CloseCode.MessageTooBig],
      [ErrorCode.InvalidCompressedData, CloseCode.InvalidFramePayloadData],
      [ErrorCode.MemoryBudgetExceeded, CloseCode.MessageTooBig],
    ] as const) {
      const { conn, extension, events } = setup();
      conn.receiveData(
        Buffer.concat([encoded('x'), c2s({ opcode: Opcode.Text, payload: 'dropped' })]),
      );
      extension.answer(new PeerError(code, closeCode, 'no'));
      assert.deepEqual(events, ['hold', `error:${code}:${closeCode}`, 'release'], code);
      assert.equal(closeSent(conn), closeCode);
      assert.equal(conn.error?.code, code);
    }
  });

  it('any other decode failure closes with 1011', () => {
    const { conn, extension, events } = setup();
    conn.receiveData(encoded('x'));
    extension.answer(new Error('the zlib port broke'));
    assert.deepEqual(events, ['hold', `error:${ErrorCode.ExtensionFailed}:1011`, 'release']);
    assert.equal(closeSent(conn), CloseCode.InternalError);
    assert.match(conn.error!.message, /the zlib port broke/);
  });

  it('a message decoded after the connection was aborted or ended is dropped', () => {
    for (const end of ['abort', 'eof'] as const) {
      const { conn, extension, events } = setup();
      conn.receiveData(encoded('late'));
      if (end === 'abort') conn.abort();
      else conn.receiveEof();
      extension.answer();
      assert.deepEqual(events, ['hold', 'release'], end);
    }
  });

  it('a second callback from the extension is ignored', () => {
    const { conn, extension, events } = setup();
    conn.receiveData(encoded('once'));
    const job = extension.pending[0]!;
    extension.answer();
    job.callback(null, Buffer.from('again'));
    assert.deepEqual(events, ['hold', 'text:once', 'release']);
  });

  it('the budget from onHold reaches the extension, and is ended once per decode', () => {
    const { budget, ended } = recordingBudget();
    const { conn, extension } = setup({ budget });
    conn.receiveData(Buffer.concat([encoded('one'), encoded('two')]));
    assert.equal(extension.pending[0]!.budget, budget);
    extension.answer();
    assert.equal(ended(), 1, 'ended before the next decode starts');
    extension.answer(new PeerError(ErrorCode.MessageTooBig, 1009, 'big'));
    assert.equal(ended(), 2);
  });

  it('RSV1 on a continuation frame is 1002, and the extension is never called', () => {
    const { conn, extension, events } = setup();
    conn.receiveData(c2s({ opcode: Opcode.Text, payload: 'a', rsv1: true, fin: false }));
    conn.receiveData(c2s({ opcode: Opcode.Continuation, payload: 'b', rsv1: true }));
    assert.deepEqual(events, [`error:${ErrorCode.UnexpectedRsv1}:1002`]);
    assert.equal(extension.pending.length, 0);
  });

  it('RSV1 without an agreed extension is 1002', () => {
    const events: string[] = [];
    const conn = new Connection(
      { role: 'server' },
      {
        onMessage: () => events.push('message'),
        onPing: () => {},
        onPong: () => {},
        onClose: () => {},
        onError: (error) => events.push(`${error.code}:${error.closeCode}`),
      },
    );
    conn.receiveData(encoded('x'));
    assert.deepEqual(events, [`${ErrorCode.UnexpectedRsv1}:1002`]);
    assert.equal(conn.extension, undefined);
  });

  it('a synchronous decode delivers in place, and the events after it follow', () => {
    const extension = new FakeExtension('sync');
    const events: string[] = [];
    const conn = new Connection(
      { role: 'server' },
      {
        onMessage: (data) => events.push(data.toString()),
        onPing: () => events.push('ping'),
        onPong: () => {},
        onClose: () => {},
        onError: (error) => events.push(error.code),
      },
      extension,
    );
    conn.receiveData(
      Buffer.concat([encoded('abc'), c2s({ opcode: Opcode.Ping, payload: '' }), encoded('def')]),
    );
    assert.deepEqual(events, ['abc', 'ping', 'def']);
    assert.equal(conn.isPaused, false);
  });
});
