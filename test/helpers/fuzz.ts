import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * Multiplier for the number of runs of property tests: `FUZZ_RUNS=50 npm test` for a long run.
 * The default (1) keeps every property file within a few seconds.
 */
export const FUZZ_FACTOR = (() => {
  const n = Number(process.env.FUZZ_RUNS ?? '1');
  return Number.isFinite(n) && n > 0 ? n : 1;
})();

/** `base` runs scaled by FUZZ_RUNS, at least 1. scripts/fuzz.mjs counts them through FUZZ_CASES_FILE. */
export function runs(base: number): number {
  const n = Math.max(1, Math.round(base * FUZZ_FACTOR));
  const countFile = process.env.FUZZ_CASES_FILE;
  if (countFile) appendFileSync(countFile, `${n}\n`);
  return n;
}

/**
 * How a byte stream is cut into the chunks given to `receiveData`: whole, in single bytes, or
 * at cut points given as fractions of the length (sorted and clamped when applied, so the same
 * value fits any length; repeated points give empty chunks).
 */
export type Split = { kind: 'whole' } | { kind: 'bytes' } | { kind: 'cuts'; at: number[] };

export const splitArb: fc.Arbitrary<Split> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Split>({ kind: 'bytes' }) },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 24 })
      .map((at): Split => ({ kind: 'cuts', at })),
  },
);

/** Fresh copies of the pieces of `bytes` (the receiver takes ownership of each and unmasks it in place). */
export function cutStream(bytes: Uint8Array, split: Split, maxBytePieces = 4096): Buffer[] {
  if (split.kind === 'whole') return [Buffer.from(bytes)];
  if (split.kind === 'bytes' && bytes.length <= maxBytePieces) {
    return Array.from(bytes, (b) => Buffer.from([b]));
  }
  const at =
    split.kind === 'cuts'
      ? split.at
      : // Too long for single bytes: a few 1-byte pieces at the start, then large ones.
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14].map((n) => n / bytes.length);
  const points = at.map((f) => Math.min(bytes.length, Math.floor(f * bytes.length)));
  points.sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    pieces.push(Buffer.from(bytes.subarray(prev, p)));
    prev = p;
  }
  pieces.push(Buffer.from(bytes.subarray(prev)));
  return pieces;
}

/** A deterministic pseudo-random fill (xorshift32), for large payloads fast-check would be slow to build. */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Text biased toward what breaks UTF-8 handling: astral characters (surrogate pairs), 2- and
 * 3-byte characters, lone surrogates (which encode to U+FFFD) and plain ASCII.
 */
export const textArb = (maxLength = 40): fc.Arbitrary<string> =>
  fc
    .array(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 4 }),
        fc.string({ unit: 'grapheme-ascii', maxLength: 6 }),
        fc.constantFrom('é', '€', '😀', '\u{10ffff}', '\ud800', '\udfff', '\u0000', '\uffff', 'ab'),
      ),
      { maxLength },
    )
    .map((parts) => parts.join(''));

/** A masking key. */
export const keyArb: fc.Arbitrary<Uint8Array> = fc.uint8Array({ minLength: 4, maxLength: 4 });
