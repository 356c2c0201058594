import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyMask, randomMask } from '../../src/protocol/index.js';
import { patternBytes, runs } from '../helpers/fuzz.js';

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

interface MaskCase {
  /** Bytes before the view inside the backing buffer: makes byteOffset unaligned. */
  viewOffset: number;
  length: number;
  start: number;
  end: number;
  phase: number;
  keyOffset: number;
  key: Uint8Array;
  seed: number;
}

const lengthArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(63, 64, 65, 66, 67, 68, 1 << 16, (1 << 16) + 3, 100_003),
  },
);

const caseArb: fc.Arbitrary<MaskCase> = fc
  .record({
    viewOffset: fc.integer({ min: 0, max: 7 }),
    length: lengthArb,
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

/** Builds the buffers of a case: the data as an unaligned view, the key at an offset in another buffer. */
function materialize(c: MaskCase): { data: Uint8Array; keyBuf: Uint8Array; original: Buffer } {
  const backing = new Uint8Array(c.viewOffset + c.length + 8);
  backing.set(patternBytes(backing.length, c.seed));
  const data = backing.subarray(c.viewOffset, c.viewOffset + c.length);
  const keyBuf = new Uint8Array(c.keyOffset + 4 + 3).fill(0xee);
  keyBuf.set(c.key, c.keyOffset);
  return { data, keyBuf, original: Buffer.from(backing) };
}

describe('applyMask', () => {
  it('equals the byte-loop reference for any length, range, phase, alignment and key offset', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { data, keyBuf, original } = materialize(c);
        const expected = new Uint8Array(original.subarray(c.viewOffset, c.viewOffset + c.length));
        referenceMask(expected, c.start, c.end, keyBuf, c.keyOffset, c.phase);
        applyMask(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
        assert.deepEqual(Buffer.from(data), Buffer.from(expected));
        // Nothing outside the view was touched.
        const backing = new Uint8Array(data.buffer);
        assert.deepEqual(
          Buffer.from(backing.subarray(0, c.viewOffset)),
          original.subarray(0, c.viewOffset),
        );
        assert.deepEqual(
          Buffer.from(backing.subarray(c.viewOffset + c.length)),
          original.subarray(c.viewOffset + c.length),
        );
      }),
      { numRuns: runs(1500) },
    );
  });

  it('applied twice restores the input', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { data, keyBuf, original } = materialize(c);
        applyMask(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
        applyMask(data, c.start, c.end, keyBuf, c.keyOffset, c.phase);
        assert.deepEqual(Buffer.from(data.buffer), original);
      }),
      { numRuns: runs(500) },
    );
  });

  it('masking in pieces with the running phase equals masking at once (how the receiver uses it)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer(),
        (length, cutSeeds, key, seed) => {
          const src = patternBytes(length, seed);
          const whole = Buffer.from(src);
          referenceMask(whole, 0, length, key, 0, 0);
          const pieces = Buffer.from(src);
          const cuts = [...cutSeeds.map((s) => s % (length + 1)), length].sort((a, b) => a - b);
          let prev = 0;
          for (const cut of cuts) {
            // A fresh unaligned copy of each piece, masked with the phase of its first byte.
            const piece = Buffer.alloc(cut - prev + 1).subarray(1);
            pieces.copy(piece, 0, prev, cut);
            applyMask(piece, 0, piece.length, key, 0, prev);
            piece.copy(pieces, prev);
            prev = cut;
          }
          assert.deepEqual(pieces, whole);
        },
      ),
      { numRuns: runs(300) },
    );
  });

  it('handles big buffers at every alignment', () => {
    const key = Uint8Array.from([0x12, 0x34, 0x56, 0x78]);
    for (const size of [1 << 20, (1 << 20) + 5]) {
      for (let offset = 0; offset < 4; offset++) {
        for (let phase = 0; phase < 4; phase++) {
          const backing = patternBytes(size + 8, size + offset);
          const data = backing.subarray(offset, offset + size);
          const expected = Buffer.from(data);
          referenceMask(expected, 0, size, key, 0, phase);
          applyMask(data, 0, size, key, 0, phase);
          assert.ok(data.equals(expected), `size ${size} offset ${offset} phase ${phase}`);
        }
      }
    }
  });

  it('does nothing on an empty range, and masks in place within the same buffer as the key', () => {
    const buf = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    applyMask(buf, 3, 3, buf, 0, 0);
    assert.deepEqual(buf, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    // As the client writer does: key at [0, 4), payload right after it.
    applyMask(buf, 4, 8, buf, 0, 0);
    assert.deepEqual(buf, Buffer.from([1, 2, 3, 4, 5 ^ 1, 6 ^ 2, 7 ^ 3, 8 ^ 4]));
  });
});

describe('randomMask', () => {
  it('writes 4 bytes at the offset and nothing else', () => {
    const target = Buffer.alloc(12, 0xaa);
    let changed = false;
    for (let i = 0; i < 8 && !changed; i++) {
      randomMask(target, 5);
      changed = !target.subarray(5, 9).equals(Buffer.alloc(4, 0xaa));
    }
    assert.ok(changed, 'some key differs from the filler');
    assert.deepEqual(target.subarray(0, 5), Buffer.alloc(5, 0xaa));
    assert.deepEqual(target.subarray(9), Buffer.alloc(3, 0xaa));
  });

  it('yields different keys across calls', () => {
    const keys = new Set<string>();
    const target = Buffer.alloc(4);
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      randomMask(target, 0);
      keys.add(target.toString('hex'));
    }
    // 10,000 draws from 2^32 keys: a handful of collisions at most, unless keys repeat.
    assert.ok(keys.size > n - 10, `${keys.size} distinct keys of ${n}`);
    // Each byte position takes many values (not e.g. a counter in one byte).
    const firstBytes = new Set<number>();
    for (const k of keys) firstBytes.add(Number.parseInt(k.slice(0, 2), 16));
    assert.ok(firstBytes.size > 200);
  });

  it('draws keys from crypto.getRandomValues in batches, not once per key', (t) => {
    const spy = t.mock.method(globalThis.crypto, 'getRandomValues');
    const target = Buffer.alloc(4);
    // Whatever is left in the current batch, 3 batches of 2048 keys need exactly 3 refills.
    for (let i = 0; i < 3 * 2048; i++) randomMask(target, 0);
    assert.equal(spy.mock.callCount(), 3);
    for (const call of spy.mock.calls) {
      const arg = call.arguments[0] as Uint8Array;
      assert.ok(arg.byteLength >= 4096, `batch of ${arg.byteLength} bytes`);
    }
  });
});
