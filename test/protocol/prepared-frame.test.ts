import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Connection, ErrorCode, Opcode, prepareFrame } from '../../src/protocol/index.js';
import { decodeFrames } from '../helpers/frames.js';
import { runs, textArb } from '../helpers/fuzz.js';
import { recordingConnection } from '../helpers/recorder.js';

describe('prepareFrame', () => {
  it('is the frame a server connection writes for the same message, in one buffer', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          textArb(200).map((text) => ({ binary: false, data: text as string | Uint8Array })),
          fc
            .uint8Array({ maxLength: 70_000 })
            .map((bytes) => ({ binary: true, data: bytes as string | Uint8Array })),
        ),
        ({ binary, data }) => {
          const opcode = binary ? Opcode.Binary : Opcode.Text;
          const prepared = prepareFrame(opcode, data);
          const conn = new Connection({ role: 'server' }, silentHandler);
          if (binary) conn.sendBinary(data as Uint8Array);
          else conn.sendText(data);
          assert.deepEqual(prepared, Buffer.concat(conn.dataToSend()));
        },
      ),
      { numRuns: runs(200) },
    );
  });

  it('uses the shortest length encoding at each boundary (RFC 6455 §5.2)', () => {
    for (const [length, headerBytes] of [
      [0, 2],
      [125, 2],
      [126, 4],
      [65_535, 4],
      [65_536, 10],
    ] as const) {
      const frame = prepareFrame(Opcode.Binary, Buffer.alloc(length, 3));
      assert.equal(frame.length, headerBytes + length);
      const { frames, rest } = decodeFrames(frame);
      assert.equal(rest.length, 0);
      assert.equal(frames.length, 1);
      assert.equal(frames[0]!.payload.length, length);
      assert.equal(frames[0]!.fin, true);
      assert.equal(frames[0]!.masked, false);
    }
  });

  it('sets RSV1 when asked (a payload compressed by permessage-deflate, RFC 7692 §6.1)', () => {
    const { frames } = decodeFrames(prepareFrame(Opcode.Text, Buffer.from([1, 2]), true));
    assert.equal(frames[0]!.rsv1, true);
    assert.equal(frames[0]!.opcode, Opcode.Text);
  });

  it('copies the payload: changing the source afterwards changes nothing', () => {
    const source = Buffer.from('hello');
    const frame = prepareFrame(Opcode.Binary, source);
    source.fill(0);
    assert.equal(decodeFrames(frame).frames[0]!.payload.toString(), 'hello');
  });

  it('refuses control and continuation opcodes', () => {
    for (const opcode of [Opcode.Continuation, Opcode.Ping, Opcode.Close]) {
      assert.throws(() => prepareFrame(opcode as never, 'x'), { code: ErrorCode.InvalidArgument });
    }
  });

  it('one prepared frame handed to many connections reaches each of them whole', () => {
    const frame = prepareFrame(Opcode.Text, 'to everyone');
    const peers = Array.from({ length: 3 }, () => recordingConnection({ role: 'server' }));
    for (const [i, { conn }] of peers.entries()) {
      conn.sendText(`own ${i}`);
      conn.sendPreparedFrame(frame);
    }
    for (const [i, { output }] of peers.entries()) {
      assert.deepEqual(
        output().frames.map((f) => f.payload.toString()),
        [`own ${i}`, 'to everyone'],
      );
    }
  });
});

const silentHandler = {
  onMessage() {},
  onPing() {},
  onPong() {},
  onClose() {},
  onError() {},
};
