import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Opcode } from '../../src/protocol/index.js';
import { decodeFrames } from '../helpers/frames.js';
import { recordingConnection } from '../helpers/recorder.js';

describe('frame writing', () => {
  it('writes text, binary, ping and pong frames unmasked from a server', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    conn.sendText('héllo');
    conn.sendBinary(Buffer.from([0, 1, 2, 255]));
    conn.sendPing('p');
    conn.sendPong(Buffer.from('q'));
    const { frames } = output();
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.masked, f.payload.toString('hex')]),
      [
        [Opcode.Text, true, false, Buffer.from('héllo').toString('hex')],
        [Opcode.Binary, true, false, '000102ff'],
        [Opcode.Ping, true, false, Buffer.from('p').toString('hex')],
        [Opcode.Pong, true, false, Buffer.from('q').toString('hex')],
      ],
    );
  });

  it('masks every client frame with a fresh key', () => {
    const { conn } = recordingConnection({ role: 'client' });
    conn.sendText('aaaa');
    conn.sendText('aaaa');
    const bytes = Buffer.concat(conn.dataToSend());
    assert.equal(bytes[1]! & 0x80, 0x80);
    const key1 = bytes.subarray(2, 6);
    const key2 = bytes.subarray(12, 16);
    assert.notDeepEqual(key1, key2);
  });

  it('writes every length class, masked and unmasked, with minimal length encoding', () => {
    for (const role of ['server', 'client'] as const) {
      for (const size of [0, 1, 41, 42, 125, 126, 8192, 8193, 65535, 65536, 1 << 20]) {
        const { conn } = recordingConnection({ role });
        const payload = Buffer.alloc(size);
        for (let i = 0; i < size; i++) payload[i] = i & 0xff;
        conn.sendBinary(payload);
        const text = 'é'.repeat(size >> 1);
        conn.sendText(text);
        const bytes = Buffer.concat(conn.dataToSend());
        const expectedLen7 = size <= 125 ? size : size <= 0xffff ? 126 : 127;
        assert.equal(bytes[1]! & 0x7f, expectedLen7, `${role} ${size}`);
        const { frames } = decodeFrames(bytes);
        assert.equal(frames.length, 2);
        assert.deepEqual(frames[0]!.payload, payload, `${role} ${size} binary`);
        assert.equal(frames[1]!.payload.toString(), text, `${role} ${size} text`);
        assert.equal(frames[0]!.masked, role === 'client');
      }
    }
  });

  it('sends a message in fragments with continuation opcodes', () => {
    const { conn, output } = recordingConnection({ role: 'server' });
    conn.sendText('a', false);
    conn.sendPing('mid');
    conn.sendText('b', false);
    conn.sendText('c', true);
    conn.sendBinary(Buffer.from('d'));
    const { frames } = output();
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.payload.toString()]),
      [
        [Opcode.Text, false, 'a'],
        [Opcode.Ping, true, 'mid'],
        [Opcode.Continuation, false, 'b'],
        [Opcode.Continuation, true, 'c'],
        [Opcode.Binary, true, 'd'],
      ],
    );
  });

  it('keeps frames of different connections apart in the shared slab', () => {
    const a = recordingConnection({ role: 'server' });
    const b = recordingConnection({ role: 'server' });
    for (let i = 0; i < 1000; i++) {
      a.conn.sendText(`a${i}`);
      b.conn.sendText(`b${i}`);
    }
    const fa = a.output().frames.map((f) => f.payload.toString());
    const fb = b.output().frames.map((f) => f.payload.toString());
    assert.equal(fa.length, 1000);
    assert.equal(fb.length, 1000);
    assert.equal(fa[999], 'a999');
    assert.equal(fb[0], 'b0');
    assert.ok(fa.every((s) => s.startsWith('a')));
  });

  it('tracks the bytes waiting to be taken', () => {
    const { conn } = recordingConnection({ role: 'server' });
    conn.sendBinary(Buffer.alloc(10));
    conn.sendBinary(Buffer.alloc(100_000));
    assert.equal(conn.bufferedAmount, 12 + 10 + 100_000);
    conn.dataToSend();
    assert.equal(conn.bufferedAmount, 0);
  });
});
