import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { headerSize, MAX_HEADER_SIZE, Opcode, writeFrameHeader } from '../../src/protocol/index.js';
import { runs } from '../helpers/fuzz.js';

/** Reads a header by the RFC with BigInt arithmetic (independent of the writer). */
function readHeader(b: Buffer) {
  const len7 = b[1]! & 0x7f;
  let length: bigint;
  let p = 2;
  if (len7 === 126) {
    length = BigInt(b.readUInt16BE(2));
    p = 4;
  } else if (len7 === 127) {
    length = b.readBigUInt64BE(2);
    p = 10;
  } else {
    length = BigInt(len7);
  }
  return {
    fin: (b[0]! & 0x80) !== 0,
    rsv1: (b[0]! & 0x40) !== 0,
    rsv23: b[0]! & 0x30,
    opcode: b[0]! & 0x0f,
    masked: (b[1]! & 0x80) !== 0,
    len7,
    length,
    end: p,
  };
}

const boundaryLengths = [
  0,
  1,
  125,
  126,
  127,
  0xffff,
  0x10000,
  0xffffffff,
  0x100000000,
  0x100000005,
  2 ** 40 + 3,
  Number.MAX_SAFE_INTEGER,
];

describe('writeFrameHeader and headerSize', () => {
  it('writes every length class with the minimal encoding, at any offset', () => {
    const lengthArb = fc.oneof(
      fc.constantFrom(...boundaryLengths),
      fc.integer({ min: 0, max: 70_000 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    );
    fc.assert(
      fc.property(
        lengthArb,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(...Object.values(Opcode)),
        fc.integer({ min: 0, max: 9 }),
        (length, fin, rsv1, masked, opcode, offset) => {
          const target = Buffer.alloc(offset + MAX_HEADER_SIZE + 3, 0xee);
          const end = writeFrameHeader(target, offset, fin, rsv1, opcode, length, masked);
          const h = readHeader(target.subarray(offset));
          assert.equal(h.length, BigInt(length));
          assert.equal(h.len7, length <= 125 ? length : length <= 0xffff ? 126 : 127);
          assert.deepEqual(
            [h.fin, h.rsv1, h.rsv23, h.opcode, h.masked],
            [fin, rsv1, 0, opcode, masked],
          );
          assert.equal(end, offset + h.end, 'returns the offset of the masking key');
          assert.equal(headerSize(length, masked), h.end + (masked ? 4 : 0));
          assert.ok(headerSize(length, masked) <= MAX_HEADER_SIZE);
          // Nothing written before the offset or after the header.
          assert.ok(target.subarray(0, offset).every((b) => b === 0xee));
          assert.ok(target.subarray(end).every((b) => b === 0xee));
        },
      ),
      { numRuns: runs(2000) },
    );
  });

  it('header sizes at the class boundaries', () => {
    assert.deepEqual(
      [0, 125, 126, 0xffff, 0x10000].map((n) => [headerSize(n, false), headerSize(n, true)]),
      [
        [2, 6],
        [2, 6],
        [4, 8],
        [4, 8],
        [10, 14],
      ],
    );
  });
});
