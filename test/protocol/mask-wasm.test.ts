import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  applyMask,
  applyMaskJs,
  maskBuffer,
  maskInternals,
  wasmMasking,
} from '../../src/protocol/mask.js';
import { patternBytes, runs } from '../helpers/fuzz.js';

type MaskFn = (
  buf: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
  keyOffset: number,
  phase: number,
) => void;

/** RFC 6455 §5.3, byte by byte: octet i of the range is XOR-ed with key[(phase + i) mod 4]. */
function referenceMask(
  buf: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
  keyOffset: number,
  phase: number,
): void {
  for (let i = start; i < end; i++) buf[i]! ^= key[keyOffset + ((phase + (i - start)) % 4)]!;
}

const noWasm = !wasmMasking && 'WebAssembly masking is off (TSWS_NO_WASM or no SIMD)';
const byCopy = maskInternals.applyMaskByCopy as MaskFn;
const direct = maskInternals.applyMaskDirect as MaskFn;
const THRESHOLD = maskInternals.wasmThreshold;

/** Short runs of every length around the kernel's 64/16/4-byte steps, and long ones now and then. */
const lengthArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      THRESHOLD - 1,
      THRESHOLD,
      THRESHOLD + 1,
      THRESHOLD + 3,
      16383,
      16384,
      16385,
      65535,
      65536,
      65537,
      131072,
      131075,
      300_001,
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 1 << 20 }) },
);

interface Case {
  /** Bytes before the view inside its backing buffer: makes byteOffset unaligned. */
  viewOffset: number;
  length: number;
  start: number;
  end: number;
  phase: number;
  keyOffset: number;
  key: Uint8Array;
  seed: number;
}

function caseArb(length: fc.Arbitrary<number>, maxViewOffset: number): fc.Arbitrary<Case> {
  return fc
    .record({
      viewOffset: fc.integer({ min: 0, max: maxViewOffset }),
      length,
      a: fc.nat(),
      b: fc.nat(),
      phase: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.nat()),
      keyOffset: fc.integer({ min: 0, max: 9 }),
      key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      seed: fc.integer(),
    })
    .map(({ viewOffset, length, a, b, phase, keyOffset, key, seed }) => {
      // Mostly the whole view, sometimes a random sub-range of it.
      let start = 0;
      let end = length;
      if (a % 3 === 0 && length > 0) {
        start = a % (length + 1);
        end = start + (b % (length - start + 1));
      }
      return { viewOffset, length, start, end, phase, keyOffset, key, seed };
    });
}

function keyBufferOf(c: Case): Uint8Array {
  const keyBuf = new Uint8Array(c.keyOffset + 4 + 3).fill(0xee);
  keyBuf.set(c.key, c.keyOffset);
  return keyBuf;
}

/**
 * Runs `fn` on a case in an ordinary buffer (an unaligned view of a larger one) and checks it
 * against the reference, and that nothing outside the range moved.
 */
function checkOrdinary(fn: MaskFn, c: Case): void {
  const backing = patternBytes(c.viewOffset + c.length + 8, c.seed);
  const original = Buffer.from(backing);
  const data = backing.subarray(c.viewOffset, c.viewOffset + c.length);
  const keyBuf = keyBufferOf(c);
  const expected = Buffer.from(original);
  referenceMask(
    expected,
    c.viewOffset + c.start,
    c.viewOffset + c.end,
    keyBuf,
    c.keyOffset,
    c.phase,
  );
  fn(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
  assert.ok(backing.equals(expected), 'masked bytes differ from the reference');
}

/**
 * Same, on a view of the receive buffer at `viewOffset` (inside the kernel's memory). Checks
 * the whole receive buffer, or with `margin` only that many bytes either side of the view.
 */
function checkInReceiveBuffer(fn: MaskFn, c: Case, margin = 65536): void {
  const receive = maskBuffer()!;
  const lo = Math.max(0, c.viewOffset - margin);
  const hi = Math.min(receive.length, c.viewOffset + c.length + margin);
  const window = receive.subarray(lo, hi);
  const fill = patternBytes(window.length, c.seed);
  window.set(fill);
  const data = receive.subarray(c.viewOffset, c.viewOffset + c.length);
  const keyBuf = keyBufferOf(c);
  const expected = Buffer.from(fill);
  const at = c.viewOffset - lo;
  referenceMask(expected, at + c.start, at + c.end, keyBuf, c.keyOffset, c.phase);
  fn(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
  assert.ok(Buffer.from(window.buffer, window.byteOffset, window.length).equals(expected));
}

/** Cases that fit the 64 KiB receive buffer at their offset. */
function receiveCaseArb(maxLength: number): fc.Arbitrary<Case> {
  return fc
    .tuple(
      fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: maxLength }) },
        { weight: 1, arbitrary: fc.constant(maxLength) },
      ),
      fc.nat(),
    )
    .chain(([length, off]) =>
      caseArb(fc.constant(length), 0).map((c) => ({
        ...c,
        viewOffset: off % (65536 - length + 1),
      })),
    );
}

describe('applyMaskJs (the fallback)', () => {
  it('equals the byte-loop reference for any length, range, phase, alignment and key offset', () => {
    fc.assert(
      fc.property(caseArb(lengthArb, 7), (c) => checkOrdinary(applyMaskJs, c)),
      { numRuns: runs(600) },
    );
  });
});

describe('applyMask with WebAssembly', { skip: noWasm }, () => {
  it('is on in this Node.js (WebAssembly SIMD), with a fixed memory', () => {
    assert.equal(wasmMasking, true);
    const memory = maskInternals.memory!;
    assert.equal(memory.byteLength % 65536, 0);
    assert.ok(maskInternals.scratchSize >= 65536);
  });

  it('ordinary buffers (JavaScript loop or copy path by length) equal the reference', () => {
    fc.assert(
      fc.property(caseArb(lengthArb, 7), (c) => checkOrdinary(applyMask, c)),
      { numRuns: runs(600) },
    );
  });

  it('the copy path, forced at every length, equals the reference', () => {
    fc.assert(
      fc.property(caseArb(lengthArb, 7), (c) => checkOrdinary(byCopy, c)),
      { numRuns: runs(600) },
    );
  });

  it('views of the receive buffer at any offset equal the reference (applyMask, in place)', () => {
    fc.assert(
      fc.property(receiveCaseArb(65536), (c) => checkInReceiveBuffer(applyMask, c)),
      { numRuns: runs(500) },
    );
  });

  it('a Buffer over the receive buffer (as a binding makes one) is masked in place too', () => {
    const receive = maskBuffer()!;
    const whole = Buffer.from(receive.buffer, receive.byteOffset, receive.byteLength);
    const key = Uint8Array.from([1, 2, 4, 8]);
    for (const [off, length, phase] of [
      [0, 65536, 0],
      [3, 1000, 1],
      [65536 - THRESHOLD, THRESHOLD, 2],
    ] as const) {
      const fill = patternBytes(receive.length, off + length);
      receive.set(fill);
      const expected = Buffer.from(fill);
      referenceMask(expected, off, off + length, key, 0, phase);
      applyMask(whole.subarray(off, off + length), 0, length, key, 0, phase);
      assert.ok(whole.equals(expected), `offset ${off} length ${length}`);
    }
  });

  it('the kernel called in place at any address and length equals the reference', () => {
    fc.assert(
      fc.property(receiveCaseArb(65536), (c) => checkInReceiveBuffer(direct, c)),
      { numRuns: runs(800) },
    );
  });

  it('every length 0..300 at every address mod 16 and every phase, in place and by copy', () => {
    const key = Uint8Array.from([0xa1, 0xb2, 0xc3, 0xd4]);
    for (let length = 0; length <= 300; length++) {
      for (let off = 0; off < 16; off++) {
        const phase = (length + off) & 3;
        const c: Case = {
          viewOffset: off,
          length,
          start: 0,
          end: length,
          phase,
          keyOffset: 0,
          key,
          seed: length * 16 + off,
        };
        checkInReceiveBuffer(direct, c, 64);
        checkOrdinary(byCopy, c);
      }
    }
  });

  it('handles 1 MiB buffers at every alignment and phase', () => {
    const key = Uint8Array.from([0x12, 0x34, 0x56, 0x78]);
    for (const size of [1 << 20, (1 << 20) + 5]) {
      for (let offset = 0; offset < 4; offset++) {
        for (let phase = 0; phase < 4; phase++) {
          const c: Case = {
            viewOffset: offset,
            length: size,
            start: 0,
            end: size,
            phase,
            keyOffset: 0,
            key,
            seed: size + offset,
          };
          checkOrdinary(applyMask, c);
        }
      }
    }
  });

  it('applied twice restores the input, on every path', () => {
    const paths: [string, MaskFn][] = [
      ['applyMask', applyMask],
      ['copy', byCopy],
      ['JS', applyMaskJs],
    ];
    fc.assert(
      fc.property(caseArb(lengthArb, 7), fc.integer({ min: 0, max: 2 }), (c, which) => {
        const [, fn] = paths[which]!;
        const backing = patternBytes(c.viewOffset + c.length + 8, c.seed);
        const original = Buffer.from(backing);
        const data = backing.subarray(c.viewOffset, c.viewOffset + c.length);
        const keyBuf = keyBufferOf(c);
        fn(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
        fn(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
        assert.ok(backing.equals(original));
      }),
      { numRuns: runs(300) },
    );
    fc.assert(
      fc.property(receiveCaseArb(65536), (c) => {
        const receive = maskBuffer()!;
        receive.set(patternBytes(receive.length, c.seed));
        const original = Buffer.from(receive);
        const data = receive.subarray(c.viewOffset, c.viewOffset + c.length);
        const keyBuf = keyBufferOf(c);
        applyMask(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
        applyMask(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
        assert.ok(original.equals(receive));
      }),
      { numRuns: runs(200) },
    );
  });

  it('masking in pieces with the running phase, each piece by any path, equals masking at once', () => {
    const paths: MaskFn[] = [applyMask, byCopy, applyMaskJs, applyMask];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 })), { maxLength: 8 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer(),
        (length, cutSeeds, key, seed) => {
          const src = patternBytes(length, seed);
          const whole = Buffer.from(src);
          referenceMask(whole, 0, length, key, 0, 0);
          const pieces = Buffer.from(src);
          const cuts = [
            ...cutSeeds.map(([s, p]) => [s % (length + 1), p] as const),
            [length, 0] as const,
          ].sort((x, y) => x[0] - y[0]);
          let prev = 0;
          for (const [cut, p] of cuts) {
            const n = cut - prev;
            if (p === 3 && n <= 65536) {
              // Read into the receive buffer, as a binding would, and unmasked there.
              const view = maskBuffer()!.subarray(65536 - n);
              view.set(pieces.subarray(prev, cut));
              applyMask(view, 0, n, key, 0, prev);
              pieces.set(view, prev);
            } else {
              // A fresh unaligned copy of each piece, masked with the phase of its first byte.
              const piece = Buffer.alloc(n + 1).subarray(1);
              pieces.copy(piece, 0, prev, cut);
              paths[p]!(piece, 0, n, key, 0, prev);
              piece.copy(pieces, prev);
            }
            prev = cut;
          }
          assert.ok(pieces.equals(whole));
        },
      ),
      { numRuns: runs(150) },
    );
  });

  it('masks in place with the key in the same buffer, right before the payload (client writer)', () => {
    for (const length of [THRESHOLD, 1000, 70_000]) {
      const buf = patternBytes(length + 4, length);
      const expected = Buffer.from(buf);
      referenceMask(expected, 4, length + 4, expected, 0, 0);
      applyMask(buf, 4, length + 4, buf, 0, 0);
      assert.ok(buf.equals(expected));
    }
  });
});

describe('maskBuffer', { skip: noWasm }, () => {
  it('is a 64 KiB view of the kernel memory, the same one on every call', () => {
    const receive = maskBuffer()!;
    assert.ok(receive instanceof Uint8Array);
    assert.equal(receive.length, 65536);
    assert.equal(receive.byteLength, 65536);
    assert.equal(receive.buffer, maskInternals.memory);
    assert.equal(maskBuffer(), receive);
    assert.equal(receive.byteOffset, maskInternals.receiveOffset);
  });

  it('is disjoint from the scratch area, and both lie inside the memory', () => {
    const receive = maskBuffer()!;
    const r0 = receive.byteOffset;
    const r1 = r0 + receive.length;
    const s0 = maskInternals.scratchOffset;
    const s1 = s0 + maskInternals.scratchSize;
    assert.ok(r1 <= s0 || s1 <= r0, `receive [${r0}, ${r1}) overlaps scratch [${s0}, ${s1})`);
    assert.ok(r1 <= maskInternals.memory!.byteLength && s1 <= maskInternals.memory!.byteLength);
  });

  it('is never touched by masking other buffers (copy path), and the memory never grows', () => {
    const receive = maskBuffer()!;
    const memory = maskInternals.memory!;
    const size = memory.byteLength;
    const fill = patternBytes(receive.length, 42);
    receive.set(fill);
    const key = Uint8Array.from([0xff, 0x0f, 0xf0, 0x55]);
    for (const length of [THRESHOLD, 5000, 65536, 65537, 200_000, 1 << 20]) {
      for (const fn of [applyMask, byCopy]) {
        const buf = patternBytes(length + 3, length).subarray(3);
        fn(buf, 0, length, key, 0, 1);
        fn(buf, 1, length - 1, key, 0, 2);
      }
    }
    assert.ok(Buffer.from(receive.buffer, receive.byteOffset, receive.length).equals(fill));
    assert.equal(memory.byteLength, size);
    assert.equal(receive.length, 65536, 'the view did not detach');
  });
});

describe('TSWS_NO_WASM=1', () => {
  it('turns WebAssembly off: the JavaScript loop only, no receive buffer, same results', () => {
    const moduleUrl = new URL('../../src/protocol/mask.js', import.meta.url).href;
    const script = `
      const m = await import(${JSON.stringify(moduleUrl)});
      const ref = (buf, start, end, key, ko, phase) => {
        for (let i = start; i < end; i++) buf[i] ^= key[ko + ((phase + i - start) % 4)];
      };
      let ok = true;
      const key = Uint8Array.from([9, 8, 7, 6, 5]);
      for (const size of [0, 1, 5, 127, 128, 300, 4096, 70001, 1 << 20]) {
        const a = new Uint8Array(size + 3).map((_, i) => (i * 31 + 7) & 255);
        const b = a.slice();
        m.applyMask(a.subarray(3), 0, size, key, 1, size);
        ref(b.subarray(3), 0, size, key, 1, size);
        ok &&= Buffer.from(a).equals(Buffer.from(b));
      }
      console.log(JSON.stringify({
        wasm: m.wasmMasking,
        receive: m.maskBuffer() === undefined,
        internals: m.maskInternals.applyMaskByCopy === undefined && m.maskInternals.memory === undefined,
        ok,
      }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TSWS_NO_WASM: '1' },
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout), {
      wasm: false,
      receive: true,
      internals: true,
      ok: true,
    });
  });
});
