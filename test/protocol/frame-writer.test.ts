import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import {
  Connection,
  FrameWriter,
  type MaskGenerator,
  Opcode,
  type Role,
  randomMask,
} from '../../src/protocol/index.js';
import { type DecodedFrame, decodeFrames } from '../helpers/frames.js';
import { patternBytes, runs, textArb } from '../helpers/fuzz.js';
import { recordingConnection } from '../helpers/recorder.js';

const decodeAll = (chunks: Buffer[]): DecodedFrame[] => {
  const { frames, rest } = decodeFrames(Buffer.concat(chunks));
  assert.equal(rest.length, 0, 'whole frames only');
  return frames;
};

/** Expected length field class: 7-bit value, 126 or 127. */
const lengthClass = (n: number) => (n <= 125 ? n : n <= 0xffff ? 126 : 127);

describe('FrameWriter.writeOwnedFrame', () => {
  it('a client masks a large owned payload in place and writes that very buffer', () => {
    const w = new FrameWriter({ mask: true, generateMask: randomMask });
    const original = patternBytes(20_000, 1);
    const payload = Buffer.from(original);
    w.writeOwnedFrame(Opcode.Binary, true, false, payload);
    const chunks = w.take();
    assert.ok(chunks.includes(payload), 'the owned buffer is written by reference');
    assert.ok(!payload.equals(original), 'masked in place');
    const [frame] = decodeAll(chunks);
    assert.equal(frame!.masked, true);
    assert.deepEqual(frame!.payload, original);
  });

  it('a small owned payload is copied beside its header (the caller buffer is untouched)', () => {
    const w = new FrameWriter({ mask: true, generateMask: randomMask });
    const payload = patternBytes(8192, 2);
    const copy = Buffer.from(payload);
    w.writeOwnedFrame(Opcode.Text, false, true, payload);
    const chunks = w.take();
    assert.equal(chunks.length, 1);
    assert.deepEqual(payload, copy);
    const [frame] = decodeAll(chunks);
    assert.deepEqual(
      [frame!.opcode, frame!.fin, frame!.rsv1, frame!.masked],
      [Opcode.Text, false, true, true],
    );
    assert.deepEqual(frame!.payload, copy);
  });

  it('a server writes a large owned payload by reference, unmodified', () => {
    const w = new FrameWriter({ mask: false, generateMask: randomMask });
    const payload = patternBytes(9000, 3);
    const copy = Buffer.from(payload);
    w.writeOwnedFrame(Opcode.Binary, true, false, payload);
    const chunks = w.take();
    assert.ok(chunks.includes(payload));
    assert.deepEqual(payload, copy);
    assert.deepEqual(decodeAll(chunks)[0]!.payload, copy);
  });
});

describe('FrameWriter.writeFrame', () => {
  it('never modifies the payload it is given, masked or not, small or large', () => {
    for (const mask of [false, true]) {
      for (const size of [0, 1, 125, 8192, 8193, 70_000]) {
        const w = new FrameWriter({ mask: mask, generateMask: randomMask });
        const payload = patternBytes(size, size);
        const copy = Buffer.from(payload);
        w.writeFrame(Opcode.Binary, true, false, payload);
        const [frame] = decodeAll(w.take());
        assert.deepEqual(payload, copy, `mask ${mask} size ${size}`);
        assert.deepEqual(frame!.payload, copy);
      }
    }
  });

  it('accepts a Uint8Array view at an offset of a larger buffer', () => {
    for (const size of [5, 9000]) {
      const backing = patternBytes(size + 20, 9);
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 7, size);
      const w = new FrameWriter({ mask: false, generateMask: randomMask });
      w.writeFrame(Opcode.Binary, true, false, view);
      assert.deepEqual(decodeAll(w.take())[0]!.payload, Buffer.from(view));
    }
  });

  it('writes the key from generateMask right after the length, and masks with it', () => {
    const gen: MaskGenerator = (target, offset) => {
      target.set([0xde, 0xad, 0xbe, 0xef], offset);
    };
    for (const size of [3, 200, 70_000]) {
      const w = new FrameWriter({ mask: true, generateMask: gen });
      w.writeFrame(Opcode.Binary, true, false, Buffer.alloc(size));
      const bytes = Buffer.concat(w.take());
      const keyAt = size <= 125 ? 2 : size <= 0xffff ? 4 : 10;
      assert.deepEqual(bytes.subarray(keyAt, keyAt + 4), Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      // A zero payload masked is the key repeated.
      const n = Math.min(size, 8);
      assert.deepEqual(
        bytes.subarray(keyAt + 4, keyAt + 4 + n),
        Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef].slice(0, n)),
      );
    }
  });
});

describe('text frames at the boundaries of the writer paths', () => {
  const cases: [string, string][] = [
    ['empty', ''],
    ['1 unit', 'a'],
    ['41 ASCII units', 'a'.repeat(41)],
    ['42 ASCII units', 'a'.repeat(42)],
    ['41 units of 3 bytes = 123 bytes', '€'.repeat(41)],
    ['42 units of 3 bytes = 126 bytes (16-bit length)', '€'.repeat(42)],
    ['40 units of 3 bytes + 1 of 2 = 122 bytes', `${'€'.repeat(40)}é`],
    ['20 astral (40 units)', '😀'.repeat(20)],
    ['20 astral + 1 unit (41 units)', `${'😀'.repeat(20)}€`],
    ['21 astral (42 units)', '😀'.repeat(21)],
    ['a pair cut by the 41-unit boundary', `${'a'.repeat(40)}😀`],
    ['lone high surrogate', '\ud800'],
    ['lone low surrogate between ASCII', 'a\udc00b'],
    ['reversed pair', '\ude00\ud83d'],
    ['41 lone surrogates (123 bytes)', '\ud800'.repeat(41)],
    ['42 lone surrogates (126 bytes)', '\udfff'.repeat(42)],
    ['a high surrogate at the end of 42 units', `${'a'.repeat(41)}\ud83d`],
    ['8192 ASCII (8192 bytes, in the slab)', 'a'.repeat(8192)],
    ['8193 ASCII (8193 bytes, owned)', 'a'.repeat(8193)],
    ['4096 × é = 8192 bytes', 'é'.repeat(4096)],
    ['4097 × é = 8194 bytes, 4097 units', 'é'.repeat(4097)],
    ['2730 × € + é = 8192 bytes', `${'€'.repeat(2730)}é`],
    ['2731 × € = 8193 bytes', '€'.repeat(2731)],
    ['2048 astral = 8192 bytes', '😀'.repeat(2048)],
    ['8189 ASCII + lone surrogate = 8192 bytes', `${'a'.repeat(8189)}\ud800`],
    ['8190 ASCII + lone surrogate = 8193 bytes', `${'a'.repeat(8190)}\ud800`],
    ['21845 × € = 65535 bytes', '€'.repeat(21845)],
    ['65536 ASCII (64-bit length)', 'a'.repeat(65536)],
  ];
  for (const role of ['server', 'client'] as const) {
    for (const [name, s] of cases) {
      it(`${role}: ${name}`, () => {
        const { conn } = recordingConnection({ role });
        const expected = Buffer.from(s); // lone surrogates → U+FFFD (EF BF BD)
        conn.sendText(s);
        conn.sendText(s, false);
        assert.equal(
          conn.bufferedAmount,
          2 *
            (expected.length +
              2 +
              (role === 'client' ? 4 : 0) +
              (expected.length > 0xffff ? 8 : expected.length > 125 ? 2 : 0)),
        );
        const bytes = Buffer.concat(conn.dataToSend());
        assert.equal(bytes[1]! & 0x7f, lengthClass(expected.length), 'minimal length encoding');
        const frames = decodeAll([bytes]);
        assert.equal(frames.length, 2);
        for (const f of frames) {
          assert.equal(f.masked, role === 'client');
          assert.deepEqual(f.payload, expected);
        }
        assert.deepEqual(
          frames.map((f) => [f.opcode, f.fin]),
          [
            [Opcode.Text, true],
            [Opcode.Text, false],
          ],
        );
      });
    }
  }

  it('lone surrogates become U+FFFD, which the peer accepts as UTF-8', () => {
    const { conn } = recordingConnection({ role: 'server' });
    conn.sendText('x\ud800y');
    const [frame] = decodeAll(conn.dataToSend());
    assert.equal(frame!.payload.toString('hex'), `78${'efbfbd'}79`);
  });

  it('any string, any role, any fin/rsv1: the payload is its UTF-8 and the length minimal', () => {
    const stringArb = fc.oneof(
      { weight: 5, arbitrary: textArb(30) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: 0, max: 9000 }), textArb(4))
          .map(([n, t]) => `${'b'.repeat(n)}${t}`),
      },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(stringArb, fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        (msgs, mask) => {
          const w = new FrameWriter({ mask: mask, generateMask: randomMask });
          for (const [s, fin, rsv1] of msgs) w.writeTextFrame(Opcode.Text, fin, rsv1, s);
          const frames = decodeAll(w.take());
          assert.equal(frames.length, msgs.length);
          frames.forEach((f, i) => {
            const [s, fin, rsv1] = msgs[i]!;
            assert.deepEqual(f.payload, Buffer.from(s));
            assert.deepEqual([f.fin, f.rsv1, f.masked, f.opcode], [fin, rsv1, mask, Opcode.Text]);
          });
        },
      ),
      { numRuns: runs(300) },
    );
  });
});

describe('FrameWriter.writeRaw', () => {
  const frame = (byte: number, n: number) =>
    Buffer.concat([Buffer.from([0x82, n]), Buffer.alloc(n, byte)]);

  it('a frame written alone goes by reference (no copy for a frame shared by many peers)', () => {
    const w = new FrameWriter({ mask: false, generateMask: randomMask });
    const shared = frame(1, 64);
    w.writeRaw(shared);
    assert.equal(w.bufferedBytes, 66);
    const chunks = w.take();
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0], shared, 'the very buffer');
  });

  it('raw frames after other bytes are copied in order, and the shared frame is never modified', () => {
    const w = new FrameWriter({ mask: false, generateMask: randomMask });
    const first = frame(1, 10);
    const second = frame(2, 20);
    const copy = Buffer.from(second);
    w.writeRaw(first);
    w.writeFrame(Opcode.Text, true, false, Buffer.from('hi'));
    w.writeRaw(second);
    w.writeRaw(first);
    const chunks = w.take();
    assert.equal(chunks[0], first, 'the lone first frame by reference');
    assert.ok(!chunks.slice(1).includes(second), 'later small frames are copied');
    assert.deepEqual(
      decodeAll(chunks).map((f) => [f.opcode, f.payload.length]),
      [
        [Opcode.Binary, 10],
        [Opcode.Text, 2],
        [Opcode.Binary, 20],
        [Opcode.Binary, 10],
      ],
    );
    assert.ok(second.equals(copy));
    // Taken: the next frame is alone again.
    w.writeRaw(second);
    assert.equal(w.take()[0], second);
  });
});

describe('the shared slab', () => {
  it('frames of many interleaved connections stay whole and in order across slab replacements', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<Role>('server', 'client'), { minLength: 2, maxLength: 6 }),
        fc.integer(),
        (roles, seed) => {
          const conns = roles.map((role) => ({
            role,
            conn: recordingConnection({ role }).conn,
            sent: [] as Buffer[],
            taken: [] as { chunk: Buffer; copy: Buffer }[],
          }));
          let x = seed | 0 || 1;
          const rand = (n: number) => {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            return (x >>> 0) % n;
          };
          let total = 0;
          // Over 4 slabs of 64 KiB of small frames, written in a random interleaving.
          while (total < 4 * 64 * 1024) {
            const c = conns[rand(conns.length)]!;
            const kind = rand(20);
            let payload: Buffer;
            if (kind === 0) {
              payload = patternBytes(8000 + rand(400), x); // around the copy limit
              c.conn.sendBinary(payload);
            } else if (kind < 8) {
              const s = `${'€😀a'.repeat(rand(15))}${rand(1000)}`;
              payload = Buffer.from(s);
              c.conn.sendText(s);
            } else if (kind < 10) {
              payload = patternBytes(rand(126), x);
              c.conn.sendPing(payload);
            } else {
              payload = patternBytes(rand(300), x);
              c.conn.sendBinary(payload);
            }
            c.sent.push(payload);
            total += payload.length;
            if (rand(10) === 0) {
              for (const chunk of c.conn.dataToSend()) {
                c.taken.push({ chunk, copy: Buffer.from(chunk) });
              }
            }
          }
          for (const c of conns) {
            for (const chunk of c.conn.dataToSend())
              c.taken.push({ chunk, copy: Buffer.from(chunk) });
            // Chunks handed out earlier were never overwritten by later frames.
            for (const t of c.taken) assert.ok(t.chunk.equals(t.copy), 'a taken chunk changed');
            const frames = decodeAll(c.taken.map((t) => t.chunk));
            assert.equal(frames.length, c.sent.length);
            frames.forEach((f, i) => {
              assert.deepEqual(f.payload, c.sent[i], `${c.role} frame ${i}`);
              assert.equal(f.masked, c.role === 'client');
            });
          }
        },
      ),
      { numRuns: runs(15) },
    );
  });

  it('a writer keeps appending to its run while it is the last writer in the slab', () => {
    const { conn } = recordingConnection({ role: 'server' });
    for (let i = 0; i < 100; i++) conn.sendBinary(Buffer.from([i]));
    const chunks = conn.dataToSend();
    // One contiguous chunk, or two when the shared slab ran out on the way (how full it was
    // depends on the tests before this one): the first then ends the old slab, the second
    // starts a new one.
    assert.ok(chunks.length <= 2, `${chunks.length} chunks for 100 frames written in a row`);
    if (chunks.length === 2) {
      const a = chunks[0]!;
      const b = chunks[1]!;
      // A 3-byte frame did not fit in what was left of the old slab.
      assert.ok(a.buffer.byteLength - (a.byteOffset + a.length) < 3, 'the first run ends its slab');
      assert.equal(b.byteOffset, 0, 'the second run starts a new slab');
    }
    assert.equal(
      chunks.reduce((n, c) => n + c.length, 0),
      300,
    );
  });

  it('a writer keeps no slab alive once its chunks are taken (an idle connection holds no output memory)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const idle = new FrameWriter({ mask: false, generateMask: randomMask });
    idle.writeFrame(Opcode.Binary, true, false, Buffer.alloc(4096, 1));
    const slab = new WeakRef(idle.take()[0]!.buffer);
    // Other writers fill that slab and move on to a new one; their chunks are dropped.
    const busy = new FrameWriter({ mask: false, generateMask: randomMask });
    for (let i = 0; i < 10; i++) busy.writeFrame(Opcode.Binary, true, false, Buffer.alloc(8192));
    busy.take();
    // A WeakRef's target lives until the end of the job that made or read it: collect later.
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(slab.deref(), undefined, 'the idle writer still holds its last slab');
  });

  it('bufferedAmount is the byte count of what dataToSend returns', () => {
    const a = recordingConnection({ role: 'client' }).conn;
    const b = new Connection(
      { role: 'server' },
      { onMessage() {}, onPing() {}, onPong() {}, onClose() {}, onError() {} },
    );
    for (let i = 0; i < 500; i++) {
      a.sendText('x'.repeat(i % 50));
      b.sendBinary(Buffer.alloc(i * 37));
    }
    for (const conn of [a, b]) {
      const n = conn.bufferedAmount;
      assert.equal(Buffer.concat(conn.dataToSend()).length, n);
      assert.equal(conn.bufferedAmount, 0);
    }
  });
});
